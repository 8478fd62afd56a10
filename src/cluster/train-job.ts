/**
 * The train queue's processor: one job trains one category into the model store. It trains into
 * a checkpoint in the store (`.checkpoints/CATEGORY.JOBID.pflow`), so that a worker that takes
 * over a stalled job (its worker killed, its machine gone) resumes from the last checkpoint with
 * bit-identical results; then it publishes the model as the category's next generation.
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Job, type Processor, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { nestOptions } from '../api/option-values.js';
import { resolveSaveMemory } from '../api/options.js';
import { readModelFile } from '../api/model-files.js';
import { ensureBackend } from '../api/runtime.js';
import { train } from '../api/train.js';
import type { Thresholds, TrainOptions, TrainProgress } from '../api/types.js';
import { resolveConfig } from '../flow/config.js';
import type { SavedModel } from '../flow/saved-model.js';
import { PyramidFlowError } from '../util/errors.js';
import { CANCELLED, cancelRequested } from './cancel.js';
import { QUEUE_NAMES } from './connection.js';
import type { WorkerContext } from './context.js';
import { type CheckedTrainJob, checkTrainJob, type JobRun, type TrainJobData } from './job-data.js';
import { estimateStepSeconds, lockCoversStep } from './lock-time.js';
import { publishModel, readStoreEntry, storePaths } from './store.js';

/** A training job's progress as `jobs` shows it. */
export interface TrainJobProgress {
  /** 'training', or 'publishing' (writing the model to the store). */
  stage: 'training' | 'publishing';
  /** 1-based epoch. */
  epoch: number;
  /** Epochs in all. */
  epochs: number;
  /** Step within the epoch. */
  step: number;
  /** Steps per epoch. */
  stepsPerEpoch: number;
  /** The last step's loss. */
  loss?: number;
  /** Estimated seconds left. */
  secondsLeft?: number;
}

/** What a finished training job returns (BullMQ keeps it as the job's return value). */
export interface TrainJobResult {
  /** The category. */
  category: string;
  /** The model file, relative to the store (`CATEGORY.pflow`). */
  model: string;
  /** Its generation in the store. */
  generation: number;
  /** Good images trained on. */
  images: number;
  /** Good images held out to set the thresholds. */
  holdoutImages: number;
  /** Epochs trained. */
  epochs: number;
  /** Optimiser steps in all. */
  steps: number;
  /** Seconds of training (all runs). */
  seconds: number;
  /** Mean loss of the last epoch. */
  finalLoss: number | null;
  /** The calibrated thresholds. */
  thresholds: Thresholds | null;
  /** The kernel build of each run (bit-identical weights need one build). */
  kernels: string[];
  /** Runs of the job (more than 1: it was taken over and resumed from a checkpoint). */
  runs: number;
}

/** Progress is written to Redis at most this often (ms). */
const PROGRESS_EVERY_MS = 1000;

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** The step shape of a checked job, for the lock check. */
function stepSecondsOf(job: CheckedTrainJob, threads: number): number {
  const opts = nestOptions('train', job.options) as unknown as TrainOptions;
  const config = resolveConfig(opts, job.category);
  return estimateStepSeconds({
    height: config.height,
    width: config.width,
    batch: opts.batch ?? 2,
    channels: config.channels,
    blocks: config.levels * config.stacks,
    saveMemory: resolveSaveMemory(opts.saveMemory, config),
    threads,
  });
}

/** Makes the train queue's processor for a worker. */
export function createTrainProcessor(ctx: WorkerContext): Processor<TrainJobData, TrainJobResult> {
  let client: Redis | undefined;
  const redis = (): Redis => {
    if (!client) {
      client = new Redis({ ...ctx.connection, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined); // the worker's own connection reports trouble
      const own = client;
      ctx.onClose(() => void own.disconnect());
    }
    return client;
  };
  return async (job, _token, signal) => {
    const id = job.id ?? '?';
    const category = typeof job.data?.category === 'string' ? job.data.category : '?';
    const name = `train job ${id} (${category})`;
    try {
      return await runTrainJob(job, id, ctx, redis, signal);
    } catch (err) {
      // A mistake in the job, its data or the store is the job's failure, for good (no retry):
      // one line, and the worker goes on with the next job.
      if (err instanceof PyramidFlowError || err instanceof UnrecoverableError) throw new UnrecoverableError(`${name}: ${errorText(err)}`);
      ctx.log(`${name}: ${err instanceof Error && err.stack ? err.stack : String(err)}`);
      throw new Error(`${name}: ${errorText(err)}`);
    }
  };
}

async function runTrainJob(
  job: Job<TrainJobData, TrainJobResult>,
  id: string,
  ctx: WorkerContext,
  redis: () => Redis,
  signal?: AbortSignal,
): Promise<TrainJobResult> {
  const checked = checkTrainJob(job.data, ctx.dataRoot);
  const queue = QUEUE_NAMES.train;
  // Unreadable (Redis restarting): the steps read it again.
  if (await cancelRequested(redis(), queue, id).catch(() => false)) throw new PyramidFlowError('cancelled before it started', CANCELLED);
  const paths = storePaths(ctx.store, checked.category);
  const checkpoint = paths.checkpoint(id);
  const current = readStoreEntry(ctx.store, checked.category);
  if (current?.jobId === id && !existsSync(checkpoint)) {
    // An earlier run of this job published its model and died before BullMQ heard of it.
    return resultOf(checked.category, readModelFile(paths.model), current.generation, current.kernels, job.data.runs?.length ?? 1);
  }
  const startedFrom = job.data.startedFromGeneration ?? current?.generation ?? 0;
  if (current && current.generation > startedFrom && current.jobId !== id && !checked.force) {
    throw new PyramidFlowError(
      `the store holds generation ${current.generation} of ${checked.category} (job ${current.jobId}); this job started from ${startedFrom}: submit it again, or with --force`,
      'E_GENERATION',
    );
  }

  const kernels = await ensureBackend(ctx.threads);
  const threads = Number(/x(\d+)$/.exec(kernels)?.[1] ?? ctx.threads ?? 1);
  const stepSeconds = stepSecondsOf(checked, threads);
  if (!lockCoversStep(ctx.lockDurationMs, stepSeconds)) {
    throw new PyramidFlowError(
      `a training step may take about ${Math.ceil(stepSeconds)} s here, too long for this worker's job lock of ${ctx.lockDurationMs / 1000} s: ` +
        `start the worker with --lock-duration ${Math.ceil(stepSeconds * 2)} or more`,
    );
  }
  const resumed = existsSync(checkpoint);
  const kept = resumed ? readModelFile(checkpoint) : undefined;
  const run: JobRun = {
    kernels,
    relaxedSimd: kernels.includes('relaxed'),
    threads,
    worker: `${hostname()}:${process.pid}`,
    startedAt: new Date().toISOString(),
    resumed,
    fromStep: kept?.training.steps ?? 0,
  };
  const runs = [...(job.data.runs ?? []), run];
  await job.updateData({ ...job.data, startedFromGeneration: startedFrom, runs });
  ctx.log(`train job ${id} (${checked.category}): ${resumed ? 'resuming from its checkpoint' : 'started'} on ${kernels}`);

  const finished = kept !== undefined && kept.resume === null;
  if (!finished) {
    let lastReport = 0;
    let cancelled = false;
    let checking = false;
    const onProgress = (p: TrainProgress): void => {
      if (cancelled || signal?.aborted) throw new PyramidFlowError('cancelled', CANCELLED);
      const now = Date.now();
      if (p.kind === 'checkpoint') ctx.log(`train job ${id} (${checked.category}): checkpoint at epoch ${p.epoch}, step ${p.step}`);
      if (p.kind !== 'step') return;
      // The cancel flag: one EXISTS per step (a step is far longer), never two at once.
      if (!checking) {
        checking = true;
        void cancelRequested(redis(), queue, id)
          .then((yes) => {
            cancelled ||= yes;
          })
          .catch(() => undefined)
          .finally(() => {
            checking = false;
          });
      }
      if (now - lastReport < PROGRESS_EVERY_MS) return;
      lastReport = now;
      const progress: TrainJobProgress = {
        stage: 'training',
        epoch: p.epoch,
        epochs: p.epochs,
        step: p.step,
        stepsPerEpoch: p.stepsPerEpoch,
        ...(p.loss !== undefined ? { loss: p.loss } : {}),
        ...(p.secondsLeft !== undefined ? { secondsLeft: Math.round(p.secondsLeft) } : {}),
      };
      void job.updateProgress(progress as unknown as object).catch(() => undefined);
    };
    const opts: TrainOptions = {
      ...(nestOptions('train', checked.options) as Partial<TrainOptions>),
      data: checked.data,
      category: checked.category,
      out: checkpoint,
      ...(resumed ? { resume: true } : {}),
      ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}),
    };
    try {
      await train(opts, onProgress);
    } catch (err) {
      if (err instanceof PyramidFlowError && err.code === CANCELLED) {
        throw new PyramidFlowError(`cancelled; its checkpoint is kept in the store: \`jobs --retry ${id}\` continues it`, CANCELLED);
      }
      throw err;
    }
  }

  await job.updateProgress({ stage: 'publishing' });
  const saved = readModelFile(checkpoint);
  const kernelsOfRuns = runs.map((r) => r.kernels);
  const entry = await publishModel(ctx.store, checked.category, {
    bytes: readFileSync(checkpoint),
    jobId: id,
    startedFrom,
    force: checked.force,
    kernels: kernelsOfRuns,
  });
  unlinkSync(checkpoint);
  ctx.log(`train job ${id} (${checked.category}): generation ${entry.generation} written to ${paths.model}`);
  return resultOf(checked.category, saved, entry.generation, kernelsOfRuns, runs.length);
}

function resultOf(category: string, saved: SavedModel, generation: number, kernels: string[], runs: number): TrainJobResult {
  const t = saved.training;
  return {
    category,
    model: `${category}.pflow`,
    generation,
    images: t.trainFiles.length,
    holdoutImages: t.holdoutFiles.length,
    epochs: t.epochsDone,
    steps: t.steps,
    seconds: Math.round(t.seconds * 10) / 10,
    finalLoss: t.lossPerEpoch.at(-1) ?? null,
    thresholds: saved.thresholds,
    kernels,
    runs,
  };
}
