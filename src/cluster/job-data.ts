/**
 * A training job's data in the queue, and its check. A job is untrusted input, as a command line
 * is: its paths are relative to the worker's `--data-root` and must stay inside it, its category
 * names a file of the store, and its options are the `train` options of the option table,
 * checked as the library checks them. A job that fails the check fails with one line; the worker
 * goes on.
 */
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { checkOptionValue } from '../api/option-values.js';
import { optionSpec, type OptionValue } from '../api/options.js';
import { PyramidFlowError } from '../util/errors.js';

/** The version of the job data this build writes and reads. */
export const TRAIN_JOB_VERSION = 1;

/** `train` options a job may not give: the worker decides where data and models are, and its threads. */
export const JOB_EXCLUDED_OPTIONS = ['data', 'category', 'categories', 'out', 'outDir', 'resume', 'force', 'from', 'threads', 'config', 'json'] as const;

/** One worker's run of a job (a job killed and taken over has several). */
export interface JobRun {
  /** The kernel backend, e.g. 'wasm-relaxed-simd x2' or 'wasm-simd x2': bit-identical weights need the same build. */
  kernels: string;
  /** Whether the relaxed-SIMD build ran (else plain SIMD, or the JS reference). */
  relaxedSimd: boolean;
  /** Kernel threads. */
  threads: number;
  /** The worker's host name and process id. */
  worker: string;
  /** When this run started (ISO time). */
  startedAt: string;
  /** Whether it continued from a checkpoint. */
  resumed: boolean;
  /** The optimiser steps the checkpoint it continued from had done (0 for a fresh start). */
  fromStep: number;
}

/** What `submit train` puts in the queue for one category. */
export interface TrainJobData {
  /** {@link TRAIN_JOB_VERSION}. */
  version: number;
  /** The category: the data set's category folder (MVTec, BTAD) and the store's model name. */
  category: string;
  /** The data set root, relative to the worker's `--data-root`. */
  data: string;
  /** The `train` options, by option name (not those of {@link JOB_EXCLUDED_OPTIONS}). */
  options: Record<string, OptionValue>;
  /** Replace the store's model even if a later generation was written while this job ran. */
  force: boolean;
  /** When it was submitted (ISO time). */
  submittedAt: string;
  /** Set by the first worker: the store's generation of this category when the job started. */
  startedFromGeneration?: number;
  /** Set by the workers: each run of the job. */
  runs?: JobRun[];
}

/** A job's data after the check: absolute paths inside the data root. */
export interface CheckedTrainJob {
  /** The category (a safe file name). */
  category: string;
  /** The data set root, absolute, inside the data root. */
  data: string;
  /** The checked `train` options (path options absolute, inside the data root). */
  options: Record<string, OptionValue>;
  /** See {@link TrainJobData.force}. */
  force: boolean;
}

/** A category is a file name in the store: letters, digits, `.`, `_`, `-`, not starting with a dot. */
const CATEGORY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether `name` can be a category (and so a store file name). */
export function isCategoryName(name: string): boolean {
  return CATEGORY_NAME.test(name) && !name.endsWith('.json') && !name.endsWith('.lock');
}

/** Whether `path` is `root` or inside it. */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * A relative path of a job, made absolute from `base` (default `root`); refused when it is
 * absolute or leaves `root`, by its text or (when it exists) by a symbolic link.
 */
export function confinedPath(root: string, path: string, what: string, base = root): string {
  if (isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path)) throw new PyramidFlowError(`${what} ${path}: must be relative to the worker's --data-root`);
  const full = resolve(base, path);
  if (!inside(root, full)) throw new PyramidFlowError(`${what} ${path}: leaves the worker's --data-root`);
  if (existsSync(full) && !inside(root, realpathSync(full)))
    throw new PyramidFlowError(`${what} ${path}: leaves the worker's --data-root (by a symbolic link)`);
  return full;
}

/**
 * Checks a job's data (it comes from Redis: anything may be there) and resolves its paths under
 * `dataRoot` (absolute and real). Throws a PyramidFlowError naming the field at fault.
 */
export function checkTrainJob(data: unknown, dataRoot: string): CheckedTrainJob {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new PyramidFlowError('the job data is not an object');
  const d = data as Record<string, unknown>;
  if (d.version !== TRAIN_JOB_VERSION)
    throw new PyramidFlowError(`the job data has version ${JSON.stringify(d.version)}; this worker reads version ${TRAIN_JOB_VERSION}`);
  if (typeof d.category !== 'string' || !isCategoryName(d.category)) {
    throw new PyramidFlowError(`category ${JSON.stringify(d.category)} is not a category name (letters, digits, . _ -)`);
  }
  if (typeof d.data !== 'string' || d.data === '') throw new PyramidFlowError("data: a path relative to the worker's --data-root is required");
  if (d.force !== undefined && typeof d.force !== 'boolean') throw new PyramidFlowError('force: must be true or false');
  const root = confinedPath(dataRoot, d.data, 'data');
  const raw = d.options ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PyramidFlowError('options: must be an object of train options');
  const options: Record<string, OptionValue> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const spec = optionSpec('train', key);
    if (!spec || spec.cliOnly) throw new PyramidFlowError(`options.${key}: not an option of train`);
    if ((JOB_EXCLUDED_OPTIONS as readonly string[]).includes(spec.name))
      throw new PyramidFlowError(`options.${key}: a job cannot set it (the worker decides it)`);
    const checked = checkOptionValue(spec, value, `options.${key}`);
    // Folder-layout folders are relative to the data set root (train's rule); they too stay inside.
    if (spec.kind === 'path' && typeof checked === 'string') {
      // Relative to the data set's folder, as train takes them; inside the data root all the same.
      options[spec.name] = confinedPath(dataRoot, checked, `options.${key}`, root);
    } else options[spec.name] = checked;
  }
  return { category: d.category, data: root, options, force: d.force === true };
}
