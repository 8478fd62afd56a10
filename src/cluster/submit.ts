/**
 * `pyramidflow submit train`: one training job per category in the train queue, with the options
 * of `train`. A job holds paths relative to the workers' `--data-root` only, and is checked here
 * by the same rule the workers apply, so that a mistake is told at once, not by a failed job.
 */
import { existsSync, realpathSync } from 'node:fs';
import { Queue, type ConnectionOptions } from 'bullmq';
import type { OptionValue } from '../api/options.js';
import { listCategories } from '../data/datasets.js';
import { PyramidFlowError } from '../util/errors.js';
import { checkRedis, QUEUE_NAMES, redisOptions } from './connection.js';
import { checkTrainJob, confinedPath, JOB_EXCLUDED_OPTIONS, TRAIN_JOB_VERSION, type TrainJobData } from './job-data.js';

/** What to submit. */
export interface SubmitTrainOptions {
  /** redis:// or rediss:// URL. */
  redis: string;
  /** The Redis password (else the URL's, else PYRAMIDFLOW_REDIS_PASSWORD). */
  password?: string;
  /** The folder `data` is relative to, here (default: the current folder); the workers have their own `--data-root`. */
  dataRoot?: string;
  /** The data set root, relative to the data root. */
  data: string;
  /** One category (MVTec, BTAD), or the folder layout's name for its model. */
  category?: string;
  /** Several categories, or 'all' (the category folders found under `data` here). */
  categories?: readonly string[] | 'all';
  /** The other `train` options, by option name (format, epochs, size, seed, ...). */
  options?: Record<string, OptionValue>;
  /** Store the model even if a later generation is stored while the job runs. */
  force?: boolean;
}

/** One submitted job. */
export interface SubmittedJob {
  /** The BullMQ job id (for `jobs --cancel` / `--retry`). */
  id: string;
  /** Its category. */
  category: string;
}

/** The categories to submit, from the options and (for 'all', or none given) the data set here. */
function categoriesToSubmit(opts: SubmitTrainOptions, localData: string): string[] {
  if (opts.categories !== undefined && opts.category !== undefined) throw new PyramidFlowError('give --category or --categories, not both', 'E_USAGE');
  if (opts.category !== undefined) return [opts.category];
  const here = existsSync(localData);
  const format = opts.options?.format as Parameters<typeof listCategories>[1] | undefined;
  if (opts.categories === undefined || opts.categories === 'all') {
    if (!here)
      throw new PyramidFlowError(
        `--data ${opts.data}: not found under --data-root here, so its categories cannot be listed; name them with --categories`,
        'E_USAGE',
      );
    const found = listCategories(localData, format);
    if (opts.categories === undefined && found.length > 1) {
      throw new PyramidFlowError(
        `--data ${opts.data} holds ${found.length} categories (${found.join(', ')}): give --category NAME, or --categories a,b|all`,
        'E_USAGE',
      );
    }
    return found;
  }
  if (here) {
    const found = new Set(listCategories(localData, format));
    const missing = opts.categories.filter((c) => !found.has(c));
    if (missing.length > 0)
      throw new PyramidFlowError(`--categories: ${missing.join(', ')} not found under ${localData} (there: ${[...found].join(', ')})`, 'E_USAGE');
  }
  return [...new Set(opts.categories)];
}

/** Enqueues one training job per category; resolves with their ids. Nothing is enqueued if any job would be refused. */
export async function submitTrain(opts: SubmitTrainOptions): Promise<SubmittedJob[]> {
  const root = realpathSync(opts.dataRoot ?? '.');
  const options = { ...opts.options };
  for (const name of JOB_EXCLUDED_OPTIONS) delete options[name];
  let localData: string;
  try {
    localData = confinedPath(root, opts.data, '--data');
  } catch (err) {
    throw new PyramidFlowError((err as Error).message, 'E_USAGE');
  }
  const categories = categoriesToSubmit(opts, localData);
  const submittedAt = new Date().toISOString();
  const jobs: TrainJobData[] = categories.map((category) => ({
    version: TRAIN_JOB_VERSION,
    category,
    data: opts.data,
    options,
    force: opts.force === true,
    submittedAt,
  }));
  for (const job of jobs) {
    try {
      checkTrainJob(job, root); // the workers' own check
    } catch (err) {
      throw new PyramidFlowError(`${job.category}: ${(err as Error).message}`, 'E_USAGE');
    }
  }
  const connection = redisOptions(opts.redis, opts.password !== undefined ? { password: opts.password } : {});
  await checkRedis(opts.redis, opts.password !== undefined ? { password: opts.password } : {});
  const queue = new Queue<TrainJobData>(QUEUE_NAMES.train, { connection: connection as ConnectionOptions });
  try {
    const added = await queue.addBulk(jobs.map((data) => ({ name: data.category, data, opts: { attempts: 1 } })));
    return added.map((job, i) => ({ id: job.id!, category: jobs[i]!.category }));
  } finally {
    await queue.close();
  }
}
