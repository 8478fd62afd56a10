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

/** What a batch did for one of its items: its value, or the error that is that item's alone. */
export type ItemOutcome<O> =
  | {
      /** The item's result. */
      value: O;
      /** Absent: the item succeeded. */
      error?: undefined;
    }
  | {
      /** Absent: the item failed. */
      value?: undefined;
      /** Why this item failed. */
      error: unknown;
    };

/**
 * The longest a batch waits to fill up: for requests the server has received but not yet queued
 * (their body still being read or checked), and for the clients of the last batch of its key
 * when they were more than wait now (answered a moment ago, they are sending their next image).
 */
export const GATHER_MS = 20;

/**
 * How recently a client (a kept-alive connection) must have been answered for a forming batch
 * to expect its next request (at most GATHER_MS): one answered longer ago is not sending at once.
 */
export const RETURN_MS = 100;

/**
 * Where an item came from, when known: one client connection (a kept-alive socket) that sends
 * its next request after its answer. Only its identity and its 'close' event are used.
 */
export interface ItemSource {
  once(event: 'close', listener: () => void): unknown;
}

interface PendingItem<I, O> {
  key: string;
  item: I;
  source?: ItemSource;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * Batches over a BoundedQueue. Each item still takes its own place in the queue (its 503 when
 * the queue is full, its 499 when its client goes away while waiting), but the first of them to
 * get a slot also takes up to `maxBatch(key) - 1` other items of the same key that are already
 * waiting, and `runBatch` does them together; their own turns then find nothing left to do.
 * Before a batch starts it waits (at most GATHER_MS) for items on their way (see `arrive`), and
 * for the clients it expects: items given with their {@link ItemSource} (their connection, as the
 * server's are) expect the clients of the key answered in the last RETURN_MS and not back yet;
 * items without one, as many as the key had at once the last time. So a lone client's requests
 * never wait (latency as without batches), while 4 clients make batches of 4, not 2 and 2 in
 * turn. Closed-loop clients answered together come back a little apart; a batch that went
 * without a late one would put the clients out of step, and the last batch's size alone would
 * then keep them so (batches of 1, 2, 3 in turn, as measured); their connections bring them
 * back into step. With `maxBatch` 1 every item runs alone at once, as `queue.run` would run it.
 */
export class BatchingQueue<I, O> {
  private readonly pending: Array<PendingItem<I, O>> = [];
  private arrivingCount = 0;
  private onChange: Array<() => void> = [];
  /**
   * Per key: the items of its last batch and those that waited behind it (how many clients it has
   * at once), counting only items given without their source; those with one are expected back
   * by their connections (`answered`), which also follows clients out of step.
   */
  private readonly demand = new Map<string, number>();
  /** Sources answered (item settled) and not yet back with another item: their key and when. */
  private readonly answered = new Map<ItemSource, { key: string; at: number }>();
  /** Sources whose 'close' is listened to (once each). */
  private readonly watched = new WeakSet<ItemSource>();

  constructor(
    /** The slots and the back-pressure. */
    readonly queue: BoundedQueue,
    /** The most items one batch of a key may hold (at least 1). */
    private readonly maxBatch: (key: string) => number,
    /** Does the items of one key; one outcome per item, in order. A throw fails every item of the batch. */
    private readonly runBatch: (key: string, items: I[]) => Promise<Array<ItemOutcome<O>>>,
  ) {}

  /**
   * Notes an item on its way (a request whose body is being read and checked): a batch that
   * forms meanwhile waits for it, at most {@link GATHER_MS}. Call the function returned when the
   * item is given to {@link run} or will not be (an error); a second call does nothing.
   */
  arrive(source?: ItemSource): () => void {
    if (source) this.answered.delete(source); // back already
    this.arrivingCount++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.arrivingCount--;
      this.changed();
    };
  }

  /** Items waiting for a batch (not yet taken by one). */
  get waiting(): number {
    return this.pending.length;
  }

  /**
   * Runs `item` in a batch of items of the same `key`. Rejects as `BoundedQueue.run` does while
   * the item waits (503 when the queue is full, 499 when `signal` aborts); once a batch has taken
   * the item, it settles with the batch, without waiting for its own turn in the queue.
   */
  run(key: string, item: I, signal?: AbortSignal, source?: ItemSource): Promise<O> {
    let entry!: PendingItem<I, O>;
    const result = new Promise<O>((resolve, reject) => {
      const settled = (): void => {
        if (!source || Math.floor(this.maxBatch(key)) <= 1) return; // only a forming batch looks for returning clients
        this.answered.set(source, { key, at: performance.now() });
        if (!this.watched.has(source)) {
          this.watched.add(source);
          source.once('close', () => {
            if (this.answered.delete(source)) this.changed(); // gone: a batch need not wait for it
          });
        }
      };
      entry = {
        key,
        item,
        source,
        resolve: (value) => {
          settled();
          resolve(value);
        },
        reject: (error) => {
          settled();
          reject(error);
        },
      };
    });
    if (source) this.answered.delete(source);
    this.pending.push(entry);
    this.changed();
    this.queue
      .run(() => this.runFrom(entry), signal)
      .catch((err: unknown) => {
        // refused, or the client left while waiting: the item leaves unless a batch took it
        const i = this.pending.indexOf(entry);
        if (i < 0) return;
        this.pending.splice(i, 1);
        entry.reject(err);
      });
    return result;
  }

  /** A slot's work: the item's batch, unless an earlier batch took the item already. */
  private async runFrom(own: PendingItem<I, O>): Promise<void> {
    if (!this.pending.includes(own)) return;
    const limit = Math.max(1, Math.floor(this.maxBatch(own.key)));
    if (limit > 1) await this.gather(own.key, limit);
    if (!this.pending.includes(own)) return; // another slot's batch took it meanwhile
    const same = this.pending.filter((p) => p !== own && p.key === own.key);
    const batch = [own, ...same.slice(0, limit - 1)];
    for (const p of batch) this.pending.splice(this.pending.indexOf(p), 1);
    this.demand.set(own.key, [own, ...same].filter((p) => !p.source).length);
    let outcomes: Array<ItemOutcome<O>>;
    try {
      outcomes = await this.runBatch(
        own.key,
        batch.map((p) => p.item),
      );
      if (outcomes.length !== batch.length) throw new Error(`a batch of ${batch.length} items gave ${outcomes.length} outcomes`);
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, k) => {
      const outcome = outcomes[k]!;
      if (outcome.error === undefined) p.resolve(outcome.value as O);
      else p.reject(outcome.error);
    });
  }

  /**
   * Waits, at most GATHER_MS, while the batch of `key` is not full and items are on their way,
   * or fewer wait than the key's last demand, or clients of the key answered in the last
   * RETURN_MS have not come back yet.
   */
  private async gather(key: string, limit: number): Promise<void> {
    const now = performance.now();
    const deadline = now + GATHER_MS;
    const expected = Math.min(limit, this.demand.get(key) ?? 0);
    const count = (): number => this.pending.filter((p) => p.key === key).length;
    for (const [source, a] of this.answered) if (a.at < now - RETURN_MS) this.answered.delete(source); // not coming back at once
    // clients of this key answered a moment ago whose next item is not here yet (they leave `answered` when it comes)
    const returning = (): boolean => {
      for (const [source, a] of this.answered) if (a.key === key && !this.pending.some((p) => p.source === source)) return true;
      return false;
    };
    while (count() < limit && (this.arrivingCount > 0 || count() < expected || returning())) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.onChange = this.onChange.filter((f) => f !== done);
          resolve();
        }, left);
        this.onChange.push(done);
      });
    }
  }

  private changed(): void {
    const waiting = this.onChange;
    this.onChange = [];
    for (const f of waiting) f();
  }
}
