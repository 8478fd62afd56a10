/**
 * Many categories on one machine: `train --categories a,b|all --out-dir DIR` trains one model per
 * category (DIR/CATEGORY.pflow), one after another, resumable as a whole; `test --categories
 * --model-dir DIR` tests each and gives the mean over the categories, as papers report MVTec AD.
 * A category that fails is a failed result, and the others still run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricSet, TestOptions, TestResult, Thresholds, TrainOptions, TrainProgress, TrainSummary } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { checkOutputFile } from '../util/output-file.js';
import { listCategories } from '../data/datasets.js';
import { readModelFile } from './model-files.js';
import { train } from './train.js';
import { isModelFileHead } from '../flow/model-file.js';
import { test } from './evaluate.js';
import { optionError } from './options.js';
import { checkApiOptions } from './option-values.js';

/** What `trainCategories` trains: the options of `train`, with categories and a folder instead of one category and one file. */
export interface TrainCategoriesOptions extends Omit<TrainOptions, 'out' | 'category'> {
  /** The categories to train (folder names under `data`), or 'all': every category folder the layout finds. */
  categories: readonly string[] | 'all';
  /** Folder of the model files, one `CATEGORY.pflow` per category (created when missing). */
  outDir: string;
}

/** A progress event of one category's training, with the category it belongs to. */
export interface CategoryTrainProgress extends TrainProgress {
  /** The category being trained. */
  category: string;
  /** Its 1-based position among the categories of the run. */
  index: number;
  /** The number of categories of the run. */
  count: number;
}

/** How one category's training ended. */
export type CategoryStatus = 'trained' | 'resumed' | 'skipped' | 'failed';

/** One category's outcome in `trainCategories`. */
export interface CategoryTrainResult {
  /** The category. */
  category: string;
  /** Its model file (DIR/CATEGORY.pflow). */
  modelFile: string;
  /** 'trained' (a new model), 'resumed' (continued from its checkpoint), 'skipped' (its model was finished already), 'failed'. */
  status: CategoryStatus;
  /** Good images trained on (not for a failed category). */
  trainImages?: number;
  /** Optimisation steps in all. */
  steps?: number;
  /** Seconds of training: this run's for a trained or resumed category, the recorded training time of a skipped one. */
  seconds?: number;
  /** Mean loss of the last epoch. */
  finalLoss?: number;
  /** The model's thresholds. */
  thresholds?: Thresholds;
  /** The summary of `train` (trained and resumed categories). */
  summary?: TrainSummary;
  /** Why it failed (failed categories only). */
  error?: {
    /** The error's code (E_DATA, E_USAGE, ...). */
    code: string;
    /** One line. */
    message: string;
  };
}

/** What `trainCategories` did. */
export interface TrainCategoriesResult {
  /** The folder of the model files. */
  outDir: string;
  /** One result per category, in the order trained. */
  categories: CategoryTrainResult[];
  /** Number of failed categories. */
  failed: number;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
}

/** What `testCategories` tests: the options of `test`, with categories and a folder of model files. */
export interface TestCategoriesOptions extends Omit<TestOptions, 'model' | 'category' | 'report'> {
  /** The categories to test, or 'all': every category folder of `data`. */
  categories: readonly string[] | 'all';
  /** Folder of the model files, `CATEGORY.pflow` each (what `trainCategories` writes). */
  modelDir: string;
  /** Folder of the HTML reports: one per category, in DIR/CATEGORY/index.html. */
  report?: string;
}

/** One category's outcome in `testCategories`: its result, or why it has none. */
export interface CategoryTestResult {
  /** The category. */
  category: string;
  /** The model file tested (DIR/CATEGORY.pflow). */
  model: string;
  /** 'tested', or 'failed' (no model file, unreadable data, ...). */
  status: 'tested' | 'failed';
  /** The result of `test` (tested categories). */
  result?: TestResult;
  /** Why it failed (failed categories only). */
  error?: {
    /** The error's code (E_MODEL_FILE, ...). */
    code: string;
    /** One line. */
    message: string;
  };
}

/** The mean over the tested categories of each overall metric (the figure papers report for MVTec AD). */
export interface CategoryMean {
  /** Number of categories averaged (the tested ones). */
  categories: number;
  /** Test images of those categories in all. */
  images: number;
  /** Mean image AUROC. */
  image_auroc: number;
  /** Mean pixel AUROC. */
  pixel_auroc: number;
  /** Mean AUPRO. */
  aupro: number;
  /** Mean of the official code's PRO. */
  pro_full: number;
  /** Mean image F1-max. */
  image_f1_max: number;
  /** Mean pixel F1-max. */
  pixel_f1_max: number;
}

/** What `testCategories` measured. */
export interface TestCategoriesResult {
  /** The folder of the model files. */
  modelDir: string;
  /** One result per category, in the order given (or found, for 'all'). */
  categories: CategoryTestResult[];
  /** The arithmetic mean of the tested categories' overall metrics. */
  mean: CategoryMean;
  /** Number of failed categories. */
  failed: number;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
}

/** The model file of a category in a folder of models. */
export function categoryModelFile(dir: string, category: string): string {
  return join(dir, `${category}.pflow`);
}

/**
 * The categories to work on: 'all' (every category folder of the layout), or the names given,
 * each of which must be a category folder of `data`. Checked before any work.
 */
export function resolveCategories(data: string, categories: readonly string[] | 'all', format?: TrainOptions['format']): string[] {
  const list = categories === 'all' ? ['all'] : [...categories];
  if (list.length === 0) throw optionError('--categories needs at least one name (or all)');
  if (format === 'folder') throw optionError('--categories needs the MVTec or BTAD layout (ROOT/CATEGORY/...); the folder layout is one category: use --out');
  const found = listCategories(data, format);
  if (list.length === 1 && list[0]!.toLowerCase() === 'all') {
    if (found.length === 0) throw new PyramidFlowError(`${data}: no categories found`, 'E_DATA');
    return found;
  }
  if (list.some((c) => c.toLowerCase() === 'all')) throw optionError('--categories: all stands alone (got all with names)');
  const twice = list.filter((c, i) => list.indexOf(c) !== i);
  if (twice.length > 0) throw optionError(`--categories: ${twice[0]} is given twice`);
  const unknown = list.filter((c) => !found.includes(c));
  if (unknown.length > 0) {
    throw optionError(`--categories: no category ${unknown.join(', ')} in ${data} (categories found: ${found.join(', ') || 'none'})`);
  }
  return list;
}

const errorOf = (err: unknown): { code: string; message: string } => ({
  code: err instanceof PyramidFlowError ? err.code : 'E_FAILED',
  message: err instanceof Error ? err.message : String(err),
});

/** Whether a model file is finished (not a checkpoint); undefined when it is not there. */
function finishedModel(file: string): ReturnType<typeof readModelFile> | undefined {
  if (!existsSync(file)) return undefined;
  const saved = readModelFile(file);
  return saved.resume ? undefined : saved;
}

/**
 * Trains one model per category into `outDir` (CATEGORY.pflow), one after another, with the
 * options of `train` for each. Every output is checked before any work, by `train`'s rule: an
 * existing model file is refused unless `resume` or `force`. With `resume`, a category whose
 * model is finished is skipped (a 'note' event says so), one with a checkpoint continues from
 * it, the others are trained. A category that fails (too few images, ...) is a 'failed' result;
 * the others still run. Progress events carry their category.
 */
export async function trainCategories(opts: TrainCategoriesOptions, onProgress?: (p: CategoryTrainProgress) => void): Promise<TrainCategoriesResult> {
  const t0 = Date.now();
  const { categories: wanted, outDir, ...rest } = opts as TrainCategoriesOptions & { out?: string; category?: string };
  if (wanted === undefined) throw optionError('--out-dir needs --categories (names, comma-separated, or all)');
  if (outDir === undefined) {
    throw optionError(`--categories writes one model file per category: give --out-dir DIR${rest.out !== undefined ? ' instead of --out' : ''}`);
  }
  if (rest.out !== undefined) throw optionError('--out and --out-dir: give one (--out-dir DIR with --categories writes DIR/CATEGORY.pflow)');
  if (rest.category !== undefined) throw optionError('--category and --categories: give one');
  if (rest.from !== undefined) throw optionError('--from and --categories: give one (--from trains one model further)');
  const categories = resolveCategories(opts.data, wanted, opts.format);
  const base: TrainOptions = { ...rest, out: categoryModelFile(outDir, categories[0]!) };
  checkApiOptions('train', { ...base, categories: [...categories], outDir }); // the table's types and ranges, before any work

  // The outputs, checked before the first category: train's rule for each file.
  const existing: string[] = [];
  for (const category of categories) {
    const file = categoryModelFile(outDir, category);
    if (checkOutputFile(file, { kind: 'pyramidflow model file', recognise: isModelFileHead, force: true })) existing.push(file);
  }
  if (existing.length > 0 && opts.force !== true && opts.resume !== true) {
    throw new PyramidFlowError(
      `${existing.join(', ')} exist${existing.length === 1 ? 's' : ''} (pyramidflow model files); give --resume to skip finished models and continue the others, --force to replace them, or choose another --out-dir`,
      'E_OUTPUT',
    );
  }

  const results: CategoryTrainResult[] = [];
  const count = categories.length;
  for (const [i, category] of categories.entries()) {
    const index = i + 1;
    const modelFile = categoryModelFile(outDir, category);
    const emit = (p: TrainProgress): void => onProgress?.({ ...p, category, index, count });
    try {
      const finished = opts.resume === true ? finishedModel(modelFile) : undefined;
      if (finished) {
        const t = finished.training;
        emit({ kind: 'note', epoch: 0, epochs: t.epochs, step: 0, stepsPerEpoch: 0, message: `${modelFile} is finished (${t.epochsDone} epochs): skipped` });
        results.push({
          category,
          modelFile,
          status: 'skipped',
          trainImages: t.trainFiles.length,
          steps: t.steps,
          seconds: t.seconds,
          finalLoss: t.lossPerEpoch.at(-1),
          ...(finished.thresholds ? { thresholds: finished.thresholds } : {}),
        });
        continue;
      }
      const resuming = opts.resume === true && existsSync(modelFile);
      const summary = await train({ ...rest, category, out: modelFile }, emit);
      results.push({
        category,
        modelFile,
        status: resuming ? 'resumed' : 'trained',
        trainImages: summary.trainImages,
        steps: summary.steps,
        seconds: summary.seconds,
        finalLoss: summary.lossPerEpoch.at(-1),
        thresholds: summary.thresholds,
        summary,
      });
    } catch (err) {
      const error = errorOf(err);
      emit({ kind: 'note', epoch: 0, epochs: 0, step: 0, stepsPerEpoch: 0, message: `failed: ${error.message}` });
      results.push({ category, modelFile, status: 'failed', error });
    }
  }
  return { outDir, categories: results, failed: results.filter((r) => r.status === 'failed').length, seconds: (Date.now() - t0) / 1000 };
}

const MEAN_KEYS = ['image_auroc', 'pixel_auroc', 'aupro', 'pro_full', 'image_f1_max', 'pixel_f1_max'] as const;

/** The arithmetic mean of the overall metrics of the tested categories (NaN when none was tested). */
export function categoryMean(results: readonly CategoryTestResult[]): CategoryMean {
  const sets: MetricSet[] = results.flatMap((r) => (r.result ? [r.result.overall] : []));
  const mean = (key: (typeof MEAN_KEYS)[number]): number => (sets.length === 0 ? NaN : sets.reduce((s, m) => s + m[key], 0) / sets.length);
  return {
    categories: sets.length,
    images: sets.reduce((s, m) => s + m.images, 0),
    image_auroc: mean('image_auroc'),
    pixel_auroc: mean('pixel_auroc'),
    aupro: mean('aupro'),
    pro_full: mean('pro_full'),
    image_f1_max: mean('image_f1_max'),
    pixel_f1_max: mean('pixel_f1_max'),
  };
}

/**
 * Tests the model of each category (`modelDir`/CATEGORY.pflow) on its test images, one after
 * another, with the options of `test`; with `report`, one report per category in
 * `report`/CATEGORY/. A category without a model file, or whose test fails, is a 'failed'
 * result; the others still run. `onResult` hears of each category as it is done.
 */
export async function testCategories(
  opts: TestCategoriesOptions,
  onResult?: (r: CategoryTestResult, index: number, count: number) => void,
): Promise<TestCategoriesResult> {
  const t0 = Date.now();
  const { categories: wanted, modelDir, report, ...rest } = opts as TestCategoriesOptions & { model?: string; category?: string };
  if (wanted === undefined) throw optionError('--model-dir needs --categories (names, comma-separated, or all)');
  if (modelDir === undefined) {
    throw optionError(`--categories tests one model file per category: give --model-dir DIR${rest.model !== undefined ? ' instead of --model' : ''}`);
  }
  if (rest.model !== undefined) throw optionError('--model and --model-dir: give one (--model-dir DIR with --categories reads DIR/CATEGORY.pflow)');
  if (rest.category !== undefined) throw optionError('--category and --categories: give one');
  const categories = resolveCategories(opts.data, wanted, opts.format);
  checkApiOptions('test', { ...rest, model: categoryModelFile(modelDir, categories[0]!), categories: [...categories], modelDir, report });

  const results: CategoryTestResult[] = [];
  for (const [i, category] of categories.entries()) {
    const model = categoryModelFile(modelDir, category);
    let r: CategoryTestResult;
    try {
      if (!existsSync(model)) throw new PyramidFlowError(`${model}: no model file for ${category}`, 'E_MODEL_FILE');
      const result = await test({ ...rest, model, category, ...(report !== undefined ? { report: join(report, category) } : {}) });
      r = { category, model, status: 'tested', result };
    } catch (err) {
      r = { category, model, status: 'failed', error: errorOf(err) };
    }
    results.push(r);
    onResult?.(r, i + 1, categories.length);
  }
  return {
    modelDir,
    categories: results,
    mean: categoryMean(results),
    failed: results.filter((r) => r.status === 'failed').length,
    seconds: (Date.now() - t0) / 1000,
  };
}
