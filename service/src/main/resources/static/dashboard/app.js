// The dashboard's entry point: the token field, and the two views, chosen by the URL's fragment
// (#/ the job list and the submit form, #/jobs/<id> one job).

import { setToken, token } from './api.js';
import { clear, el } from './dom.js';
import { renderJobForm } from './job-form.js';
import { renderJobList } from './job-list.js';
import { renderJobPage } from './job-page.js';

const view = document.getElementById('view');
let disposeView = () => {};

function route() {
  disposeView();
  const match = /^#\/jobs\/([0-9a-fA-F-]{36})$/.exec(window.location.hash);
  if (match) {
    disposeView = renderJobPage(view, match[1]);
    return;
  }
  const list = el('section', { class: 'list' });
  const form = el('section', { class: 'submit' });
  clear(view, el('div', { class: 'home' }, list, form));
  const jobs = renderJobList(list);
  renderJobForm(form, () => jobs.refresh());
  disposeView = jobs.dispose;
}

function setUpToken() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const status = document.getElementById('token-status');
  const show = () => {
    status.textContent = token() ? 'token saved in this browser' : 'no token: read only';
  };
  input.value = token();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    show();
  });
  document.getElementById('token-forget').addEventListener('click', () => {
    setToken('');
    input.value = '';
    show();
  });
  show();
}

setUpToken();
window.addEventListener('hashchange', route);
route();
