/**
 * `pyramidflow jobs`: the training jobs in the queue with their state, progress and result; and
 * cancelling or retrying one.
 */
import { type ConnectionOptions, type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PyramidFlowError } from '../util/errors.js';
import { cancelRequested, clearCancel, requestCancel } from './cancel.js';
import { checkRedis, QUEUE_NAMES, redisOptions } from './connection.js';
import type { JobRun, TrainJobData } from './job-data.js';
import type { TrainJobProgress, TrainJobResult } from './train-job.js';

/** How to reach the queues. */
export interface JobsOptions {
  /** redis:// or rediss:// URL. */
  redis: string;
  /** The Redis password (else the URL's, else PYRAMIDFLOW_REDIS_PASSWORD). */
  password?: string;
}

/** The states listed, in the order shown. */
export const JOB_STATES = ['active', 'waiting', 'prioritized', 'delayed', 'failed', 'completed'] as const;

/** A job's state. */
export type JobState = (typeof JOB_STATES)[number];

/** One training job as `jobs` lists it. */
export interface JobRow {
  /** The job id. */
  id: string;
  /** Its category. */
  category: string;
  /** Its state. */
  state: JobState;
  /** Whether `jobs --cancel` asked it to stop (and it has not yet). */
  cancelRequested: boolean;
  /** The last progress a worker reported, if any. */
  progress?: TrainJobProgress;
  /** The result of a completed job. */
  result?: TrainJobResult;
  /** Why a failed job failed (one line). */
  failedReason?: string;
  /** Runs of the job so far, with their kernel builds. */
  runs: JobRun[];
  /** When it was submitted (ISO time). */
  submittedAt: string;
  /** When it finished (ISO time), if it did. */
  finishedAt?: string;
}

async function withQueue<T>(opts: JobsOptions, fn: (queue: Queue, client: Redis) => Promise<T>): Promise<T> {
  const conn = opts.password !== undefined ? { password: opts.password } : {};
  await checkRedis(opts.redis, conn);
  const connection = redisOptions(opts.redis, conn);
  const queue = new Queue(QUEUE_NAMES.train, { connection: connection as ConnectionOptions });
  const client = new Redis({ ...connection, lazyConnect: true });
  try {
    return await fn(queue, client);
  } finally {
    client.disconnect();
    await queue.close();
  }
}

function rowOf(job: Job, state: JobState, cancel: boolean): JobRow {
  const data = (job.data ?? {}) as Partial<TrainJobData>;
  const progress =
    typeof job.progress === 'object' && job.progress !== null && 'stage' in job.progress ? (job.progress as unknown as TrainJobProgress) : undefined;
  return {
    id: job.id ?? '?',
    category: typeof data.category === 'string' ? data.category : job.name,
    state,
    cancelRequested: cancel && (state === 'active' || state === 'waiting' || state === 'prioritized' || state === 'delayed'),
    ...(progress ? { progress } : {}),
    ...(state === 'completed' && job.returnvalue ? { result: job.returnvalue as TrainJobResult } : {}),
    ...(state === 'failed' && job.failedReason ? { failedReason: job.failedReason.split('\n')[0]! } : {}),
    runs: Array.isArray(data.runs) ? data.runs : [],
    submittedAt: new Date(job.timestamp).toISOString(),
    ...(job.finishedOn ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
  };
}

/** The newest `limit` jobs of each state, active ones first. */
export async function listJobs(opts: JobsOptions & { limit?: number }): Promise<JobRow[]> {
  const limit = opts.limit ?? 50;
  return withQueue(opts, async (queue, client) => {
    const rows: JobRow[] = [];
    for (const state of JOB_STATES) {
      const jobs = (await queue.getJobs([state], 0, limit - 1, false)) as Job[];
      for (const job of jobs) {
        if (!job) continue;
        rows.push(rowOf(job, state, await cancelRequested(client, QUEUE_NAMES.train, job.id ?? '')));
      }
    }
    return rows;
  });
}

async function jobOf(queue: Queue, id: string): Promise<{ job: Job; state: string }> {
  const job = (await queue.getJob(id)) as Job | undefined;
  if (!job) throw new PyramidFlowError(`job ${id}: no such job in the train queue`);
  return { job, state: await job.getState() };
}

/**
 * Asks a job to stop: a running one stops after its current step and fails with "cancelled"
 * (its checkpoint is kept, so `retryJob` continues it); a waiting one fails so when a worker takes it.
 */
export async function cancelJob(opts: JobsOptions & { id: string }): Promise<string> {
  return withQueue(opts, async (queue, client) => {
    const { state } = await jobOf(queue, opts.id);
    if (state === 'completed' || state === 'failed')
      throw new PyramidFlowError(`job ${opts.id} has ${state === 'completed' ? 'completed' : 'failed'} already: nothing to cancel`);
    await requestCancel(client, QUEUE_NAMES.train, opts.id);
    return state;
  });
}

/** Runs a failed (or cancelled) job again; a training job resumes from its checkpoint if it has one. */
export async function retryJob(opts: JobsOptions & { id: string }): Promise<void> {
  await withQueue(opts, async (queue, client) => {
    const { job, state } = await jobOf(queue, opts.id);
    if (state !== 'failed')
      throw new PyramidFlowError(
        `job ${opts.id} is ${state}: only a failed or cancelled job can be retried${state === 'completed' ? ' (submit a new one)' : ''}`,
      );
    await clearCancel(client, QUEUE_NAMES.train, opts.id);
    await job.retry('failed');
  });
}
