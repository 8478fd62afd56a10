/**
 * The training loop: seeded shuffling and augmentation, batches of B >= 2 with all pairs,
 * clipped Adam, checkpoints every epoch (and every N steps), exact resume, and a clear stop
 * when the loss diverges. Randomness is derived from (seed, epoch, step), so a resumed run
 * draws exactly what an uninterrupted one would.
 */
import type { ModelConfig } from '../flow/types.js';
import type { TrainProgress } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { augmentTexture } from '../data/augment.js';
import { normalizeImage, resizeImage, type DecodedImage } from '../data/image.js';
import { PyramidFlow } from '../flow/model.js';
import { restoreModel, snapshot, type SavedModel, type TrainingRecord } from '../flow/saved-model.js';
import { toBatch } from '../flow/batch.js';
import { timed, cacheFilters, type Tensor } from '../tensor/index.js';
import { Adam, clipGradNorm, OFFICIAL_ADAM } from './optim.js';
import { lossGradients } from './gradients.js';

/** Where checkpoints go: a model file on Node (src/api/model-files.ts), memory or storage in a browser. */
export interface CheckpointSink {
  /** Named in progress events and messages (the model file). */
  readonly name: string;
  save(saved: SavedModel): void;
}

export interface TrainLoopInput {
  config: ModelConfig;
  images: DecodedImage[]; // training images at the model size
  record: TrainingRecord; // what the model file says about this training; updated as it goes
  checkpoints: CheckpointSink;
  resumeFrom?: SavedModel; // continue this state
  startFrom?: SavedModel; // or start from these weights (and running statistics), with a fresh optimizer
  onProgress?: (p: TrainProgress) => void;
  /** Stop after this many steps in total (tests of resume); the run can be resumed later. */
  stopAfterSteps?: number;
}

/**
 * One optimisation step: gradients of the loss, clipping to norm 1, Adam. Skips the update
 * (and reports it through a non-finite loss or norm) when the loss diverged.
 */
export function trainStep(model: PyramidFlow, opt: Adam, images: Tensor, saveMemory: boolean): { loss: number; norm: number } {
  opt.zeroGrad();
  const { loss } = lossGradients(model, images, saveMemory);
  const norm = clipGradNorm(model.parameters());
  if (Number.isFinite(loss) && Number.isFinite(norm)) timed('optimizer', () => opt.step());
  return { loss, norm };
}

/** Deterministic per-(seed, epoch, step) generator. */
export function streamRandom(seed: number, epoch: number, step = -1): Random {
  return new Random((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35) + Math.imul(step + 2, 0x27d4eb2f)) >>> 0);
}

export function epochOrder(count: number, seed: number, epoch: number): number[] {
  return streamRandom(seed, epoch).shuffle(Array.from({ length: count }, (_, i) => i));
}

export async function trainLoop(input: TrainLoopInput): Promise<{ model: PyramidFlow; record: TrainingRecord; finished: boolean }> {
  const { config, images, record, checkpoints, onProgress } = input;
  const B = record.batch;
  if (B < 2) throw new PyramidFlowError(`batch must be at least 2 (the loss compares pairs of images), got ${B}`);
  if (images.length < B) throw new PyramidFlowError(`only ${images.length} training image(s) for batch size ${B}: add images or lower --batch`);
  const stepsPerEpoch = Math.floor(images.length / B); // the last partial batch is dropped
  const start = input.resumeFrom ?? input.startFrom;
  const model = start ? restoreModel(start) : PyramidFlow.create(config, record.seed);
  model.training = true;
  cacheFilters(0); // weights change every step: no filter spectra kept (evaluation turns it on)
  const opt = new Adam(model.parameters(), { ...OFFICIAL_ADAM, lr: record.lr });
  const resume = input.resumeFrom?.resume;
  let epoch = 0, firstStep = 0, epochLosses: number[] = [];
  if (resume) {
    epoch = resume.epoch;
    firstStep = resume.stepInEpoch;
    epochLosses = [...resume.epochLosses];
    opt.state = { step: resume.adamStep, m: resume.adamM.map((a) => a.slice()), v: resume.adamV.map((a) => a.slice()) };
  }
  const checkpoint = (ep: number, stepInEpoch: number, losses: number[]): void => {
    checkpoints.save(snapshot(model, record, {
      resume: { epoch: ep, stepInEpoch, adamStep: opt.state.step, adamM: opt.state.m, adamV: opt.state.v, epochLosses: losses },
    }));
    // At an epoch boundary (step 0) the checkpoint closes epoch ep; otherwise it is inside epoch ep + 1.
    onProgress?.({ kind: 'checkpoint', epoch: stepInEpoch === 0 ? ep : ep + 1, epochs: record.epochs, step: stepInEpoch, stepsPerEpoch, message: checkpoints.name });
  };
  const started = Date.now();
  let stepsThisRun = 0;
  onProgress?.({ kind: 'start', epoch: epoch + 1, epochs: record.epochs, step: firstStep, stepsPerEpoch });
  for (; epoch < record.epochs; epoch++, firstStep = 0, epochLosses = []) {
    const order = epochOrder(images.length, record.seed, epoch);
    for (let step = firstStep; step < stepsPerEpoch; step++) {
      if (input.stopAfterSteps !== undefined && stepsThisRun >= input.stopAfterSteps) {
        checkpoint(epoch, step, epochLosses);
        return { model, record, finished: false };
      }
      const t0 = Date.now();
      const rng = streamRandom(record.seed, epoch, step);
      const batch = order.slice(step * B, (step + 1) * B).map((i) => {
        let img = images[i]!;
        if (record.augment === 'texture') {
          img = augmentTexture(img, rng);
          if (img.width !== config.width || img.height !== config.height) img = resizeImage(img, config.height, config.width);
        }
        return normalizeImage(img);
      });
      const { loss, norm } = trainStep(model, opt, toBatch(batch, config.height, config.width), record.saveMemory);
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
        throw new PyramidFlowError(
          `training diverged at epoch ${epoch + 1}, step ${step + 1} (loss ${loss}, gradient norm ${norm}); ` +
            `the last good checkpoint is kept in ${checkpoints.name}. Try a lower --lr.`,
          'E_DIVERGED',
        );
      }
      epochLosses.push(loss);
      record.steps++;
      stepsThisRun++;
      const elapsed = (Date.now() - started) / 1000;
      const remainingSteps = (record.epochs - epoch - 1) * stepsPerEpoch + (stepsPerEpoch - step - 1);
      onProgress?.({
        kind: 'step', epoch: epoch + 1, epochs: record.epochs, step: step + 1, stepsPerEpoch, loss,
        imagesPerSecond: (B * 1000) / Math.max(1, Date.now() - t0),
        secondsLeft: (elapsed / stepsThisRun) * remainingSteps,
      });
      if (record.checkpointEvery > 0 && record.steps % record.checkpointEvery === 0 && step + 1 < stepsPerEpoch) {
        checkpoint(epoch, step + 1, epochLosses);
      }
      await new Promise((r) => setImmediate(r)); // let signals, timers and progress bars run
    }
    const mean = epochLosses.reduce((a, b) => a + b, 0) / Math.max(1, epochLosses.length);
    record.lossPerEpoch.push(mean);
    record.epochsDone = epoch + 1;
    onProgress?.({ kind: 'epoch', epoch: epoch + 1, epochs: record.epochs, step: stepsPerEpoch, stepsPerEpoch, loss: mean });
    checkpoint(epoch + 1, 0, []);
  }
  return { model, record, finished: true };
}
