// One job: its state and progress, live charts of its steps, its log, a cancel button and its artifacts. Two streams
// feed it: the job's events (the job as it changes, a training's steps) and its log.

import { ApiError, blobUrl, get, post, readsNeedToken } from './api.js';
import { clear, el } from './dom.js';
import { TERMINAL, bytes, number, percent, progress, time } from './format.js';
import { LineChart } from './line-chart.js';
import { follow } from './sse.js';

const MAX_LOG_LINES = 5000;
const ARTIFACT_REFRESH_MS = 5000;
// The evaluations' result plots: the needle test's heat map and perplexity's line plot.
const RESULT_IMAGE = /^eval-results\/(needle|ppl)-.*\.png$/;

/** Renders job `id` into `container`; returns a function that stops its streams. */
export function renderJobPage(container, id) {
  const base = `api/jobs/${encodeURIComponent(id)}`;
  const title = el('h2', {}, `Job ${id}`);
  const stateBadge = el('span', { id: 'job-state', class: 'state' });
  const cancel = el('button', { type: 'button', id: 'cancel-job', disabled: true }, 'Cancel');
  const actionError = el('span', { class: 'error', id: 'action-error', 'aria-live': 'polite' });
  const summary = el('dl', { class: 'summary' });
  const details = el('details', { class: 'details' });
  const charts = {
    loss: new LineChart('loss', 'loss'),
    throughput: new LineChart('tokens-per-second', 'tokens/s'),
    mfu: new LineChart('mfu', 'MFU', { format: percent, empty: 'needs GPUs and easycontext.node.gpu-peak-flops' }),
    memory: new LineChart('memory', 'peak memory (GPU; JVM heap on the CPU backend)', { format: bytes }),
  };
  const chartBox = el('section', { class: 'charts', hidden: true }, Object.values(charts).map((c) => c.element));
  const log = el('pre', { id: 'log', class: 'log', tabindex: 0 });
  const images = el('div', { class: 'result-images' });
  const artifactRows = el('tbody');
  const streamError = el('p', { class: 'error', 'aria-live': 'polite' });

  clear(container,
    el('p', {}, el('a', { href: '#/' }, '← all jobs')),
    el('div', { class: 'job-head' }, title, stateBadge, cancel, actionError),
    streamError, summary, details, chartBox,
    el('section', {}, el('h3', {}, 'Log'), log),
    el('section', {}, el('h3', {}, 'Artifacts'), images,
      el('table', { id: 'artifacts', class: 'artifacts' },
        el('thead', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'size'), el('th', {}, 'modified'))),
        artifactRows)));

  let job = null;
  const objectUrls = [];
  let lastArtifactLoad = 0;

  const showJob = (j) => {
    job = j;
    title.textContent = `${j.kind} job ${j.id}`;
    stateBadge.textContent = j.state;
    stateBadge.className = `state state-${j.state}`;
    cancel.disabled = TERMINAL.has(j.state) || j.state === 'CANCELLING';
    chartBox.hidden = j.kind !== 'TRAIN';
    renderSummary(summary, j);
    renderDetails(details, j);
    const p = j.progress;
    // MFU and memory are in the job's progress, written at most once a second, not in the per-step metrics.
    if (p && p.step !== null && p.step !== undefined) {
      charts.mfu.add(p.step, p.mfu);
      charts.memory.add(p.step, p.peakMemoryBytes);
    }
    if (Date.now() - lastArtifactLoad > ARTIFACT_REFRESH_MS) {
      loadArtifacts();
    }
  };

  async function loadArtifacts() {
    lastArtifactLoad = Date.now();
    try {
      const list = await get(`${base}/artifacts`);
      const viaFetch = await readsNeedToken();
      clear(artifactRows, list.map((a) => el('tr', {},
        el('td', {}, downloadLink(artifactHref(base, a.name), a.name, viaFetch)),
        el('td', {}, bytes(a.size)), el('td', {}, time(a.modifiedAt)))));
      if (list.length === 0) {
        artifactRows.append(el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'No files yet.')));
      }
      await showImages(list.filter((a) => RESULT_IMAGE.test(a.name)));
    } catch (error) {
      clear(artifactRows, el('tr', {}, el('td', { colspan: 3, class: 'error' }, error.message)));
    }
  }

  async function showImages(pngs) {
    const shown = new Set(Array.from(images.querySelectorAll('img'), (img) => img.dataset.name));
    for (const a of pngs) {
      if (shown.has(a.name)) {
        continue;
      }
      // Fetched with the token, so that the images show with anonymous reads off too.
      const url = await blobUrl(artifactHref(base, a.name));
      objectUrls.push(url);
      images.append(el('figure', {}, el('img', { src: url, alt: a.name, 'data-name': a.name }),
        el('figcaption', {}, a.name)));
    }
  }

  cancel.addEventListener('click', async () => {
    clear(actionError);
    cancel.disabled = true;
    try {
      showJob(await post(`${base}/cancel`));
    } catch (error) {
      clear(actionError, error.message);
      cancel.disabled = job && TERMINAL.has(job.state);
    }
  });

  const onStreamError = (problem) => {
    if (problem === 404) {
      clear(streamError, `There is no job ${id}.`);
    } else if (problem === 401 || problem === 403) {
      clear(streamError, new ApiError(problem).message);
    }
  };

  const stopEvents = follow(`${base}/events`, ({ event, data }) => {
    if (event === 'job') {
      showJob(JSON.parse(data));
    } else if (event === 'step') {
      const s = JSON.parse(data);
      charts.loss.add(s.step, s.loss);
      charts.throughput.add(s.step, s.tokensPerSecond);
    } else if (event === 'end') {
      loadArtifacts();
    }
  }, onStreamError);

  const stopLog = follow(`${base}/logs`, ({ event, data }) => {
    if (event !== 'message') {
      return;
    }
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(el('span', { class: 'log-line' }, data), '\n');
    while (log.childNodes.length > 2 * MAX_LOG_LINES) {
      log.firstChild.remove();
      log.firstChild.remove();
    }
    if (atBottom) {
      log.scrollTop = log.scrollHeight;
    }
  }, onStreamError);

  return () => {
    stopEvents();
    stopLog();
    objectUrls.forEach((url) => URL.revokeObjectURL(url));
  };
}

function renderSummary(dl, j) {
  const p = j.progress || {};
  const rows = [
    ['state', j.reason ? `${j.state} (${j.reason})` : j.state],
    ['message', j.message],
    ['progress', progress(j.progress)],
    ['stage', p.stage !== null && p.stage !== undefined ? `${p.stage + 1} of ${p.stages}` : null],
    ['tokens', p.tokens !== null && p.tokens !== undefined ? number(p.tokens) : null],
    ['loss', p.loss !== null && p.loss !== undefined ? number(p.loss) : null],
    ['tokens/s', p.tokensPerSecond ? number(p.tokensPerSecond) : null],
    ['MFU', p.mfu !== null && p.mfu !== undefined ? percent(p.mfu) : null],
    ['peak memory', p.peakMemoryBytes ? bytes(p.peakMemoryBytes) : null],
    ['finish expected', !TERMINAL.has(j.state) && p.estimatedFinishAt ? time(p.estimatedFinishAt) : null],
    ['GPUs', j.gpus === 0 ? 'CPU backend' : `${j.gpus} (${j.gpuIds.join(', ')})`],
    ['priority', String(j.priority)],
    ['attempt', String(j.attempt)],
    ['created', time(j.createdAt)],
    ['started', time(j.startedAt)],
    ['finished', time(j.finishedAt)],
  ];
  clear(dl, rows.filter(([, v]) => v).map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', { 'data-key': k }, v))));
}

/** Redrawn only when they change (a GPU job's name its GPUs once it is placed): a redraw loses the reader's selection. */
function renderDetails(details, j) {
  const text = [j.commandLines.join('\n'), JSON.stringify(j.spec, null, 2)];
  if (details.dataset.shown === JSON.stringify(text)) {
    return;
  }
  details.dataset.shown = JSON.stringify(text);
  clear(details, el('summary', {}, 'command lines and spec'),
    el('pre', { class: 'command-lines' }, text[0]), el('pre', { class: 'spec' }, text[1]));
}

function artifactHref(base, name) {
  return `${base}/artifacts/${name.split('/').map(encodeURIComponent).join('/')}`;
}

/** A plain link when anyone may read; otherwise the file is fetched with the token, in memory, and saved. */
function downloadLink(href, name, viaFetch) {
  const link = el('a', { href, download: name.slice(name.lastIndexOf('/') + 1) }, name);
  if (viaFetch) {
    link.addEventListener('click', async (e) => {
      e.preventDefault();
      const url = await blobUrl(href);
      const save = el('a', { href: url, download: link.download });
      save.click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
  }
  return link;
}
