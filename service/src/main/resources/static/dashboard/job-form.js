// The submit form: one fieldset per job kind, the service's 400 messages shown beside the fields they name, and for
// a training a memory check (POST /api/plans) that submits nothing.

import { ApiError, post } from './api.js';
import { clear, el } from './dom.js';
import { JOB_FIELDS, KINDS } from './job-kinds.js';
import { renderPlan } from './plan-view.js';

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** Renders the form into `container`; onSubmitted(job) runs after each job the service accepts. */
export function renderJobForm(container, onSubmitted) {
  const kindSelect = el('select', { id: 'kind', name: 'kind' },
    Object.entries(KINDS).map(([kind, k]) => el('option', { value: kind }, k.label)));
  const fieldsets = Object.fromEntries(Object.entries(KINDS).map(([kind, k]) => [kind,
    el('fieldset', { 'data-kind': kind }, el('legend', {}, `${k.section}`),
      k.fields.map((f) => field(`${k.section}.${f.name}`, f)))]));
  const formErrors = el('div', { class: 'form-errors', role: 'alert' });
  const result = el('p', { class: 'submit-result', 'aria-live': 'polite' });
  const submit = el('button', { type: 'submit', id: 'submit-job' }, 'Submit');
  const check = el('button', { type: 'button', id: 'check-memory',
    title: 'What each GPU would hold, as submission checks it: nothing is queued' }, 'Check memory');
  const plan = el('div', { id: 'plan-result', class: 'plan', 'aria-live': 'polite', hidden: true });
  const form = el('form', { id: 'job-form', novalidate: true },
    el('h2', {}, 'New job'),
    el('div', { class: 'field' }, el('label', { for: 'kind' }, 'kind'), kindSelect),
    JOB_FIELDS.map((f) => field(f.name, f)),
    Object.values(fieldsets),
    formErrors, el('div', { class: 'actions' }, submit, ' ', check), result, plan);

  // One key per request content: a double click or a retry of the same request cannot queue the job twice.
  let idempotencyKey = newKey();
  const showKind = () => {
    for (const [kind, fieldset] of Object.entries(fieldsets)) {
      fieldset.hidden = kind !== kindSelect.value;
    }
    check.hidden = kindSelect.value !== 'TRAIN';
    plan.hidden = true;
  };
  kindSelect.addEventListener('change', showKind);
  form.addEventListener('input', () => { idempotencyKey = newKey(); });
  showKind();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, formErrors);
    clear(result);
    const kind = kindSelect.value;
    const { body, errors } = requestBody(form, kind);
    if (errors.length > 0) {
      showErrors(form, formErrors, errors, null);
      return;
    }
    submit.disabled = true;
    try {
      const job = await post('api/jobs', body, { 'Idempotency-Key': idempotencyKey });
      idempotencyKey = newKey();
      clear(result, 'Queued ', el('a', { href: `#/jobs/${job.id}`, 'data-job-id': job.id }, `${job.kind} ${job.id}`));
      onSubmitted(job);
    } catch (error) {
      if (error instanceof ApiError) {
        showErrors(form, formErrors, error.fieldErrors, error.message);
      } else {
        showErrors(form, formErrors, [], `The service did not answer: ${error.message}`);
      }
    } finally {
      submit.disabled = false;
    }
  });
  // A training's memory, as submission would judge it; a choice from the answer fills the form and is checked again.
  const setTrain = (values) => {
    for (const [name, value] of Object.entries(values)) {
      form.elements[`train.${name}`].value = String(value);
    }
    idempotencyKey = newKey();
    checkMemory();
  };
  const checkMemory = async () => {
    clearErrors(form, formErrors);
    clear(result);
    const { body, errors } = requestBody(form, kindSelect.value);
    if (errors.length > 0) {
      showErrors(form, formErrors, errors, null);
      return;
    }
    check.disabled = true;
    try {
      const answer = await post('api/plans', body);
      renderPlan(plan, answer, (options) => setTrain(options), () => setTrain({ autoMemory: true }));
      plan.hidden = false;
      plan.scrollIntoView({ block: 'nearest' });
    } catch (error) {
      plan.hidden = true;
      if (error instanceof ApiError) {
        showErrors(form, formErrors, error.fieldErrors, error.message, 'The service cannot plan this job');
      } else {
        showErrors(form, formErrors, [], `The service did not answer: ${error.message}`);
      }
    } finally {
      check.disabled = false;
    }
  };
  check.addEventListener('click', checkMemory);
  clear(container, form);
}

function field(path, f) {
  const id = `f-${path.replace(/\W/g, '-')}`;
  let input;
  if (f.type === 'choice') {
    input = el('select', { id, name: path },
      el('option', { value: '' }, `default: ${f.placeholder}`), f.options.map((o) => el('option', { value: o }, o)));
  } else if (f.type === 'json') {
    input = el('textarea', { id, name: path, rows: 2, placeholder: f.placeholder, spellcheck: 'false' });
  } else {
    const inputmode = f.type === 'int' ? 'numeric' : f.type === 'number' ? 'decimal' : null;
    input = el('input', { id, name: path, type: 'text', inputmode, placeholder: f.placeholder, spellcheck: 'false',
      autocomplete: 'off' });
  }
  input.dataset.type = f.type;
  const label = path.slice(path.lastIndexOf('.') + 1);
  return el('div', { class: 'field', 'data-field': path },
    el('label', { for: id, title: label }, label), input,
    el('p', { class: 'field-error', 'data-error-for': path, hidden: true }));
}

/** The request as JSON text, or the fields that cannot be part of one. */
function requestBody(form, kind) {
  const { section } = KINDS[kind];
  const job = { kind };
  const spec = {};
  const errors = [];
  for (const input of form.querySelectorAll('[name]')) {
    const path = input.name;
    const inSection = path.startsWith(`${section}.`);
    if (path === 'kind' || (path.includes('.') && !inSection)) {
      continue;
    }
    const raw = input.value.trim();
    if (raw === '') {
      continue;
    }
    let value;
    try {
      value = convert(input.dataset.type, raw);
    } catch {
      errors.push({ field: path, message: 'must be a JSON array, e.g. [{"seqLength": 128}]' });
      continue;
    }
    if (inSection) {
      spec[path.slice(section.length + 1)] = value;
    } else {
      job[path] = value;
    }
  }
  job[section] = spec;
  return { body: JSON.stringify(job), errors };
}

function convert(type, raw) {
  switch (type) {
    case 'int':
    case 'number':
      // Numbers go as written, so a long seed keeps its digits; anything else goes as text, for the service to name.
      if (JSON_NUMBER.test(raw)) {
        return typeof JSON.rawJSON === 'function' ? JSON.rawJSON(raw) : Number(raw);
      }
      return Number.isFinite(Number(raw)) ? Number(raw) : raw;
    case 'choice':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'json':
      return JSON.parse(raw);
    default:
      return raw;
  }
}

function clearErrors(form, formErrors) {
  for (const p of form.querySelectorAll('.field-error')) {
    p.hidden = true;
    p.textContent = '';
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
  }
  clear(formErrors);
}

/**
 * Each error beside its field: the field itself (train.seqLength), else the closest one that holds it
 * (train.stages[1].seqLength is shown at train.stages). What no field holds (a missing section, a 401) goes on top.
 */
function showErrors(form, formErrors, errors, summary, refused = 'The service refused the job') {
  const unplaced = [];
  for (const { field: path, message } of errors) {
    const holder = closestField(form, path);
    if (!holder) {
      unplaced.push(`${path}: ${message}`);
      continue;
    }
    const p = holder.querySelector('.field-error');
    const prefix = holder.dataset.field === path ? '' : `${path.slice(holder.dataset.field.length)}: `;
    p.textContent = p.textContent ? `${p.textContent}; ${prefix}${message}` : `${prefix}${message}`;
    p.hidden = false;
    holder.querySelector('[name]').setAttribute('aria-invalid', 'true');
  }
  let lines = [summary].filter(Boolean);
  if (errors.length > 0) {
    lines = unplaced.length > 0 ? unplaced : [`${refused}: see the marked fields.`];
  }
  clear(formErrors, lines.map((line) => el('p', {}, line)));
  const first = form.querySelector('[aria-invalid]');
  if (first) {
    first.focus();
  }
}

function closestField(form, path) {
  let best = null;
  for (const holder of form.querySelectorAll('.field[data-field]')) {
    const name = holder.dataset.field;
    const holds = path === name || path.startsWith(`${name}.`) || path.startsWith(`${name}[`);
    if (holds && !holder.closest('fieldset[hidden]') && (!best || name.length > best.dataset.field.length)) {
      best = holder;
    }
  }
  return best;
}

function newKey() {
  // crypto.randomUUID needs a secure context; the dashboard is often served over plain HTTP on a private network.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `dashboard-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
