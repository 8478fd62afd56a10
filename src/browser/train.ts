/**
 * Training in the engine worker, as `pyramidflow train` does it on Node (src/api/train.ts):
 * images in code-unit order of their names, the same seeded hold-out split, the same training
 * loop (src/train/trainer.ts), then the template from the training images and the thresholds
 * from the held-out ones (src/detect/finish.ts). The same images, seed and options give the
 * same weights as the Node CLI with the same kernel build, whatever the thread counts.
 *
 * Stopping (the page's AbortSignal) ends the loop after the current step; the model is finished
 * as it is (template and thresholds: usable) and keeps its resume state, so that continuing it
 * gives what an uninterrupted run gives.
 */
import { PyramidFlowError } from '../util/errors.js';
import { holdoutSplit } from '../data/holdout.js';
import { resizeImage, type DecodedImage } from '../data/pixels.js';
import { resolveConfig } from '../flow/config.js';
import type { ModelConfig } from '../flow/types.js';
import type { SavedModel, TrainingRecord } from '../flow/saved-model.js';
import { trainLoop, type CheckpointSink, type TrainLoopInput } from '../train/trainer.js';
import type { TrainProgress } from '../train/types.js';
import { finishModel } from '../detect/finish.js';
import { DEFAULT_FPR, FPR_RANGE } from '../detect/thresholds.js';
import { TRAINING_OPTIONS, type TrainingOption } from '../train/training-options.js';
import { rangeProblem } from '../util/range.js';
import type { BrowserTrainOptions, BrowserTrainProgress } from './types.js';
import { BROWSER_TARGET_STEPS, trainingPlan } from './plan.js';

/** Memory-saving backpropagation is on above this many pixels, as on Node. */
const SAVE_MEMORY_ABOVE = 256 * 256;

/** A decoded image with its name (a file name: errors and the model's record name it). */
export interface NamedPixels {
  /** The file name. */
  name: string;
  /** Its pixels (at the model's size already, or resized here as training images are). */
  image: DecodedImage;
}

/** What the page may observe and stop. */
export interface TrainControl {
  /** Progress reports. */
  onProgress?: (p: BrowserTrainProgress) => void;
  /** True once the page asked to stop. */
  stopped: () => boolean;
}

/** A trained (or stopped) model's content and whether it finished. */
export interface TrainedModel {
  /** The model file's content: weights, template, thresholds, and the resume state when stopped early. */
  saved: SavedModel;
  /** False when stopped early. */
  finished: boolean;
}

/** Plain code-unit order, as Node lists a folder (src/data/files.ts byName). */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A training option's value (its default when not given) checked against its limits: one line naming it. */
function checked(name: keyof typeof TRAINING_OPTIONS, value: number | undefined): number {
  const spec: TrainingOption = TRAINING_OPTIONS[name];
  if (value === undefined) return spec.default;
  const problem =
    typeof value !== 'number' || !Number.isFinite(value) || (spec.integer && !Number.isInteger(value))
      ? `must be ${spec.integer ? 'a whole number' : 'a number'}`
      : rangeProblem(value, spec.range);
  if (problem !== undefined) throw new PyramidFlowError(`train: ${name} ${problem}, got ${String(value)}`, 'E_OPTION');
  return value;
}

/** A false-positive rate the thresholds are set for (the default when not given): one line naming it. */
function checkedRate(name: 'fpr' | 'pixelFpr', value: number | undefined): number {
  if (value === undefined) return name === 'fpr' ? DEFAULT_FPR.image : DEFAULT_FPR.pixel;
  const problem = typeof value !== 'number' || !Number.isFinite(value) ? 'must be a number' : rangeProblem(value, FPR_RANGE);
  if (problem !== undefined) throw new PyramidFlowError(`train: ${name} ${problem}, got ${String(value)}`, 'E_OPTION');
  return value;
}
(lo: number, hi = Number.MAX_SAFE_INTEGER) =>
  (v: number) =>
    Number.isInteger(v) && v >= lo && v <= hi;

/** The model's configuration from the options (the CLI's defaults; volume norm 'cvn' unless given). */
export function browserConfig(o: BrowserTrainOptions): ModelConfig {
  return resolveConfig({ size: o.size, channels: o.channels, kernel: o.kernel, levels: o.levels, stacks: o.stacks, volumeNorm: o.volumeNorm ?? 'cvn' });
}

/** The images by name, in Node's order, each name once. */
function sortedByName(images: readonly NamedPixels[]): Map<string, DecodedImage> {
  const byNameMap = new Map<string, DecodedImage>();
  for (const { name, image } of [...images].sort((a, b) => byName(a.name, b.name))) {
    if (byNameMap.has(name))
      throw new PyramidFlowError(`train: two images are named "${name}"; names identify the images (the hold-out split and continuing use them)`, 'E_INPUT');
    byNameMap.set(name, image);
  }
  return byNameMap;
}

/** Trains a new model. */
export async function trainNew(images: readonly NamedPixels[], o: BrowserTrainOptions, threads: number, control: TrainControl): Promise<TrainedModel> {
  const config = browserConfig(o);
  const batch = checked('batch', o.batch);
  const seed = checked('seed', o.seed);
  const holdout = checked('holdout', o.holdout);
  const lr = checked('lr', o.lr);
  const fpr = checkedRate('fpr', o.fpr);
  const pixelFpr = checkedRate('pixelFpr', o.pixelFpr);
  if (o.augment !== undefined && o.augment !== 'texture' && o.augment !== 'none')
    throw new PyramidFlowError(`train: augment must be 'texture' or 'none', got ${String(o.augment)}`, 'E_OPTION');
  const named = sortedByName(images);
  const split = holdoutSplit([...named.keys()], holdout, seed, batch);
  if (split.train.length < batch) {
    throw new PyramidFlowError(
      `train: only ${split.train.length} training image(s) for batch size ${batch} (${images.length} given, ${split.holdout.length} held out); add images or lower the batch or the hold-out`,
      'E_INPUT',
    );
  }
  const defaultEpochs = trainingPlan(images.length, BROWSER_TARGET_STEPS, batch, holdout).epochs;
  const epochs = o.epochs === undefined ? defaultEpochs : checked('epochs', o.epochs);
  const record: TrainingRecord = {
    data: 'browser',
    category: o.name ?? 'browser',
    format: 'browser',
    augment: o.augment ?? 'none',
    seed,
    batch,
    lr,
    epochs,
    epochsDone: 0,
    steps: 0,
    threads,
    saveMemory: o.saveMemory ?? config.height * config.width > SAVE_MEMORY_ABOVE,
    holdout,
    fpr: { image: fpr, pixel: pixelFpr },
    checkpointEvery: 0,
    trainFiles: split.train,
    holdoutFiles: split.holdout,
    lossPerEpoch: [],
    seconds: 0,
  };
  return run(config, record, named, control);
}

/** Continues a model stopped early (its resume state) on the images it was trained on, found by name. */
export async function trainMore(
  saved: SavedModel,
  name: string,
  images: readonly NamedPixels[],
  threads: number,
  control: TrainControl,
): Promise<TrainedModel> {
  if (!saved.resume) {
    throw new PyramidFlowError(`${name}: this model finished training (${saved.training.epochsDone} epochs); there is nothing to continue`, 'E_INPUT');
  }
  const record = structuredClone(saved.training);
  record.threads = threads;
  return run({ ...saved.config }, record, sortedByName(images), control, saved);
}

/** The image a record names: by its name, or by the last part of a path (a checkpoint of the Node CLI). */
function imageNamed(named: Map<string, DecodedImage>, file: string, model: string): DecodedImage {
  const image = named.get(file) ?? named.get(file.split(/[\\/]/).pop()!);
  if (!image)
    throw new PyramidFlowError(`${model}: the image "${file}" it was trained on is not among the images given; give the same images to continue`, 'E_INPUT');
  return image;
}

async function run(
  config: ModelConfig,
  record: TrainingRecord,
  named: Map<string, DecodedImage>,
  control: TrainControl,
  resumeFrom?: SavedModel,
): Promise<TrainedModel> {
  const atSize = (file: string): DecodedImage => resizeImage(imageNamed(named, file, record.category), config.height, config.width);
  const images = record.trainFiles.map(atSize);
  const holdoutImages = record.holdoutFiles.map(atSize);
  const stepsPerEpoch = Math.floor(images.length / record.batch);
  const steps = record.epochs * stepsPerEpoch;
  let checkpoint: SavedModel | undefined;
  const sink: CheckpointSink = { name: record.category, save: (s) => void (checkpoint = s) };
  const report = (p: TrainProgress): void => {
    if (p.kind !== 'step' && p.kind !== 'epoch') return;
    control.onProgress?.({ kind: p.kind, step: record.steps, steps, epoch: p.epoch, epochs: record.epochs, loss: p.loss, secondsLeft: p.secondsLeft });
  };
  const input: TrainLoopInput = { config, images, record, checkpoints: sink, resumeFrom, onProgress: report };
  // The loop reads stopAfterSteps before every step: 0 once the page asks to stop ends it there,
  // with the state written through the sink (weights, optimizer, position) as a resumed run needs it.
  Object.defineProperty(input, 'stopAfterSteps', { get: () => (control.stopped() ? 0 : undefined), enumerable: true });
  const started = Date.now();
  const { model, finished } = await trainLoop(input);
  record.seconds += (Date.now() - started) / 1000;
  control.onProgress?.({ kind: 'finish', step: record.steps, steps, epoch: record.epochsDone, epochs: record.epochs });
  const { saved } = finishModel({ model, record, trainImages: images, holdoutImages });
  if (!finished) {
    if (!checkpoint?.resume) throw new Error('training stopped without a state to continue from');
    saved.resume = checkpoint.resume;
  }
  control.onProgress?.({ kind: 'done', step: record.steps, steps, epoch: record.epochsDone, epochs: record.epochs });
  return { saved, finished };
}
