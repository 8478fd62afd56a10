/**
 * Many categories on the command line (`train --categories --out-dir`, `test --categories
 * --model-dir`): their options, and the tables and JSON objects of their results.
 */
import type {
  CategoryTestResult,
  CategoryTrainResult,
  TestCategoriesOptions,
  TestCategoriesResult,
  TrainCategoriesOptions,
  TrainCategoriesResult,
} from '../api/categories.js';
import type { OptionValue } from '../api/options.js';
import { nestOptions } from '../api/option-values.js';
import { formatDuration, formatNumber, formatPercent, formatTable } from './format.js';
import { commandValues, type CliValues, type FileValues } from './options.js';

/** The flags that make a `train` or `test` run one of many categories. */
const MANY = { train: 'outDir', test: 'modelDir' } as const;
/** The option that names the single model instead, required only without them. */
const SINGLE = { train: 'out', test: 'model' } as const;

/**
 * The values of `train` or `test` as the option table's checks give them, when the run is one of
 * many categories (`--categories`, `--out-dir` / `--model-dir` given, on the command line or in
 * the config file); undefined for a run of one model. The single model's file (`--out`, `--model`)
 * is not required then: trainCategories / testCategories refuse it with the flag that replaces it.
 */
export function manyCategoryValues(command: 'train' | 'test', cli: CliValues, file?: FileValues): Record<string, OptionValue> | undefined {
  const given = (name: string): boolean => cli[name] !== undefined || file?.values[name] !== undefined;
  if (!given('categories') && !given(MANY[command])) return undefined;
  return commandValues(command, cli, file, SINGLE[command]);
}

/** `--categories all` as the library takes it. */
function categoriesOf(values: Record<string, OptionValue>): string[] | 'all' | undefined {
  const c = values.categories as string[] | undefined;
  return c?.length === 1 && c[0]!.toLowerCase() === 'all' ? 'all' : c;
}

/** The library's options of `train --categories`. */
export function toTrainCategoriesOptions(values: Record<string, OptionValue>): TrainCategoriesOptions {
  return { ...nestOptions('train', values), categories: categoriesOf(values) } as unknown as TrainCategoriesOptions;
}

/** The library's options of `test --categories`; without a report nobody looks at the gallery. */
export function toTestCategoriesOptions(values: Record<string, OptionValue>): TestCategoriesOptions {
  const opts = { ...nestOptions('test', values), categories: categoriesOf(values) } as unknown as TestCategoriesOptions;
  if (opts.galleryCount === undefined && opts.report === undefined) opts.galleryCount = 0;
  return opts;
}

const TRAIN_HEADERS = ['category', 'status', 'images', 'steps', 'time', 'final loss', 'image thr', 'pixel thr'];

function trainRow(r: CategoryTrainResult): Array<string | number> {
  if (r.status === 'failed') return [r.category, 'failed', '-', '-', '-', '-', '-', '-'];
  return [
    r.category,
    r.status,
    r.trainImages ?? '-',
    r.steps ?? '-',
    formatDuration(r.seconds),
    formatNumber(r.finalLoss),
    formatNumber(r.thresholds?.image),
    formatNumber(r.thresholds?.pixel),
  ];
}

/** The summary table of `train --categories`, the failures below it. */
export function formatTrainCategories(s: TrainCategoriesResult): string {
  const count = (status: string): number => s.categories.filter((r) => r.status === status).length;
  const done = ['trained', 'resumed', 'skipped', 'failed'].filter((st) => count(st) > 0).map((st) => `${count(st)} ${st}`);
  return [
    `${s.categories.length} categories in ${formatDuration(s.seconds)}: ${done.join(', ')}; models in ${s.outDir}`,
    '',
    formatTable(TRAIN_HEADERS, s.categories.map(trainRow), ['left', 'left']),
    ...s.categories.filter((r) => r.error).map((r) => `failed: ${r.category}: ${r.error!.message}`),
  ].join('\n');
}

/** The --json object of one category of `train --categories`. */
export function trainCategoryJson(r: CategoryTrainResult): Record<string, unknown> {
  return { kind: 'category', ...r };
}

/** The closing --json object of `train --categories`. */
export function trainCategoriesJson(s: TrainCategoriesResult): Record<string, unknown> {
  const count = (status: string): number => s.categories.filter((r) => r.status === status).length;
  return {
    kind: 'summary',
    outDir: s.outDir,
    categories: s.categories.length,
    trained: count('trained'),
    resumed: count('resumed'),
    skipped: count('skipped'),
    failed: s.failed,
    seconds: s.seconds,
  };
}

const TEST_HEADERS = ['category', 'images', 'image AUROC', 'pixel AUROC', 'AUPRO', 'PRO full', 'image F1', 'pixel F1'];

function testRow(name: string, m: Record<string, number | string | undefined>): Array<string | number> {
  const pct = (key: string): string => (typeof m[key] === 'number' ? formatPercent(m[key] as number) : '-');
  return [name, m.images ?? '-', pct('image_auroc'), pct('pixel_auroc'), pct('aupro'), pct('pro_full'), pct('image_f1_max'), pct('pixel_f1_max')];
}

/** The line of one tested category while the run goes on. */
export function testCategoryLine(r: CategoryTestResult, index: number, count: number): string {
  const at = `[${index}/${count} ${r.category}]`;
  if (!r.result) return `${at} failed: ${r.error?.message ?? 'unknown error'}`;
  const m = r.result.overall;
  return `${at} image AUROC ${formatPercent(m.image_auroc)}, pixel AUROC ${formatPercent(m.pixel_auroc)}, AUPRO ${formatPercent(m.aupro)} (${m.images} images, ${r.result.seconds.toFixed(1)}s)`;
}

/** The table of `test --categories`: one row per category and the mean, the failures and reports below it. */
export function formatTestCategories(s: TestCategoriesResult): string {
  const rows = s.categories.map((r) =>
    r.result ? testRow(r.category, r.result.overall as unknown as Record<string, number>) : testRow(r.category, { images: 'failed' }),
  );
  rows.push(testRow(`mean (${s.mean.categories})`, s.mean as unknown as Record<string, number>));
  const tested = s.categories.length - s.failed;
  return [
    `${s.categories.length} categories in ${formatDuration(s.seconds)} (${s.modelDir})${s.failed ? `: ${s.failed} failed, the mean is of the ${tested} tested` : ''}`,
    '',
    formatTable(TEST_HEADERS, rows),
    '(percent; the mean row is the arithmetic mean of the category rows, as papers report MVTec AD)',
    ...s.categories.filter((r) => r.error).map((r) => `failed: ${r.category}: ${r.error!.message}`),
    ...s.categories.filter((r) => r.result?.reportFile).map((r) => `report: ${r.category}: ${r.result!.reportFile}`),
  ].join('\n');
}

/** The closing --json object of `test --categories`: the mean. */
export function testCategoriesJson(s: TestCategoriesResult): Record<string, unknown> {
  return { kind: 'mean', modelDir: s.modelDir, ...s.mean, failed: s.failed, seconds: s.seconds };
}
