/**
 * What every job processor of a worker gets: the folders jobs are confined to, the kernel threads,
 * the Redis connection settings and a log. Apart from worker.ts so that processors (train-job.ts,
 * predict-job.ts) can import it without an import cycle.
 */
import type { RedisOptions } from 'ioredis';

/** The settings a worker hands to each queue's processor. */
export interface WorkerContext {
  /** Absolute, real path of `--data-root`: a job's data paths are relative to it and stay inside it. */
  dataRoot: string;
  /** Absolute, real path of `--store`: the model store (one `CATEGORY.pflow` per category). */
  store: string;
  /** Kernel threads (`--threads`); undefined: all cores. */
  threads?: number;
  /** The ioredis options of the worker's connection (maxRetriesPerRequest: null). */
  connection: RedisOptions;
  /** The lock duration of this worker's jobs, in milliseconds. */
  lockDurationMs: number;
  /** One line of the worker's log (job started, checkpoint, finished, failed). */
  log: (line: string) => void;
  /** Registers clean-up (a processor's own Redis client, say) for when the worker closes. */
  onClose: (cleanup: () => Promise<void> | void) => void;
}
