// The job list: newest first, filtered by state and kind, a page at a time with the API's keyset cursor, refreshed
// every few seconds.

import { get } from './api.js';
import { clear, el } from './dom.js';
import { age, progress } from './format.js';

const PAGE_SIZE = 25;
const REFRESH_MS = 2000;
const STATES = ['QUEUED', 'STARTING', 'RUNNING', 'CANCELLING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
const KINDS = ['TRAIN', 'EVAL_NEEDLE', 'EVAL_PERPLEXITY'];

/** Renders the list into `container`; returns {refresh, dispose}. */
export function renderJobList(container) {
  const stateFilter = filter('state-filter', 'state', STATES);
  const kindFilter = filter('kind-filter', 'kind', KINDS);
  const rows = el('tbody');
  const status = el('p', { class: 'list-status muted', 'aria-live': 'polite' });
  const newer = el('button', { type: 'button', id: 'page-newer' }, '← Newer');
  const older = el('button', { type: 'button', id: 'page-older' }, 'Older →');
  clear(container,
    el('div', { class: 'list-head' }, el('h2', {}, 'Jobs'), stateFilter.label, kindFilter.label),
    el('table', { id: 'job-list', class: 'jobs' },
      el('thead', {}, el('tr', {}, ['job', 'kind', 'state', 'GPUs', 'progress', 'age'].map((h) => el('th', {}, h)))),
      rows),
    el('div', { class: 'pager' }, newer, older), status);

  // cursors[i] fetches page i; the first page has none.
  let cursors = [null];
  let page = 0;
  let generation = 0;

  async function load() {
    const mine = ++generation;
    const params = new URLSearchParams({ limit: PAGE_SIZE });
    if (stateFilter.select.value) params.set('state', stateFilter.select.value);
    if (kindFilter.select.value) params.set('kind', kindFilter.select.value);
    if (cursors[page]) params.set('cursor', cursors[page]);
    try {
      const result = await get(`api/jobs?${params}`);
      if (mine !== generation) {
        return; // a newer request (a filter or page change) answers instead
      }
      cursors = cursors.slice(0, page + 1);
      if (result.next) {
        cursors.push(result.next);
      }
      clear(rows, result.jobs.map(row));
      if (result.jobs.length === 0) {
        rows.append(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No jobs.')));
      }
      newer.disabled = page === 0;
      older.disabled = !result.next;
      clear(status, `Page ${page + 1}`);
    } catch (error) {
      if (mine === generation) {
        clear(status, el('span', { class: 'error' }, error.message));
      }
    }
  }

  const restart = () => {
    cursors = [null];
    page = 0;
    load();
  };
  stateFilter.select.addEventListener('change', restart);
  kindFilter.select.addEventListener('change', restart);
  newer.addEventListener('click', () => { page = Math.max(0, page - 1); load(); });
  older.addEventListener('click', () => { if (cursors[page + 1]) { page++; load(); } });

  load();
  const timer = setInterval(load, REFRESH_MS);
  return { refresh: load, dispose: () => clearInterval(timer) };
}

function filter(id, name, values) {
  const select = el('select', { id }, el('option', { value: '' }, `every ${name}`),
    values.map((v) => el('option', { value: v }, v)));
  return { select, label: el('label', { class: 'filter' }, `${name} `, select) };
}

function row(job) {
  const p = job.progress;
  const fraction = p && p.total > 0 ? p.done / p.total : 0;
  const bar = el('span', { class: 'bar' }, el('span', { class: 'fill' }));
  bar.firstChild.style.width = `${Math.round(fraction * 100)}%`;
  const open = () => { window.location.hash = `#/jobs/${job.id}`; };
  return el('tr', { 'data-job-id': job.id, 'data-state': job.state, class: 'job-row', onclick: open },
    el('td', {}, el('a', { href: `#/jobs/${job.id}`, title: job.id }, job.id.slice(0, 8))),
    el('td', {}, job.kind),
    el('td', {}, el('span', { class: `state state-${job.state}` }, job.state)),
    el('td', {}, job.gpus === 0 ? 'CPU' : String(job.gpus)),
    el('td', { class: 'progress' }, bar, ' ', progress(p)),
    el('td', { title: job.createdAt }, age(job.createdAt)));
}
