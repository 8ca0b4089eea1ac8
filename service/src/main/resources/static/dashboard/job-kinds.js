// The fields of each job kind's section: the runtime's spec records (io.easycontext.runtime.spec), which are the
// CLI's flags in camelCase. A field left empty is left out of the request and takes the CLI's default, shown as the
// placeholder; the service validates everything.

const PARALLEL_MODES = ['data_parallel', 'ring_attn', 'zigzag_ring_attn', 'ulysses_attn', 'dist_flash_attn', 'usp_attn'];
// A training may leave the mode to the planner: the fastest measured that the model, length and GPUs allow.
const TRAINING_MODES = [...PARALLEL_MODES, 'auto'];
const DTYPES = ['f32', 'f64'];
const BOOLEANS = ['true', 'false'];

const int = (name, placeholder = '') => ({ name, type: 'int', placeholder });
const num = (name, placeholder = '') => ({ name, type: 'number', placeholder });
const text = (name, placeholder = '') => ({ name, type: 'text', placeholder });
const choice = (name, options, placeholder) => ({ name, type: 'choice', options, placeholder });

// What the evaluations share (EvalSpec).
const EVAL_SHARED = [
  text('tokenizer', "the model's, else bytes"),
  num('ropeTheta', "the model's"),
  text('devices', 'cpu:1'),
  choice('parallelMode', PARALLEL_MODES, 'plain on 1 rank, zigzag_ring_attn on more'),
  int('ulyssesDegree'),
  int('ringDegree'),
  choice('dtype', DTYPES, 'f32'),
  int('seed', '2022'),
  choice('plot', BOOLEANS, 'true'),
];

export const KINDS = {
  TRAIN: {
    label: 'Train',
    section: 'train',
    fields: [
      text('model', 'tiny'),
      text('devices', 'cpu:1, or cuda:0-3'),
      choice('parallelMode', TRAINING_MODES, 'data_parallel'),
      int('ulyssesDegree'),
      int('ringDegree'),
      int('dpDegree'),
      int('seqLength', '64'),
      num('ropeTheta', "the model's"),
      int('batchSize', '1'),
      int('gradientAccumulateEvery', '1'),
      num('learningRate', '2e-5'),
      int('warmupSteps', '0'),
      num('weightDecay', '0'),
      num('maxGradNorm', '1'),
      int('maxTrainSteps', '10'),
      int('seed', '2022'),
      choice('dtype', DTYPES, 'f32'),
      int('gpuMemoryGib', '0: all but a reserve'),
      choice('activationCheckpointing', BOOLEANS, 'true'),
      text('dataset', 'synthetic'),
      int('checkpointEvery', '0'),
      int('zeroStage', '0'),
      choice('optimizerOffload', ['none', 'cpu', 'gpu_stream'], 'none'),
      choice('optimizerMoments', ['fp32', 'bf16'], 'fp32'),
      int('offloadCheckpoints', '0: keep every checkpoint on the GPU'),
      int('keptAttentionLayers', '0: recompute the attention of every layer'),
      choice('autoMemory', BOOLEANS, 'false: the options above as given'),
      { name: 'stages', type: 'json', placeholder: '[{"seqLength": 128}, {"seqLength": 256, "ropeTheta": 1e6}]' },
    ],
  },
  EVAL_NEEDLE: {
    label: 'Needle in a haystack',
    section: 'evalNeedle',
    fields: [
      text('model', 'e.g. small, or a model directory'),
      int('minContextLength', '1000'),
      int('maxContextLength', '4000'),
      int('contextInterval', '1000'),
      num('depthInterval', '0.1'),
      int('numSamples', '1'),
      int('rndNumberDigits', '7'),
      int('numDistractor', '0'),
      text('haystackDir', 'built-in haystack'),
      choice('template', ['magic-number', 'passkey'], 'magic-number'),
      ...EVAL_SHARED,
    ],
  },
  EVAL_PERPLEXITY: {
    label: 'Perplexity',
    section: 'evalPerplexity',
    fields: [
      text('model', 'e.g. small, or a model directory'),
      int('minTokens', '256'),
      int('maxTokens', '8192'),
      int('tokensStep', 'doubles each time'),
      int('slidingWindow', '256'),
      choice('truncate', BOOLEANS, 'false'),
      text('dataset', 'built-in filler text'),
      int('samples', 'all'),
      int('datasetMinTokens', '0'),
      ...EVAL_SHARED,
    ],
  },
};

// The job's own fields, beside its section (JobSpec).
export const JOB_FIELDS = [
  int('gpus', '0 (CPU backend)'),
  int('priority', '0'),
];
