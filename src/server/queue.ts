/**
 * A bounded work queue: at most `concurrency` tasks run at once, at most `maxQueue` wait, and
 * anything past that is refused at once (the caller answers 503) instead of piling up memory.
 */
import { HttpError } from './errors.js';

export class BoundedQueue {
  private running = 0;
  private readonly waiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  // Exponentially weighted mean task time, to tell refused clients when to come back.
  private meanSeconds = 1;

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be an integer >= 0, got ${maxQueue}`);
  }

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Seconds until a slot is likely free: the work ahead divided among the slots, at least 1. */
  retryAfterSeconds(): number {
    const ahead = this.running + this.waiters.length;
    return Math.max(1, Math.ceil((this.meanSeconds * ahead) / this.concurrency));
  }

  /**
   * Runs `task` when a slot is free. Rejects with a 503 HttpError when the queue is full, and
   * drops the waiting task when `signal` aborts (the client went away) before it started.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiters.length >= this.maxQueue) {
        const retry = this.retryAfterSeconds();
        throw new HttpError(503, 'E_BUSY', `the server is busy (${this.running} running, ${this.waiters.length} waiting); retry in ${retry} s`, {
          'retry-after': String(retry),
        });
      }
      await new Promise<void>((resolve, reject) => {
        const waiter = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new HttpError(499, 'E_CLIENT_GONE', 'the client closed the connection while waiting'));
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(waiter);
      });
    } else {
      this.running++;
    }
    // The slot was handed over by finish() (running stays counted) or taken above.
    const t0 = performance.now();
    try {
      return await task();
    } finally {
      this.meanSeconds = 0.8 * this.meanSeconds + 0.2 * ((performance.now() - t0) / 1000);
      this.finish();
    }
  }

  /** Resolves when nothing runs or waits (for a graceful shutdown). */
  onIdle(): Promise<void> {
    if (this.running === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private finish(): void {
    const next = this.waiters.shift();
    if (next) {
      next(); // hand the slot over without releasing it
      return;
    }
    this.running--;
    if (this.running === 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of idle) resolve();
    }
  }
}
