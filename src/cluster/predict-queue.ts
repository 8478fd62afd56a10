/**
 * The server's side of the prediction queue: put one image in as a job, wait for its outcome
 * with QueueEvents, give up after a timeout. Back-pressure as on a lone server: when more jobs wait
 * than `maxQueue`, a new one is refused with the seconds to retry after. Every way a job can end
 * without an outcome (a worker that failed, no worker within the timeout, Redis gone) is a
 * PredictQueueError with its own code, never a verdict.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { type ConnectionOptions, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { checkRedis, QUEUE_NAMES, redactedUrl, redisOptions } from './connection.js';
import type { PredictJobData, PredictJobOutcome } from './predict-job.js';
import { PyramidFlowError } from '../util/errors.js';

/** Why a prediction job gave no outcome: E_BUSY (queue full), E_TIMEOUT, E_WORKER_FAILED, E_REDIS, E_CLIENT_GONE. */
export class PredictQueueError extends PyramidFlowError {
  /** A queue-full refusal: seconds until a retry is likely to be taken. */
  readonly retryAfterSeconds?: number;

  /** An error of `code` with a one-line message. */
  constructor(message: string, code: string, retryAfterSeconds?: number) {
    super(message, code);
    this.name = 'PredictQueueError';
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** How the server reaches the queue. */
export interface PredictQueueOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Redis password (else the URL's or the environment's). */
  password?: string;
  /** Jobs waiting before new ones are refused (the server's --max-queue). */
  maxQueue: number;
  /** Milliseconds to wait for an outcome before answering a timeout. */
  timeoutMs: number;
}

/** Queue counts for health checks. */
export interface PredictQueueCounts {
  /** Jobs waiting for a worker. */
  waiting: number;
  /** Jobs a worker is judging. */
  active: number;
}

/** Finished jobs are removed at once (their outcome travels in the completed event); failed ones are kept a while for `pyramidflow jobs`. */
const JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: { age: 3600, count: 100 } } as const;

/** Results travel in the event stream; it need not keep many (each may hold pictures). */
const EVENTS_KEPT = 1000;

/** A connection to the prediction queue that hands images to workers and waits for their outcome. */
export class PredictQueue {
  private readonly queue: Queue<PredictJobData, PredictJobOutcome>;
  /** The queue's connection, owned here: BullMQ cannot end a client that is reconnecting to a Redis gone. */
  private readonly producer: Redis;
  private readonly events: QueueEvents;
  /** The same QueueEvents, for its per-job events (`completed:ID`), which its typed listener map leaves out. */
  private readonly jobEvents: EventEmitter;
  // Exponentially weighted mean seconds per job (from the server's side), to tell refused clients when to come back.
  private meanSeconds = 1;
  private inFlight = 0;

  private constructor(private readonly opts: PredictQueueOptions) {
    // ioredis's options (an interface) are what BullMQ's index-signature type describes; the cast only bridges the two declarations.
    // Without an offline queue a request fails at once while Redis is away (503), instead of waiting for it.
    this.producer = new Redis({ ...redisOptions(opts.url, { password: opts.password }), enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.producer.on('error', () => undefined);
    const listener = redisOptions(opts.url, { password: opts.password, worker: true }) as ConnectionOptions;
    this.queue = new Queue(QUEUE_NAMES.predict, { connection: this.producer as unknown as ConnectionOptions, streams: { events: { maxLen: EVENTS_KEPT } } });
    // Read from the stream's start, not '$': a job queued right after start-up can end before the
    // reader's first read, and '$' would then miss its outcome. Replaying the few kept events
    // (EVENTS_KEPT) is harmless: their job ids are nobody's here.
    this.events = new QueueEvents(QUEUE_NAMES.predict, { connection: listener, lastEventId: '0-0' });
    this.jobEvents = this.events as unknown as EventEmitter;
    // Connection errors surface per request (E_REDIS); the clients reconnect by themselves.
    this.queue.on('error', () => undefined);
    this.events.on('error', () => undefined);
  }

  /** Checks the connection (one clear line when Redis is unreachable) and starts listening for outcomes. */
  static async open(opts: PredictQueueOptions): Promise<PredictQueue> {
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new RangeError(`maxQueue must be an integer >= 0, got ${opts.maxQueue}`);
    if (!(opts.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${opts.timeoutMs}`);
    await checkRedis(opts.url, { password: opts.password });
    const q = new PredictQueue(opts);
    await Promise.all([q.queue.waitUntilReady(), q.events.waitUntilReady()]);
    return q;
  }

  /** Requests of this server waiting for an outcome. */
  get pending(): number {
    return this.inFlight;
  }

  /** Jobs waiting and running in the whole cluster. */
  async counts(): Promise<PredictQueueCounts> {
    const c = await this.queue.getJobCounts('waiting', 'active');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0 };
  }

  /**
   * Puts one job in the queue and resolves with its outcome. Rejects with a PredictQueueError:
   * E_BUSY when more than maxQueue jobs wait, E_TIMEOUT, E_WORKER_FAILED, E_REDIS, or
   * E_CLIENT_GONE when `signal` aborts (the job is then taken out of the queue if no worker has it).
   */
  async predict(data: Omit<PredictJobData, 'deadline'>, signal?: AbortSignal): Promise<PredictJobOutcome> {
    const where = redactedUrl(this.opts.url);
    let waiting: number;
    try {
      waiting = await this.queue.getWaitingCount();
    } catch (err) {
      throw new PredictQueueError(`the prediction queue (Redis at ${where}) is unreachable: ${firstLine(err)}`, 'E_REDIS');
    }
    if (waiting >= this.opts.maxQueue) {
      const workers = await this.queue.getWorkersCount().catch(() => 1);
      const retry = Math.max(1, Math.ceil((this.meanSeconds * (waiting + 1)) / Math.max(1, workers)));
      throw new PredictQueueError(`the cluster is busy (${waiting} jobs waiting for ${workers} worker(s)); retry in ${retry} s`, 'E_BUSY', retry);
    }
    const jobId = randomUUID();
    const t0 = performance.now();
    this.inFlight++;
    try {
      const outcome = await this.waitFor(jobId, { ...data, deadline: Date.now() + this.opts.timeoutMs }, signal);
      this.meanSeconds = 0.8 * this.meanSeconds + 0.2 * ((performance.now() - t0) / 1000);
      return outcome;
    } finally {
      this.inFlight--;
    }
  }

  /** Listens for the job's end before adding it, so that no outcome can arrive unheard. */
  private waitFor(jobId: string, data: PredictJobData, signal?: AbortSignal): Promise<PredictJobOutcome> {
    const seconds = Math.round(this.opts.timeoutMs / 100) / 10;
    return new Promise<PredictJobOutcome>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.jobEvents.off(`completed:${jobId}`, onCompleted);
        this.jobEvents.off(`failed:${jobId}`, onFailed);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onCompleted = (args: { returnvalue: unknown }): void =>
        finish(() => {
          try {
            resolve(parseOutcome(args.returnvalue));
          } catch (err) {
            reject(err);
          }
        });
      const onFailed = (args: { failedReason: string }): void =>
        finish(() => reject(new PredictQueueError(`the worker failed on this image: ${firstLine(args.failedReason)}`, 'E_WORKER_FAILED')));
      const giveUp = (err: PredictQueueError): void =>
        finish(() => {
          void this.queue.remove(jobId).catch(() => undefined); // a worker that holds it finishes for nobody; one that has not yet, never starts
          reject(err);
        });
      const onAbort = (): void => giveUp(new PredictQueueError('the client closed the connection while waiting', 'E_CLIENT_GONE'));
      const timer = setTimeout(
        () => giveUp(new PredictQueueError(`no worker judged the image within ${seconds} s (are workers running on the predict queue?)`, 'E_TIMEOUT')),
        this.opts.timeoutMs,
      );
      this.jobEvents.on(`completed:${jobId}`, onCompleted);
      this.jobEvents.on(`failed:${jobId}`, onFailed);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.add('predict', data, { ...JOB_OPTIONS, jobId }).catch((err: unknown) => {
        finish(() => reject(new PredictQueueError(`cannot queue the image (Redis at ${redactedUrl(this.opts.url)}): ${firstLine(err)}`, 'E_REDIS')));
      });
    });
  }

  /**
   * Stops listening; jobs in flight are left to the workers. With Redis gone a graceful close
   * would wait for it forever: after `graceMs` the connections are cut instead.
   */
  async close(graceMs = 2000): Promise<void> {
    await settleWithin([this.events.close(), this.queue.close()], graceMs);
    this.producer.disconnect(); // also stops its reconnecting
  }
}

/** Waits for the promises to settle, or `ms`, whichever comes first. */
async function settleWithin(promises: Array<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([Promise.allSettled(promises), timeout]);
  clearTimeout(timer);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** The completed event's return value (JSON text or already parsed), checked to be an outcome. */
function parseOutcome(value: unknown): PredictJobOutcome {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      v = undefined;
    }
  }
  const o = v as Partial<PredictJobOutcome> | undefined;
  if (o && o.ok === true && typeof o.result === 'object' && o.result !== null) return o as PredictJobOutcome;
  if (o && o.ok === false && typeof o.error === 'object' && o.error !== null) return o as PredictJobOutcome;
  throw new PredictQueueError('the worker returned no prediction (is it a pyramidflow worker of this version?)', 'E_WORKER_FAILED');
}
