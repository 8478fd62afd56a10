/**
 * The option table: every option of every command, described once: its flag, value type, range,
 * default, help text, the commands that take it and what a resumed `train --resume` may do with
 * it. Everything else is derived from it: the commander options of the CLI (src/cli), the
 * benchmarks' flags (bench/), the parsing and checking of flags, of config files and of the
 * options the library's functions are given (one message for one mistake, wherever it is made),
 * the resume comparison and the recorded options of a training (src/api/train.ts). Turning values
 * into typed options (flags, config files, the library's objects) is option-values.ts's.
 *
 * It lives in the api layer, the lowest that uses it: the library's functions check their options
 * with it. Facts of lower layers (the network's ranges and defaults, the false-positive targets,
 * the smallest region) are referenced here, not restated.
 */
import type { ModelConfig } from '../flow/types.js';
import type { OptionValue, TrainingRecord } from '../flow/saved-model.js';
import { CONFIG_LIMITS, DEFAULT_CONFIG } from '../flow/config.js';
import { DEFAULT_FPR, FPR_RANGE } from '../detect/thresholds.js';
import { DEFAULT_MIN_AREA } from '../detect/detector.js';
import { AUTO_BATCH_BYTES, AUTO_BATCH_MAX } from '../detect/inference.js';
import { DEFAULT_FPR_LIMIT } from '../metrics/pixel.js';
import { DEFAULT_NORMAL_SPLIT_RATIO } from '../data/dataset-types.js';
import { DEFAULT_OPSET, INPUT_LAYOUTS, ONNX_OUTPUTS, OPSET_RANGE } from '../export/onnx-options.js';
import { PyramidFlowError } from '../util/errors.js';
import { TRAINING_OPTIONS } from '../train/training-options.js';
import type { Range } from '../util/range.js';

/**
 * The pixel limit of images unless --max-pixels says otherwise: src/data/decode.ts's
 * DEFAULT_MAX_PIXELS (40 MP, the server's), restated so that the command line's help does not load
 * the image decoder (sharp); test/api/hardening.test.ts checks that the two agree.
 */
const MAX_PIXELS = 40_000_000;

export type { OptionValue };

/** The code of every option error: the CLI exits with 2 on it. */
export const OPTION_ERROR = 'E_USAGE';

export function optionError(message: string): PyramidFlowError {
  return new PyramidFlowError(message, OPTION_ERROR);
}

export const COMMANDS = [
  'train',
  'test',
  'predict',
  'calibrate',
  'info',
  'serve',
  'synth',
  'demo',
  'conformance',
  'export',
  'import',
  'app',
  'worker',
  'submit',
  'jobs',
] as const;
export type CommandName = (typeof COMMANDS)[number];

/** The value types: what a flag's text is parsed as, and what a config file or the library must give. */
export type OptionKind = 'int' | 'number' | 'choice' | 'bool' | 'text' | 'path' | 'list';

export type { Range } from '../util/range.js';

/**
 * What `train --resume` does with an option given again:
 * - 'honoured': it may change; the resumed run uses the new value and the model file records the change;
 * - 'run': it only concerns this run (threads, output, checkpoints): it may change;
 * - 'refused': it defines the model or the data and their order: a different value is refused by name.
 */
export type ResumeRule = 'honoured' | 'run' | 'refused';

export interface OptionSpec {
  /** camelCase name: the key of the library's options object, of config files and of the recorded options. */
  name: string;
  /** kebab-case flag without the dashes (also accepted as a config-file key). */
  flag: string;
  kind: OptionKind;
  /** The placeholder of the value in help and usage lines (`--batch <n>`); choices show themselves. */
  arg?: string;
  choices?: readonly string[];
  /** A number (or a switch) that may also be the word `auto`. */
  auto?: boolean;
  range?: Range;
  /** The value the library applies when the option is left out. */
  default?: OptionValue;
  /** When the default is not a value: 'detected', 'kept from the model', 'all cores', ... */
  defaultText?: string;
  help: string;
  /** Help of `--no-FLAG` (switches only): then both forms exist. */
  negatedHelp?: string;
  commands: readonly CommandName[];
  /** Commands that need it (on the command line or in the config file). */
  required?: readonly CommandName[];
  /** A list given by repeating the flag (`--model a --model b`) rather than comma-separated. */
  repeatable?: boolean;
  /** Where it goes in the library's options object (default [name]): `--pixel-fpr` is fpr.pixel. */
  apiPath?: readonly string[];
  /** Only the command line has it (the output format, the config file itself). */
  cliOnly?: boolean;
  /** train: what a resumed run does with it. */
  resume?: ResumeRule;
  /** train: not among the recorded options (`--resume` itself). */
  unrecorded?: boolean;
  /** train: the option defines the network; its value in a model's configuration. */
  network?: (c: ModelConfig) => OptionValue | undefined;
  /** train: its resolved value, from a model file's training record and configuration. */
  recorded?: (r: TrainingRecord, c: ModelConfig) => OptionValue | undefined;
  /** What differs for one command. */
  per?: Partial<Record<CommandName, { help?: string; default?: OptionValue; defaultText?: string }>>;
}

const square = (c: ModelConfig): boolean => c.height === c.width;

/** `--save-memory auto`: memory saving is on for inputs of more pixels than this (256 x 256). */
export const SAVE_MEMORY_ABOVE = { height: 256, width: 256 };

/** Whether a training recomputes activations: as given, or (auto) by the input size. */
export function resolveSaveMemory(value: OptionValue | undefined, c: Pick<ModelConfig, 'height' | 'width'>): boolean {
  if (typeof value === 'boolean') return value;
  return c.height * c.width > SAVE_MEMORY_ABOVE.height * SAVE_MEMORY_ABOVE.width;
}
const MODEL_COMMANDS = ['test', 'predict', 'calibrate'] as const;
const THREAD_COMMANDS = ['train', 'test', 'predict', 'calibrate', 'serve', 'conformance'] as const;
/** The commands with options: each reads a config file. */
export const CONFIG_COMMANDS = ['train', 'test', 'predict', 'calibrate', 'serve', 'synth', 'demo', 'conformance', 'worker'] as const;

/** The table, in the order help lists the options. Rows that share a flag take different commands. */
// biome-ignore format: a table, one option a row or two, read across
export const OPTIONS: readonly OptionSpec[] = [
  // the model file a command reads
  {
    name: 'model', flag: 'model', kind: 'path', arg: 'model-file', help: 'trained model file', commands: MODEL_COMMANDS, required: MODEL_COMMANDS,
    per: { calibrate: { help: 'model file (its thresholds are updated in place)' }, test: { help: 'trained model file (with --categories: --model-dir instead)' } },
  },
  {
    name: 'model', flag: 'model', kind: 'list', repeatable: true, arg: 'file|name=file', help: 'model to serve (repeatable)', commands: ['serve'],
    required: ['serve'], apiPath: ['modelSpecs'],
  },
  { name: 'good', flag: 'good', kind: 'path', arg: 'dir', help: 'folder of good images from production', commands: ['calibrate'], required: ['calibrate'] },
  // data
  {
    name: 'data', flag: 'data', kind: 'path', arg: 'root', help: 'data set root folder', commands: ['train', 'test'], required: ['train', 'test'],
    resume: 'refused', recorded: (r) => r.data,
  },
  {
    name: 'category', flag: 'category', kind: 'text', arg: 'name', help: 'MVTec/BTAD category (optional for --format folder)', commands: ['train', 'test'],
    resume: 'refused', recorded: (r) => r.category,
  },
  {
    name: 'format', flag: 'format', kind: 'choice', choices: ['mvtec', 'btad', 'folder'], defaultText: 'detected', help: 'data set layout',
    commands: ['train', 'test'], resume: 'refused', recorded: (r) => r.format,
  },
  // the folder layout's parts (src/data/dataset-folder.ts); a resumed run keeps its recorded images, so these are not recorded
  {
    name: 'normalDir', flag: 'normal-dir', kind: 'path', arg: 'dir', defaultText: 'good', help: 'folder layout: normal (good) images, relative to --data',
    commands: ['train', 'test'], resume: 'run', unrecorded: true,
  },
  {
    name: 'normalTestDir', flag: 'normal-test-dir', kind: 'path', arg: 'dir', defaultText: 'none: --normal-split-ratio of the normal images',
    help: 'folder layout: normal images to test on (then all of --normal-dir is trained on)', commands: ['train', 'test'], resume: 'run', unrecorded: true,
  },
  {
    name: 'normalSplitRatio', flag: 'normal-split-ratio', kind: 'number', arg: 'share', range: { min: 0, below: 1 }, default: DEFAULT_NORMAL_SPLIT_RATIO,
    help: 'folder layout without --normal-test-dir: share of the normal images kept out of training to test on (the same on every run: by file name; 0: none)',
    commands: ['train', 'test'], resume: 'run', unrecorded: true,
  },
  {
    name: 'abnormalDir', flag: 'abnormal-dir', kind: 'path', arg: 'dir', defaultText: 'defect, if present',
    help: 'folder layout: defect images, flat or one sub-folder per defect type', commands: ['test'],
  },
  {
    name: 'maskDir', flag: 'mask-dir', kind: 'path', arg: 'dir', defaultText: 'mask, if present',
    help: 'folder layout: masks of the defect images (same stem, optionally _mask; sub-folders per type)', commands: ['test'],
  },
  {
    name: 'out', flag: 'out', kind: 'path', arg: 'path', help: 'where to write', commands: ['train', 'predict', 'synth', 'demo', 'app'], required: ['train', 'synth', 'app'],
    resume: 'run',
    per: {
      train: { help: 'model file to write (with --categories: --out-dir instead)' },
      predict: { help: 'write heat map, overlay and outline PNGs per image to DIR' },
      synth: { help: 'folder to write' },
      demo: { help: 'folder for the data, model and report', default: 'pyramidflow-demo' },
      app: { help: 'folder to write the static site to (new or empty, or an earlier app output)' },
    },
  },
  // many categories at once (src/api/categories.ts): one model file per category
  {
    name: 'categories', flag: 'categories', kind: 'list', arg: 'a,b|all', commands: ['train', 'test'], resume: 'run', unrecorded: true,
    help: 'MVTec/BTAD categories, comma-separated, or all (every category folder of --data): one model each, CATEGORY.pflow',
    per: {
      train: { help: 'MVTec/BTAD categories, comma-separated, or all (every category folder of --data): one model each, --out-dir/CATEGORY.pflow' },
      test: { help: 'MVTec/BTAD categories, comma-separated, or all: each with --model-dir/CATEGORY.pflow, one row each and the mean' },
    },
  },
  {
    name: 'outDir', flag: 'out-dir', kind: 'path', arg: 'dir', commands: ['train'], resume: 'run', unrecorded: true,
    help: 'with --categories, instead of --out: folder of the model files (CATEGORY.pflow); --resume skips finished ones and continues the others',
  },
  {
    name: 'modelDir', flag: 'model-dir', kind: 'path', arg: 'dir', commands: ['test'],
    help: 'with --categories, instead of --model: folder of the model files (CATEGORY.pflow)',
  },
  // the network
  {
    name: 'size', flag: 'size', kind: 'int', arg: 'px', range: CONFIG_LIMITS.height, default: DEFAULT_CONFIG.height, help: 'square input size',
    commands: ['train'], resume: 'refused', network: (c) => (square(c) ? c.height : `${c.height}x${c.width}`),
    recorded: (_r, c) => (square(c) ? c.height : undefined),
  },
  {
    name: 'height', flag: 'height', kind: 'int', arg: 'px', range: CONFIG_LIMITS.height, help: 'input height (instead of --size)',
    commands: ['train'], resume: 'refused', network: (c) => c.height, recorded: (_r, c) => (square(c) ? undefined : c.height),
  },
  {
    name: 'width', flag: 'width', kind: 'int', arg: 'px', range: CONFIG_LIMITS.width, help: 'input width (instead of --size)',
    commands: ['train'], resume: 'refused', network: (c) => c.width, recorded: (_r, c) => (square(c) ? undefined : c.width),
  },
  {
    name: 'channels', flag: 'channels', kind: 'int', arg: 'n', range: CONFIG_LIMITS.channels, default: DEFAULT_CONFIG.channels, help: 'channels C',
    commands: ['train'], resume: 'refused', network: (c) => c.channels, recorded: (_r, c) => c.channels,
  },
  {
    name: 'kernel', flag: 'kernel', kind: 'int', arg: 'k', range: CONFIG_LIMITS.kernel, default: DEFAULT_CONFIG.kernel, help: 'odd convolution kernel size',
    commands: ['train'], resume: 'refused', network: (c) => c.kernel, recorded: (_r, c) => c.kernel,
  },
  {
    name: 'levels', flag: 'levels', kind: 'int', auto: true, arg: 'n|auto', range: CONFIG_LIMITS.levels, default: 'auto',
    help: 'pyramid levels L; auto: the official code\'s choice for the category (8 for carpet, metal_nut, transistor; 2 for screw; else 4)',
    commands: ['train'], resume: 'refused', network: (c) => c.levels, recorded: (_r, c) => c.levels,
  },
  {
    name: 'stacks', flag: 'stack', kind: 'int', arg: 'n', range: CONFIG_LIMITS.stacks, default: DEFAULT_CONFIG.stacks, help: 'stacked flow blocks S',
    commands: ['train'], resume: 'refused', network: (c) => c.stacks, recorded: (_r, c) => c.stacks,
  },
  {
    name: 'volumeNorm', flag: 'volume-norm', kind: 'choice', choices: ['cvn', 'svn', 'auto'], default: 'auto',
    help: 'volume normalisation; auto: the official code\'s choice for the category', commands: ['train'], resume: 'refused',
    network: (c) => c.volumeNorm, recorded: (_r, c) => c.volumeNorm,
  },
  {
    name: 'downsample', flag: 'downsample', kind: 'choice', choices: ['maxpool', 'nearest'], default: DEFAULT_CONFIG.downsample,
    help: 'pyramid downsampling (maxpool as the official code, nearest as the paper)', commands: ['train'], resume: 'refused',
    network: (c) => c.downsample, recorded: (_r, c) => c.downsample,
  },
  // training
  {
    name: 'batch', flag: 'batch', kind: 'int', arg: 'n', range: TRAINING_OPTIONS.batch.range, default: TRAINING_OPTIONS.batch.default, help: 'batch size (the loss compares pairs of images)',
    commands: ['train'], resume: 'refused', recorded: (r) => r.batch,
  },
  {
    name: 'epochs', flag: 'epochs', kind: 'int', arg: 'n', range: TRAINING_OPTIONS.epochs.range, default: TRAINING_OPTIONS.epochs.default, help: 'epochs (0 = the untrained flow, a baseline)',
    commands: ['train'], resume: 'honoured', recorded: (r) => r.epochs,
  },
  {
    name: 'lr', flag: 'lr', kind: 'number', arg: 'rate', range: TRAINING_OPTIONS.lr.range, default: TRAINING_OPTIONS.lr.default, help: 'learning rate',
    commands: ['train'], resume: 'honoured', recorded: (r) => r.lr,
  },
  {
    name: 'seed', flag: 'seed', kind: 'int', arg: 'n', range: TRAINING_OPTIONS.seed.range, default: TRAINING_OPTIONS.seed.default, help: 'random seed',
    commands: ['train', 'synth'], resume: 'refused', recorded: (r) => r.seed,
  },
  {
    name: 'threads', flag: 'threads', kind: 'int', arg: 'n', range: { min: 1, max: 1024 }, defaultText: 'all cores', help: 'kernel threads',
    commands: THREAD_COMMANDS, resume: 'run', recorded: (r) => (r.threads > 0 ? r.threads : undefined), per: { serve: { help: 'kernel threads per model' } },
  },
  {
    name: 'saveMemory', flag: 'save-memory', kind: 'bool', auto: true, default: 'auto', defaultText: `on above ${SAVE_MEMORY_ABOVE.width}x${SAVE_MEMORY_ABOVE.height}`,
    help: 'recompute activations to save memory', negatedHelp: 'keep activations (faster, more memory)', commands: ['train'], resume: 'run',
    recorded: (r) => r.saveMemory,
  },
  {
    name: 'augment', flag: 'augment', kind: 'choice', choices: ['texture', 'none', 'auto'], default: 'auto',
    help: 'augmentation; auto: texture (flips, rotations) for texture categories, else none', commands: ['train'], resume: 'refused',
    recorded: (r) => r.augment,
  },
  {
    name: 'holdout', flag: 'holdout', kind: 'number', arg: 'share', range: TRAINING_OPTIONS.holdout.range, default: TRAINING_OPTIONS.holdout.default,
    help: 'share of good images kept aside to set the thresholds', commands: ['train'], resume: 'refused', recorded: (r) => r.holdout,
  },
  {
    name: 'fpr', flag: 'fpr', kind: 'number', arg: 'rate', range: FPR_RANGE, default: DEFAULT_FPR.image, apiPath: ['fpr', 'image'],
    help: 'image false-positive rate the image threshold is set for', commands: ['train', 'calibrate'], resume: 'honoured', recorded: (r) => r.fpr.image,
    per: { calibrate: { default: undefined, defaultText: 'kept from the model' } },
  },
  {
    name: 'pixelFpr', flag: 'pixel-fpr', kind: 'number', arg: 'rate', range: FPR_RANGE, default: DEFAULT_FPR.pixel, apiPath: ['fpr', 'pixel'],
    help: 'pixel false-positive rate the pixel threshold is set for', commands: ['train', 'calibrate'], resume: 'honoured', recorded: (r) => r.fpr.pixel,
    per: { calibrate: { default: undefined, defaultText: 'kept from the model' } },
  },
  {
    name: 'checkpointEvery', flag: 'checkpoint-every', kind: 'int', arg: 'steps', range: { min: 0 }, default: 0,
    help: 'also checkpoint every N steps (0: after each epoch only)', commands: ['train'], resume: 'run', recorded: (r) => r.checkpointEvery,
  },
  {
    name: 'resume', flag: 'resume', kind: 'bool', help: 'continue from the model file (--out) or its checkpoint (options that define the model or the data order must stay as they were)',
    commands: ['train'], resume: 'run', unrecorded: true,
  },
  {
    name: 'force', flag: 'force', kind: 'bool', help: 'replace an existing model file at --out (a file that is not a pyramidflow model is never replaced)',
    commands: ['train'], resume: 'run', unrecorded: true,
  },
  {
    name: 'from', flag: 'from', kind: 'path', arg: 'model-file',
    help: 'start from this model\'s weights (to train it further, or on other images): its configuration, a fresh optimizer',
    commands: ['train'], resume: 'refused', recorded: (r) => r.from?.file,
  },
  {
    name: 'maxImages', flag: 'max-images', kind: 'int', arg: 'n', range: { min: 2 }, defaultText: 'all', help: 'use at most N training images (quick runs)',
    commands: ['train'], resume: 'refused',
  },
  // images
  {
    name: 'maxPixels', flag: 'max-pixels', kind: 'int', arg: 'n', range: { min: 1 }, default: MAX_PIXELS,
    help: 'refuse an image of more pixels than this, read from its header before decoding (a small file can claim a huge size)',
    commands: ['train', 'test', 'predict', 'calibrate'], resume: 'run',
  },
  // test
  { name: 'maps', flag: 'maps', kind: 'path', arg: 'dir', help: 'write every anomaly map as float32 TIFF under DIR', commands: ['test'] },
  { name: 'report', flag: 'report', kind: 'path', arg: 'dir', help: 'write an HTML report to DIR/index.html', commands: ['test'] },
  {
    name: 'evalSize', flag: 'eval-size', kind: 'choice', choices: ['model', 'original'], default: 'model',
    help: 'compare maps at the model size or at each image\'s own size', commands: ['test'],
  },
  {
    name: 'fprLimit', flag: 'fpr-limit', kind: 'number', arg: 'rate', range: { above: 0, max: 1 }, default: DEFAULT_FPR_LIMIT,
    help: 'false-positive rate limit of AUPRO', commands: ['test'],
  },
  {
    name: 'galleryCount', flag: 'gallery-count', kind: 'int', arg: 'n', range: { min: 0 }, default: 24, help: 'worst images shown in the report',
    commands: ['test'],
  },
  // predict
  {
    name: 'threshold', flag: 'threshold', kind: 'number', arg: 't', defaultText: 'the model\'s calibrated one', help: 'image-score threshold',
    commands: ['predict'],
  },
  {
    name: 'pixelThreshold', flag: 'pixel-threshold', kind: 'number', arg: 'p', defaultText: 'the model\'s calibrated one',
    help: 'pixel threshold of the defect regions', commands: ['predict'],
  },
  {
    name: 'minArea', flag: 'min-area', kind: 'int', arg: 'pixels', range: { min: 0 }, default: DEFAULT_MIN_AREA, help: 'smallest region reported',
    commands: ['predict'],
  },
  // Not the training batch (train --batch, recorded in the model, which pairs images for the loss):
  // how many images one pass of the flow judges together, which changes no result, only speed.
  {
    name: 'inferenceBatch', flag: 'batch', kind: 'int', auto: true, arg: 'n|auto', range: { min: 1, max: 64 }, default: 'auto', commands: ['predict', 'serve'],
    help: `images judged in one pass of the flow (results as one at a time); auto: as many as fit ${AUTO_BATCH_BYTES >> 20} MB, at most ${AUTO_BATCH_MAX}`,
    per: {
      serve: {
        default: 1,
        help: `requests judged in one pass of the flow, from those waiting (a lone request never waits for others; 1: one at a time); auto: as many as fit ${AUTO_BATCH_BYTES >> 20} MB, at most ${AUTO_BATCH_MAX}`,
      },
    },
  },
  // serve
  { name: 'port', flag: 'port', kind: 'int', arg: 'n', range: { min: 0, max: 65535 }, default: 8080, help: 'port (0 picks a free one)', commands: ['serve'] },
  { name: 'host', flag: 'host', kind: 'text', arg: 'address', default: '127.0.0.1', help: 'address to listen on', commands: ['serve'] },
  {
    name: 'maxQueue', flag: 'max-queue', kind: 'int', arg: 'n', range: { min: 0 }, default: 16, help: 'requests waiting before new ones get 503',
    commands: ['serve'],
  },
  {
    name: 'tokenFile', flag: 'token-file', kind: 'path', arg: 'file', defaultText: 'the PYRAMIDFLOW_TOKEN variable, else none',
    help: 'file holding the bearer token every route but /healthz and the page then needs (not readable by others)', commands: ['serve'],
  },
  {
    name: 'insecure', flag: 'insecure', kind: 'bool', help: 'serve an address beyond loopback without a token (refused otherwise)', commands: ['serve'],
  },
  {
    name: 'logLevel', flag: 'log-level', kind: 'choice', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], arg: 'level', default: 'info',
    help: 'level of the JSON log: fatal, error, warn, info (access lines), debug, trace or silent', commands: ['serve'],
  },
  // the cluster (src/cluster): `worker`, `submit train`, `jobs` on BullMQ queues in Redis
  {
    name: 'redis', flag: 'redis', kind: 'text', arg: 'url', commands: ['worker', 'submit', 'jobs', 'serve'], required: ['worker', 'submit', 'jobs'],
    help: 'redis:// or rediss:// URL of the queues (password: in the URL or PYRAMIDFLOW_REDIS_PASSWORD; ?tls={...}: TLS options for ioredis)',
    per: { serve: { help: 'redis:// or rediss:// URL of a cluster\'s queues: predictions go to its workers (password: in the URL or PYRAMIDFLOW_REDIS_PASSWORD)', defaultText: 'none (predict in this process)' } },
  },
  {
    name: 'predictTimeout', flag: 'predict-timeout', kind: 'number', arg: 's', range: { above: 0 }, default: 60,
    help: 'with --redis: seconds a request waits for a worker before a 504', commands: ['serve'],
  },
  { name: 'queues', flag: 'queues', kind: 'list', arg: 'train,predict', defaultText: 'every queue', help: 'queues to take jobs from', commands: ['worker'] },
  {
    name: 'concurrency', flag: 'concurrency', kind: 'int', arg: 'n', range: { min: 1, max: 64 }, default: 1, commands: ['worker'],
    help: 'jobs of each queue run at once (a training job uses every kernel thread)',
  },
  { name: 'threads', flag: 'threads', kind: 'int', arg: 'n', range: { min: 1, max: 1024 }, defaultText: 'all cores', help: 'kernel threads', commands: ['worker'] },
  {
    name: 'dataRoot', flag: 'data-root', kind: 'path', arg: 'dir', default: '.', commands: ['worker', 'submit'],
    help: 'folder the jobs\' --data paths are relative to (a job whose paths leave it is refused)',
    per: { submit: { help: 'folder --data is relative to, as the workers\' --data-root (read here to list --categories all)' } },
  },
  {
    name: 'store', flag: 'store', kind: 'path', arg: 'dir', default: 'models', commands: ['worker'],
    help: 'model store: a folder shared by the workers, CATEGORY.pflow (and its generation in CATEGORY.pflow.json) per category',
  },
  {
    name: 'lockDuration', flag: 'lock-duration', kind: 'number', auto: true, arg: 's|auto', range: { min: 1 }, default: 'auto', commands: ['worker'],
    help: 'seconds a job stays locked to this worker between renewals; auto: from the estimated step time (at least 30)',
  },
  {
    name: 'stalledInterval', flag: 'stalled-interval', kind: 'number', arg: 's', range: { above: 0 }, default: 30, commands: ['worker'],
    help: 'seconds between checks for jobs whose worker is gone (they go back to the queue and resume from their checkpoint)',
  },
  {
    name: 'force', flag: 'force', kind: 'bool', commands: ['submit'],
    help: 'store the model even if another job stores a later generation of the category while this one runs',
  },
  { name: 'json', flag: 'json', kind: 'bool', cliOnly: true, help: 'print one JSON object per job', commands: ['submit', 'jobs'] },
  { name: 'cancel', flag: 'cancel', kind: 'text', arg: 'job-id', help: 'cancel a job (a running one stops after its current step; its checkpoint is kept)', commands: ['jobs'] },
  { name: 'retry', flag: 'retry', kind: 'text', arg: 'job-id', help: 'run a failed or cancelled job again (from its checkpoint, if any)', commands: ['jobs'] },
  { name: 'limit', flag: 'limit', kind: 'int', arg: 'n', range: { min: 1 }, default: 50, help: 'newest jobs listed per state', commands: ['jobs'] },
  // synth
  { name: 'categories', flag: 'categories', kind: 'list', arg: 'a,b', defaultText: 'all', help: 'comma-separated categories', commands: ['synth'] },
  { name: 'size', flag: 'size', kind: 'int', arg: 'px', range: { min: 8, max: 16384 }, default: 256, help: 'image size', commands: ['synth'] },
  { name: 'train', flag: 'train', kind: 'int', arg: 'n', range: { min: 1 }, default: 40, help: 'good training images per category', commands: ['synth'] },
  { name: 'testGood', flag: 'test-good', kind: 'int', arg: 'n', range: { min: 0 }, default: 10, help: 'good test images per category', commands: ['synth'] },
  { name: 'testDefect', flag: 'test-defect', kind: 'int', arg: 'n', range: { min: 0 }, default: 20, help: 'defect test images per category', commands: ['synth'] },
  // demo
  { name: 'minutes', flag: 'minutes', kind: 'number', arg: 'm', range: { above: 0, max: 24 * 60 }, default: 1, help: 'rough training time budget', commands: ['demo'] },
  // conformance
  {
    name: 'backend', flag: 'backend', kind: 'choice', choices: ['wasm', 'js'], default: 'wasm',
    help: 'kernels to check: wasm (what training and detection use) or js (the reference)', commands: ['conformance'],
  },
  // export (src/api/export.ts)
  { name: 'model', flag: 'model', kind: 'path', arg: 'model-file', help: 'finished model file to export', commands: ['export'], required: ['export'] },
  {
    name: 'format', flag: 'format', kind: 'choice', choices: ['onnx', 'safetensors'], help: 'file format to write: onnx (one graph from image to anomaly map and score) or safetensors (the weights under the official PyTorch names, for its load_state_dict)',
    commands: ['export'], required: ['export'],
  },
  { name: 'out', flag: 'out', kind: 'path', arg: 'file', help: 'file to write', commands: ['export'], required: ['export'] },
  {
    name: 'input', flag: 'input', kind: 'choice', choices: INPUT_LAYOUTS, default: INPUT_LAYOUTS[0],
    help: 'onnx: the image input: uint8 RGB [N,H,W,3] normalised in the graph, or normalised float32 [N,3,H,W]', commands: ['export'],
  },
  {
    name: 'outputs', flag: 'outputs', kind: 'choice', choices: ONNX_OUTPUTS, default: ONNX_OUTPUTS[0],
    help: 'onnx: anomaly map and score, or those and the latent pyramid', commands: ['export'],
  },
  { name: 'opset', flag: 'opset', kind: 'int', arg: 'n', range: OPSET_RANGE, default: DEFAULT_OPSET, help: 'onnx: operator set (IR version 8)', commands: ['export'] },
  {
    name: 'force', flag: 'force', kind: 'bool', help: 'replace an existing file of the format at --out (any other file is never replaced)', commands: ['export'],
  },
  { name: 'json', flag: 'json', kind: 'bool', help: 'print the summary as one JSON object', cliOnly: true, commands: ['export'] },
  // import (src/api/import.ts): a checkpoint of the official PyTorch code into a model file
  {
    name: 'checkpoint', flag: 'checkpoint', kind: 'path', arg: 'file', commands: ['import'], required: ['import'],
    help: 'checkpoint of the official code: the .npz its train.py saves, a torch.save state dict, or safetensors',
  },
  { name: 'out', flag: 'out', kind: 'path', arg: 'file', help: 'model file to write', commands: ['import'], required: ['import'] },
  {
    name: 'good', flag: 'good', kind: 'path', arg: 'dir', commands: ['import'], required: ['import'],
    help: 'folder of good images: their mean latents are the template, held-out ones set the thresholds',
  },
  {
    name: 'state', flag: 'state', kind: 'choice', choices: ['pixel', 'pro'], default: 'pixel', commands: ['import'],
    help: '.npz: the state dict to take, the best by pixel AUROC (state_dict_pixel) or by PRO (state_dict_pro)',
  },
  {
    name: 'size', flag: 'size', kind: 'int', arg: 'px', range: CONFIG_LIMITS.height, commands: ['import'], defaultText: 'from the file, else required',
    help: 'square image size the model was trained at (a checkpoint does not say it; CVN running means do)',
  },
  { name: 'height', flag: 'height', kind: 'int', arg: 'px', range: CONFIG_LIMITS.height, help: 'image height (instead of --size)', commands: ['import'] },
  { name: 'width', flag: 'width', kind: 'int', arg: 'px', range: CONFIG_LIMITS.width, help: 'image width (instead of --size)', commands: ['import'] },
  {
    name: 'levels', flag: 'levels', kind: 'int', arg: 'n', range: CONFIG_LIMITS.levels, defaultText: 'from the file or the weights',
    help: 'pyramid levels, for a state dict whose weights fit several', commands: ['import'],
  },
  {
    name: 'volumeNorm', flag: 'volume-norm', kind: 'choice', choices: ['cvn', 'svn'], defaultText: 'from the file or the running means',
    help: 'volume normalisation, for a state dict that does not say it', commands: ['import'],
  },
  {
    name: 'holdout', flag: 'holdout', kind: 'number', arg: 'share', range: TRAINING_OPTIONS.holdout.range, default: TRAINING_OPTIONS.holdout.default, commands: ['import'],
    help: 'share of the good images kept out of the template to set the thresholds',
  },
  {
    name: 'fpr', flag: 'fpr', kind: 'number', arg: 'rate', range: FPR_RANGE, default: DEFAULT_FPR.image, apiPath: ['fpr', 'image'],
    help: 'image false-positive rate the image threshold is set for', commands: ['import'],
  },
  {
    name: 'pixelFpr', flag: 'pixel-fpr', kind: 'number', arg: 'rate', range: FPR_RANGE, default: DEFAULT_FPR.pixel, apiPath: ['fpr', 'pixel'],
    help: 'pixel false-positive rate the pixel threshold is set for', commands: ['import'],
  },
  { name: 'force', flag: 'force', kind: 'bool', help: 'replace an existing model file at --out (any other file is never replaced)', commands: ['import'] },
  {
    name: 'maxPixels', flag: 'max-pixels', kind: 'int', arg: 'n', range: { min: 1 }, default: MAX_PIXELS, commands: ['import'],
    help: 'refuse an image of more pixels than this, read from its header before decoding',
  },
  { name: 'threads', flag: 'threads', kind: 'int', arg: 'n', range: { min: 1, max: 1024 }, defaultText: 'all cores', help: 'kernel threads', commands: ['import'] },
  { name: 'json', flag: 'json', kind: 'bool', help: 'print the summary as one JSON object', cliOnly: true, commands: ['import'] },
  // output and config files
  {
    name: 'json', flag: 'json', kind: 'bool', help: 'print one JSON object', cliOnly: true, resume: 'run',
    commands: ['train', 'test', 'predict', 'calibrate', 'info', 'conformance'],
    per: {
      train: { help: 'one JSON object per progress event and for the summary' },
      predict: { help: 'one JSON object per image' },
      calibrate: { help: 'print the thresholds as JSON' },
      info: { help: 'print as JSON' },
    },
  },
  {
    name: 'config', flag: 'config', kind: 'path', arg: 'file', cliOnly: true, resume: 'run', commands: CONFIG_COMMANDS,
    help: 'read options from a YAML or JSON file (keys: option names, e.g. batch, volume-norm or volumeNorm); flags given here win',
  },
  {
    name: 'config', flag: 'config', kind: 'bool', cliOnly: true, commands: ['info'],
    help: 'print the options the model was trained with, as a config file for `train --config` (YAML; JSON with --json)',
  },
];

/** The options of one command, in table order. */
export function optionsOf(command: CommandName): OptionSpec[] {
  return OPTIONS.filter((o) => o.commands.includes(command));
}

/** An option of a command by its name or its flag, or undefined. */
export function optionSpec(command: CommandName, key: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.commands.includes(command) && (o.name === key || o.flag === key));
}

/** An option the code names: it must be in the table. */
export function optionOf(command: CommandName, name: string): OptionSpec {
  const spec = optionSpec(command, name);
  if (!spec) throw new Error(`option table: ${command} has no option ${name}`);
  return spec;
}

/** The default the library applies for this command, if it is a value. */
export function defaultOf(command: CommandName, name: string): OptionValue | undefined {
  const spec = optionOf(command, name);
  const per = spec.per?.[command];
  return per && 'default' in per ? per.default : spec.default;
}

/** A number default, for the code that applies it. */
export function numberDefault(command: CommandName, name: string): number {
  const value = defaultOf(command, name);
  if (typeof value !== 'number') throw new Error(`option table: ${command} --${optionOf(command, name).flag} has no number default`);
  return value;
}

/** A text default, for the code that applies it. */
export function textDefault(command: CommandName, name: string): string {
  const value = defaultOf(command, name);
  if (typeof value !== 'string') throw new Error(`option table: ${command} --${optionOf(command, name).flag} has no text default`);
  return value;
}

/** How help shows the default: a value ('256') or words ('detected'); undefined when there is none. */
export function defaultTextOf(spec: OptionSpec, command: CommandName): { text: string; value: boolean } | undefined {
  const per = spec.per?.[command];
  const own = per !== undefined && 'default' in per;
  const words = per?.defaultText ?? (own ? undefined : spec.defaultText);
  if (words !== undefined) return { text: words, value: false };
  const value = own ? per.default : spec.default;
  return value === undefined || value === false ? undefined : { text: Array.isArray(value) ? value.join(',') : String(value), value: true };
}

/** The help line of an option for a command: what it is, whether it is required, its default. */
export function helpOf(spec: OptionSpec, command: CommandName): string {
  const parts = [spec.per?.[command]?.help ?? spec.help];
  if (spec.required?.includes(command)) parts.push('(required)');
  const def = defaultTextOf(spec, command);
  if (def) parts.push(def.value ? `(default ${def.text})` : `(default: ${def.text})`);
  return parts.join(' ');
}

/** The placeholder of the value: `n`, `cvn|svn|auto`; none for switches. */
export function argOf(spec: OptionSpec): string | undefined {
  if (spec.kind === 'bool') return undefined;
  return spec.arg ?? spec.choices?.join('|') ?? 'value';
}

/** `--batch <n>`, `--json`. */
export function flagsOf(spec: OptionSpec): string {
  const arg = argOf(spec);
  return arg === undefined ? `--${spec.flag}` : `--${spec.flag} <${arg}>`;
}

/** The attribute commander gives a flag (`volume-norm` -> `volumeNorm`). */
export function camelFlag(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}
