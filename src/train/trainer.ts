/**
 * The training loop: seeded shuffling and augmentation, batches of B >= 2 with all pairs,
 * clipped Adam, checkpoints every epoch (and every N steps), exact resume, and a clear stop
 * when the loss diverges. Randomness is derived from (seed, epoch, step), so a resumed run
 * draws exactly what an uninterrupted one would.
 *
 * Fail closed: a configuration that cannot fit in memory is refused before anything is
 * allocated (src/train/memory.ts); a checkpoint is written only of a state whose own loss was
 * judged healthy (src/train/divergence.ts), and a divergence, noticed before the loss is NaN,
 * writes the newest healthy state (kept in memory, src/train/kept-state.ts) and stops with the
 * command that continues from it at a lower learning rate.
 */
import type { ModelConfig } from '../flow/types.js';
import type { TrainProgress } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { augmentTexture } from '../data/augment.js';
import { normalizeImage, resizeImage, type DecodedImage } from '../data/pixels.js';
import { PyramidFlow } from '../flow/model.js';
import { restoreModel, type SavedModel, type TrainingRecord } from '../flow/saved-model.js';
import { toBatch } from '../flow/batch.js';
import { timed, cacheFilters, type Tensor } from '../tensor/index.js';
import { Adam, clipScale, gradNorm, OFFICIAL_ADAM } from './optim.js';
import { lossGradients, lossOnly } from './gradients.js';
import { DivergenceWatch, describePosition, fmt, resumeCommand, suggestedLr, type Verdict } from './divergence.js';
import { availableMemory, checkTrainingFits, estimateTrainingMemory, type AvailableMemory } from './memory.js';
import { yieldToEventLoop } from './yield.js';
import { StateKeeper, type KeptState } from './kept-state.js';

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
  /**
   * The memory the run may use (src/train/memory.ts availableMemory(), which it defaults to); a
   * configuration that cannot fit in it is refused before anything is allocated. null: no check.
   */
  memory?: AvailableMemory | null;
}

/**
 * One optimisation step: gradients of the loss, clipping to norm 1, Adam. Skips the update
 * (and reports it through a non-finite loss or norm) when the loss diverged.
 */
export function trainStep(model: PyramidFlow, opt: Adam, images: Tensor, saveMemory: boolean): { loss: number; norm: number } {
  opt.zeroGrad();
  const { loss } = lossGradients(model, images, saveMemory);
  const norm = gradNorm(model.parameters());
  // clipped inside the update (the bits of clipping first)
  if (Number.isFinite(loss) && Number.isFinite(norm)) timed('optimizer', () => opt.step(clipScale(norm)));
  return { loss, norm };
}

/** Deterministic per-(seed, epoch, step) generator. */
export function streamRandom(seed: number, epoch: number, step = -1): Random {
  return new Random((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35) + Math.imul(step + 2, 0x27d4eb2f)) >>> 0);
}

export function epochOrder(count: number, seed: number, epoch: number): number[] {
  return streamRandom(seed, epoch).shuffle(Array.from({ length: count }, (_, i) => i));
}

/**
 * Trains `record.epochs` epochs (from the resumed state, if any), writing checkpoints through
 * `input.checkpoints`. Throws a PyramidFlowError with code 'E_MEMORY' before allocating anything
 * when the configuration cannot fit in memory (src/train/memory.ts), and 'E_DIVERGED' when the
 * loss diverges, after writing the last healthy state (the message gives the command that goes on
 * from it at a lower learning rate).
 */
export async function trainLoop(input: TrainLoopInput): Promise<{ model: PyramidFlow; record: TrainingRecord; finished: boolean }> {
  const { config, images, record, checkpoints, onProgress } = input;
  const B = record.batch;
  if (B < 2) throw new PyramidFlowError(`batch must be at least 2 (the loss compares pairs of images), got ${B}`);
  if (images.length < B) throw new PyramidFlowError(`only ${images.length} training image(s) for batch size ${B}: add images or lower --batch`);
  // Before anything is allocated: a configuration that cannot fit is refused now, not killed later.
  if (input.memory !== null) {
    const threads = record.threads > 0 ? record.threads : undefined;
    const estimate = estimateTrainingMemory(config, { batch: B, saveMemory: record.saveMemory, images: images.length, threads });
    checkTrainingFits(estimate, input.memory ?? (await availableMemory()));
  }
  const stepsPerEpoch = Math.floor(images.length / B); // the last partial batch is dropped
  const start = input.resumeFrom ?? input.startFrom;
  const model = start ? restoreModel(start) : PyramidFlow.create(config, record.seed);
  model.training = true;
  cacheFilters(0); // weights change every step: no filter spectra kept (evaluation turns it on)
  const opt = new Adam(model.parameters(), { ...OFFICIAL_ADAM, lr: record.lr });
  const resume = input.resumeFrom?.resume;
  let epoch = 0,
    firstStep = 0,
    epochLosses: number[] = [];
  if (resume) {
    epoch = resume.epoch;
    firstStep = resume.stepInEpoch;
    epochLosses = [...resume.epochLosses];
    opt.state = { step: resume.adamStep, m: resume.adamM.map((a) => a.slice()), v: resume.adamV.map((a) => a.slice()) };
  }

  /** The batch of (epoch, step): seeded order and augmentation, normalised. */
  let orderOf = { epoch: -1, order: [] as number[] };
  const batchOf = (ep: number, step: number): Tensor => {
    if (orderOf.epoch !== ep) orderOf = { epoch: ep, order: epochOrder(images.length, record.seed, ep) };
    const { order } = orderOf;
    const rng = streamRandom(record.seed, ep, step);
    return toBatch(
      order.slice(step * B, (step + 1) * B).map((i) => {
        let img = images[i]!;
        if (record.augment === 'texture') {
          img = augmentTexture(img, rng);
          if (img.width !== config.width || img.height !== config.height) img = resizeImage(img, config.height, config.width);
        }
        return normalizeImage(img);
      }),
      config.height,
      config.width,
    );
  };

  // Checkpoints are written only of states whose own loss (the next step's) was judged healthy
  // (src/train/divergence.ts): a checkpoint that falls due is written one step late, or at the
  // first healthy state after it. The newest healthy state is kept in memory, and written when
  // the run diverges, so that the model file holds the last state from before the divergence.
  const watch = new DivergenceWatch(epochLosses);
  const keeper = new StateKeeper(model, opt, record);
  let healthy: KeptState | undefined; // the newest state judged healthy
  let writtenId = 0; // the kept state this run wrote last (KeptState.id)
  let due = false; // a checkpoint fell due and waits for a healthy state
  const save = (state: KeptState): void => {
    checkpoints.save(keeper.toSaved(state));
    writtenId = state.id;
    // At an epoch boundary (step 0) the checkpoint closes epoch ep; otherwise it is inside epoch ep + 1.
    onProgress?.({
      kind: 'checkpoint',
      epoch: state.stepInEpoch === 0 ? state.epoch : state.epoch + 1,
      epochs: record.epochs,
      step: state.stepInEpoch,
      stepsPerEpoch,
      message: checkpoints.name,
    });
  };
  /** Judges `state` by its loss: written when due and healthy; a divergence writes the last healthy state and stops. */
  const judge = (state: KeptState, loss: number, where: string, norm?: number): void => {
    const verdict: Verdict = norm === undefined || Number.isFinite(norm) ? watch.judge(loss) : { kind: 'diverged', reason: `loss ${fmt(loss)}` };
    if (verdict.kind === 'diverged') {
      if (healthy && healthy.id !== writtenId) save(healthy);
      throw divergedError(where, verdict.reason, norm, healthy, record, checkpoints.name);
    }
    if (verdict.kind === 'healthy') {
      healthy = state;
      if (due) {
        save(state);
        due = false;
      }
    } else if (due) {
      onProgress?.({
        kind: 'note',
        epoch: state.epoch + 1,
        epochs: record.epochs,
        step: state.stepInEpoch,
        stepsPerEpoch,
        message: `loss ${fmt(loss)} is ${fmt(verdict.ratio)} times the median of the recent steps: the checkpoint waits for a healthy step`,
      });
    }
  };

  const started = Date.now();
  let stepsThisRun = 0;
  onProgress?.({ kind: 'start', epoch: epoch + 1, epochs: record.epochs, step: firstStep, stepsPerEpoch });
  for (; epoch < record.epochs; epoch++, firstStep = 0, epochLosses = []) {
    for (let step = firstStep; step < stepsPerEpoch; step++) {
      if (input.stopAfterSteps !== undefined && stepsThisRun >= input.stopAfterSteps) {
        const state = keeper.capture(epoch, step, epochLosses, healthy);
        judge(state, lossOnly(model, batchOf(epoch, step)), `epoch ${epoch + 1}, step ${step + 1}`);
        if (writtenId !== state.id) save(state);
        return { model, record, finished: false };
      }
      const t0 = Date.now();
      const state = keeper.capture(epoch, step, epochLosses, healthy); // the weights this step starts from, judged by its loss
      const { loss, norm } = trainStep(model, opt, batchOf(epoch, step), record.saveMemory);
      judge(state, loss, `epoch ${epoch + 1}, step ${step + 1}`, norm);
      epochLosses.push(loss);
      record.steps++;
      stepsThisRun++;
      const elapsed = (Date.now() - started) / 1000;
      const remainingSteps = (record.epochs - epoch - 1) * stepsPerEpoch + (stepsPerEpoch - step - 1);
      onProgress?.({
        kind: 'step',
        epoch: epoch + 1,
        epochs: record.epochs,
        step: step + 1,
        stepsPerEpoch,
        loss,
        imagesPerSecond: (B * 1000) / Math.max(1, Date.now() - t0),
        secondsLeft: (elapsed / stepsThisRun) * remainingSteps,
      });
      if (record.checkpointEvery > 0 && record.steps % record.checkpointEvery === 0 && step + 1 < stepsPerEpoch) due = true;
      await yieldToEventLoop(); // let signals, timers and progress bars run
    }
    const mean = epochLosses.reduce((a, b) => a + b, 0) / Math.max(1, epochLosses.length);
    record.lossPerEpoch.push(mean);
    record.epochsDone = epoch + 1;
    onProgress?.({ kind: 'epoch', epoch: epoch + 1, epochs: record.epochs, step: stepsPerEpoch, stepsPerEpoch, loss: mean });
    due = true;
  }
  if (due) {
    // The last state has no step of its own: its loss on the batch that would come next judges it.
    const last = keeper.capture(epoch, 0, [], healthy);
    judge(last, lossOnly(model, batchOf(epoch, 0)), `the end of epoch ${epoch}`);
    if (writtenId !== last.id) save(last);
  }
  return { model, record, finished: true };
}

/**
 * The divergence message: where, why, which state the model file holds and the command that
 * continues from it with a lower learning rate.
 */
function divergedError(
  where: string,
  reason: string,
  norm: number | undefined,
  healthy: KeptState | undefined,
  record: TrainingRecord,
  file: string,
): PyramidFlowError {
  const why = `${reason}${norm !== undefined ? `; gradient norm ${fmt(norm)}` : ''}`;
  if (!healthy) {
    return new PyramidFlowError(
      `training diverged at ${where} (${why}) before any healthy step of this run: the model it started from gives this loss already, ` +
        `so ${file} is left as it was; check the training images, or train a new model (without --resume) with a lower --lr`,
      'E_DIVERGED',
    );
  }
  const { epoch, stepInEpoch } = healthy;
  const lr = suggestedLr(record.lr);
  return new PyramidFlowError(
    `training diverged at ${where} (${why}); the last good checkpoint, ${describePosition(epoch, stepInEpoch)}, is kept in ${file}. ` +
      `Continue from it with a lower learning rate: ${resumeCommand({ data: record.data, category: record.category, out: file, lr })}`,
    'E_DIVERGED',
  );
}
