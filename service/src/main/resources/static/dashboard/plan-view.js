// The answer of POST /api/plans (a training's memory per GPU, as submission's check sees it), beside the form.

import { clear, el } from './dom.js';

const GIB = 1024 ** 3;

/** "12.34 GiB": the planner's bytes as the CLI's plan and submission's refusals print them. */
export function gib(bytes) {
  return bytes === null || bytes === undefined ? '?' : `${(bytes / GIB).toFixed(2)} GiB`;
}

// The peak's components in three groups: what the model's state takes, what the stored activations take, and
// what one layer's forward and backward need on top.
const GROUPS = [
  ['parameters, gradients and optimizer state', ['parameters', 'gradients', 'masterWeights', 'optimizerMoments']],
  ['activation checkpoints and kept attention', ['activationCheckpoints', 'keptAttention']],
  ['working set (layer, attention, sequence parallel, other)',
    ['layerWorkingSet', 'attentionScratch', 'sequenceParallelBuffers', 'other']],
];

/**
 * Renders `plan` into `container`. onUseOptions(options) fills the form with a run's autoMemory choice;
 * onUseAutoMemory() sets autoMemory instead.
 */
export function renderPlan(container, plan, onUseOptions, onUseAutoMemory) {
  const pool = plan.poolBytes === null || plan.poolBytes === undefined ? null : plan.poolBytes;
  const head = [
    el('h3', {}, 'Memory per GPU'),
    el('p', { class: 'muted' }, pool === null
      ? 'The GPUs\' memory is not known: set easycontext.node.gpu-memory-gib or the spec\'s gpuMemoryGib.'
      : `Pool ${gib(pool)} per GPU: ${plan.poolSource}.`,
    plan.hostMemoryBytes === null || plan.hostMemoryBytes === undefined ? ''
      : ` Host memory for offloads: ${gib(plan.hostMemoryBytes)}.`),
  ];
  // Where a run does not fit as given but some options would: autoMemory is then the one-click way for every run.
  if (!plan.autoMemory && plan.runs.some((run) => run.fits === false && run.autoChoice)) {
    head.push(el('p', {}, el('button', { type: 'button', class: 'use-auto-memory', onclick: onUseAutoMemory },
      'set autoMemory: true'), ' ', el('span', { class: 'muted' }, 'to let each run take its choice below')));
  }
  clear(container, head, plan.runs.map((run) => renderRun(run, pool, plan.autoMemory, onUseOptions)));
}

function renderRun(run, pool, autoMemory, onUseOptions) {
  const p = run.parallel;
  const verdict = run.fits === null || run.fits === undefined ? 'no pool to compare with'
    : run.fits ? (autoMemory ? 'fits (with autoMemory)' : 'fits') : 'does not fit';
  const against = pool === null ? '' : ` of ${gib(pool)}`;
  return el('section', { class: 'plan-run', 'data-run': run.field, 'data-fits': String(run.fits) },
    el('h4', {}, `${run.field}: seqLength ${run.seqLength} × batch ${run.batchSize}, ${p.mode} on ${p.world} `
      + `(dp ${p.dp} × ulysses ${p.ulysses} × ring ${p.ring})`),
    el('p', { class: `plan-verdict ${run.fits === false ? 'error' : ''}` },
      `As given (${options(run.options)}): peak ${gib(run.peak.total)}${against} per GPU: `, el('strong', {}, verdict)),
    components(run.peak),
    run.autoChoice ? choice(run.autoChoice, onUseOptions)
      : run.fits === null || run.fits === undefined ? null
        : el('p', { class: 'plan-choice muted' }, 'autoMemory: no options fit'),
    run.remedy ? el('p', { class: 'plan-remedy error' }, run.remedy) : null);
}

/** The groups, largest first, each with its own components' sizes as a tooltip. */
function components(peak) {
  const rows = GROUPS.map(([label, names]) => ({
    label,
    bytes: names.reduce((sum, name) => sum + (peak[name] || 0), 0),
    detail: names.map((name) => `${name} ${gib(peak[name])}`).join(', '),
  })).sort((a, b) => b.bytes - a.bytes);
  return el('table', { class: 'plan-components' },
    el('tbody', {}, rows.map((row) => el('tr', { title: row.detail },
      el('td', {}, row.label), el('td', { class: 'num' }, gib(row.bytes))))),
    peak.hostMemoryPerRank > 0
      ? el('tfoot', {}, el('tr', {}, el('td', {}, 'host memory per rank (not in the peak)'),
        el('td', { class: 'num' }, gib(peak.hostMemoryPerRank))))
      : null);
}

function choice(c, onUseOptions) {
  const host = c.peak.hostMemoryPerRank > 0 ? `, ${gib(c.peak.hostMemoryPerRank)} host memory per rank` : '';
  return el('p', { class: 'plan-choice' },
    `autoMemory would choose ${options(c.options)}: peak ${gib(c.peak.total)} per GPU${host} `,
    el('button', { type: 'button', class: 'use-choice', onclick: () => onUseOptions(c.options) },
      'use these options'));
}

function options(o) {
  return `zeroStage ${o.zeroStage}, optimizerOffload ${o.optimizerOffload}, `
    + `offloadCheckpoints ${o.offloadCheckpoints}, keptAttentionLayers ${o.keptAttentionLayers}`;
}
