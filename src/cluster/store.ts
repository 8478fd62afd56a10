/**
 * The model store: a folder (a file system the workers share) with one model file per category,
 * `CATEGORY.pflow`, and beside it `CATEGORY.pflow.json`, its generation and the job that wrote it.
 * Each write is atomic (a reader sees the old file or the new); a new generation is compared and
 * written under an exclusive-create lock file, so two jobs of one category cannot both win.
 * Checkpoints of running jobs are in `.checkpoints/CATEGORY.JOBID.pflow`, where any worker can
 * resume them.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import { PyramidFlowError } from '../util/errors.js';

/** What `CATEGORY.pflow.json` says about the model beside it. */
export interface StoreEntry {
  /** The category. */
  category: string;
  /** 1 for the first model of a category, then one more for each model written. */
  generation: number;
  /** The BullMQ job that wrote it. */
  jobId: string;
  /** When it was written (ISO time). */
  writtenAt: string;
  /** The kernel builds its training ran on (one per run of the job). */
  kernels: string[];
}

/** The files of one category in a store. */
export interface StorePaths {
  /** `STORE/CATEGORY.pflow`. */
  model: string;
  /** `STORE/CATEGORY.pflow.json`: its {@link StoreEntry}. */
  entry: string;
  /** `STORE/CATEGORY.pflow.lock`: held while a generation is compared and written. */
  lock: string;
  /** `STORE/.checkpoints/CATEGORY.JOBID.pflow`: a job's checkpoint (and its finished model until published). */
  checkpoint(jobId: string): string;
}

/** The files of `category` in `store`. */
export function storePaths(store: string, category: string): StorePaths {
  const model = join(store, `${category}.pflow`);
  return {
    model,
    entry: `${model}.json`,
    lock: `${model}.lock`,
    checkpoint: (jobId) => join(store, '.checkpoints', `${category}.${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}.pflow`),
  };
}

/** The store's entry of a category, or undefined when it has no model yet. */
export function readStoreEntry(store: string, category: string): StoreEntry | undefined {
  const { entry } = storePaths(store, category);
  if (!existsSync(entry)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(entry, 'utf8'));
  } catch (err) {
    throw new PyramidFlowError(`${entry}: not a readable store entry (${(err as Error).message.split('\n')[0]})`, 'E_STORE');
  }
  const e = parsed as Partial<StoreEntry>;
  if (typeof e !== 'object' || e === null || !Number.isInteger(e.generation) || (e.generation as number) < 1) {
    throw new PyramidFlowError(`${entry}: not a store entry (no generation)`, 'E_STORE');
  }
  return e as StoreEntry;
}

/** A lock older than this is taken to be left by a worker that died holding it (the locked work takes a moment). */
export const STALE_LOCK_MS = 60_000;

/**
 * Runs `fn` holding the category's lock file (created exclusively; removed after). Waits up to
 * `waitMs` for another holder; a lock older than {@link STALE_LOCK_MS} is removed as stale.
 */
export async function withStoreLock<T>(paths: StorePaths, fn: () => T | Promise<T>, waitMs = 30_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  mkdirSync(join(paths.lock, '..'), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(paths.lock, 'wx');
      try {
        writeSync(fd, JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString() }));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new PyramidFlowError(`cannot lock ${paths.lock}: ${(err as Error).message}`, 'E_STORE');
      try {
        if (Date.now() - statSync(paths.lock).mtimeMs > STALE_LOCK_MS) unlinkSync(paths.lock);
      } catch {
        /* removed by its holder meanwhile */
      }
      if (Date.now() > deadline) throw new PyramidFlowError(`${paths.lock}: held by another worker for over ${waitMs / 1000} s`, 'E_STORE');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(paths.lock);
    } catch {
      /* a stale-lock sweep of another worker took it: nothing to undo */
    }
  }
}

/** What {@link publishModel} is given. */
export interface Publication {
  /** The finished model's bytes. */
  bytes: Uint8Array;
  /** The job. */
  jobId: string;
  /** The store's generation when the job started. */
  startedFrom: number;
  /** Write even if the store has a later generation than `startedFrom`. */
  force: boolean;
  /** The kernel builds the training ran on. */
  kernels: string[];
}

/**
 * Writes a finished model as the category's next generation: under the lock, refused when the
 * store holds a later generation than the job started from (unless forced); the model file
 * first, then its entry, each atomically. Returns the new entry.
 */
export async function publishModel(store: string, category: string, p: Publication): Promise<StoreEntry> {
  const paths = storePaths(store, category);
  return withStoreLock(paths, () => {
    const current = readStoreEntry(store, category);
    if (current?.jobId === p.jobId) return current; // published already, by an earlier run of this job
    const now = current?.generation ?? 0;
    if (now > p.startedFrom && !p.force) {
      throw new PyramidFlowError(
        `${paths.model}: the store holds generation ${now} (written by job ${current?.jobId}) but this job started from generation ${p.startedFrom}; ` +
          'submit it again (or with --force to replace the newer model)',
        'E_GENERATION',
      );
    }
    const entry: StoreEntry = { category, generation: now + 1, jobId: p.jobId, writtenAt: new Date().toISOString(), kernels: p.kernels };
    writeFileAtomic(paths.model, p.bytes);
    writeFileAtomic(paths.entry, `${JSON.stringify(entry, null, 2)}\n`);
    return entry;
  });
}
