/**
 * `pyramidflow worker`: runs jobs from the BullMQ queues on Redis, one BullMQ Worker per queue
 * (`--queues train,predict`); any number of workers on any number of machines share them.
 */
import { realpathSync, statSync } from 'node:fs';
import { type ConnectionOptions, type Processor, Worker } from 'bullmq';
import { PyramidFlowError } from '../util/errors.js';
import { checkRedis, QUEUE_NAMES, type QueueKind, redactedUrl, redisErrorMessage, redisOptions } from './connection.js';
import type { WorkerContext } from './context.js';
import { autoLockMs, BULLMQ_DEFAULT_LOCK_MS } from './lock-time.js';
import { createTrainProcessor } from './train-job.js';
import { createPredictProcessor } from './predict-job.js';

/** How to start a worker. */
export interface WorkerOptions {
  /** redis:// or rediss:// URL of the queues' server. */
  redis: string;
  /** The Redis password (else the URL's, else PYRAMIDFLOW_REDIS_PASSWORD). */
  password?: string;
  /** The queues to take jobs from (default: every queue this build has). */
  queues?: readonly QueueKind[];
  /** Jobs run at once per queue (default 1: training uses every kernel thread). */
  concurrency?: number;
  /** Kernel threads (default: all cores). */
  threads?: number;
  /** The folder jobs' data paths are relative to (default: the current folder). */
  dataRoot?: string;
  /** The model store: a folder, shared by the workers (default: ./models). */
  store?: string;
  /** Job lock in seconds, or 'auto' (default): from the estimated step time, at least BullMQ's 30 s. */
  lockDuration?: number | 'auto';
  /** Seconds between checks for stalled jobs (those of a worker gone; default 30, BullMQ's). */
  stalledInterval?: number;
  /** Where the worker's log lines go (default: stderr). */
  log?: (line: string) => void;
}

/** A started worker. */
export interface RunningWorker {
  /** The queues it takes jobs from. */
  queues: QueueKind[];
  /** Its job lock in milliseconds. */
  lockDurationMs: number;
  /**
   * Stops taking jobs and closes the connections: after the running jobs end, or at once with
   * `force` (a running training job then stalls, and a worker takes it over from its checkpoint).
   */
  close(force?: boolean): Promise<void>;
}

/** The processor of each queue, made from the worker's context. */
const PROCESSORS: Partial<Record<QueueKind, (ctx: WorkerContext) => Processor>> = {
  train: createTrainProcessor,
  predict: createPredictProcessor,
};

/** The queues this build can work on. */
export function availableQueues(): QueueKind[] {
  return (Object.keys(QUEUE_NAMES) as QueueKind[]).filter((q) => PROCESSORS[q] !== undefined);
}

/** A folder the worker needs, made absolute and real (so that a job cannot leave it by a symbolic link). */
function realFolder(flag: string, path: string): string {
  try {
    if (!statSync(path).isDirectory()) throw new PyramidFlowError(`--${flag} ${path}: not a folder`, 'E_USAGE');
    return realpathSync(path);
  } catch (err) {
    if (err instanceof PyramidFlowError) throw err;
    throw new PyramidFlowError(`--${flag} ${path}: no such folder`, 'E_USAGE');
  }
}

/** One line for an error a BullMQ Worker reports: Redis's own in Redis's words, others as they are. */
function describeError(url: string, err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (/^E(CONN|NOTFOUND|AI_AGAIN|TIMEDOUT|PIPE|HOSTUNREACH)/.test(code) || /NOAUTH|WRONGPASS|ECONNREFUSED|Connection is closed/.test(text))
    return redisErrorMessage(url, err);
  return text.split('\n')[0]!;
}

/** Connects to Redis and starts one BullMQ Worker per queue; resolves once they are running. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const queues = [...new Set(options.queues ?? availableQueues())];
  if (queues.length === 0) throw new PyramidFlowError('--queues: give at least one queue (train, predict)', 'E_USAGE');
  for (const q of queues) {
    if (!(q in QUEUE_NAMES)) throw new PyramidFlowError(`--queues: unknown queue ${q} (train, predict)`, 'E_USAGE');
    if (!PROCESSORS[q]) throw new PyramidFlowError(`--queues: the ${q} queue is not available in this build`, 'E_USAGE');
  }
  const dataRoot = realFolder('data-root', options.dataRoot ?? '.');
  const store = realFolder('store', options.store ?? 'models');
  const threads = options.threads;
  const lockDurationMs =
    options.lockDuration === undefined || options.lockDuration === 'auto'
      ? autoLockMs(threads ?? (await import('node:os')).availableParallelism())
      : Math.round(options.lockDuration * 1000);
  const stalledIntervalMs = Math.round((options.stalledInterval ?? BULLMQ_DEFAULT_LOCK_MS / 1000) * 1000);
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const redisOpts = { ...(options.password !== undefined ? { password: options.password } : {}), worker: true };
  await checkRedis(options.redis, redisOpts);
  const connection = redisOptions(options.redis, redisOpts);
  const cleanups: (() => Promise<void> | void)[] = [];
  const ctx: WorkerContext = {
    dataRoot,
    store,
    ...(threads !== undefined ? { threads } : {}),
    connection,
    lockDurationMs,
    log,
    onClose: (cleanup) => void cleanups.push(cleanup),
  };

  const workers: Worker[] = [];
  for (const q of queues) {
    const worker = new Worker(QUEUE_NAMES[q], PROCESSORS[q]!(ctx), {
      connection: connection as ConnectionOptions,
      concurrency: options.concurrency ?? 1,
      lockDuration: lockDurationMs,
      stalledInterval: stalledIntervalMs,
      // A job whose worker died goes back to the queue (and resumes from its checkpoint) twice
      // before it fails as stalled: a machine lost, then a Redis restart, is not yet a failure.
      maxStalledCount: 2,
      autorun: false,
    });
    // Connection trouble is logged, not thrown: ioredis reconnects, and the worker goes on.
    worker.on('error', (err) => log(`worker ${q}: ${describeError(options.redis, err)}`));
    worker.on('failed', (job, err) => log(`job ${q}/${job?.id ?? '?'} failed: ${err.message.split('\n')[0]}`));
    // A prediction is one image of many a second: only its failures are worth a line.
    if (q !== 'predict') worker.on('completed', (job) => log(`job ${q}/${job.id} done`));
    workers.push(worker);
  }
  for (const worker of workers) void worker.run().catch((err: unknown) => log(`worker: ${describeError(options.redis, err)}`));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  log(`worker: queues ${queues.join(',')} on ${redactedUrl(options.redis)}, data root ${dataRoot}, store ${store}, lock ${lockDurationMs / 1000} s`);
  return {
    queues,
    lockDurationMs,
    async close(force = false) {
      await Promise.all(workers.map((w) => w.close(force)));
      for (const cleanup of cleanups.splice(0)) await cleanup();
    },
  };
}
