/** `pyramidflow test`: evaluate a model on a labelled test set, optionally write the report. */
import type { Command } from 'commander';
import type { MetricSet, TestOptions, TestResult } from '../api/types.js';
import type { CategoryTestResult } from '../api/categories.js';
import type { OptionValue } from '../api/options.js';
import type { CliContext } from './context.js';
import { readConfigFile } from './config-file.js';
import { formatCount, formatNumber, formatPercent, formatRate, formatSigned, formatTable, jsonLine } from './format.js';
import { addOptions, commandOptions, wantsJson, type CliValues, type FileValues } from './options.js';
import { formatTestCategories, manyCategoryValues, testCategoriesJson, testCategoryLine, toTestCategoriesOptions } from './summary.js';

export type TestCliOptions = CliValues;

export function toTestOptions(cli: TestCliOptions, file?: FileValues): TestOptions {
  const opts = commandOptions<TestOptions>('test', cli, file);
  // Without a report nobody looks at the gallery: keep no pictures in memory.
  if (opts.galleryCount === undefined && opts.report === undefined) opts.galleryCount = 0;
  return opts;
}

const METRIC_HEADERS = ['type', 'images', 'image AUROC', 'pixel AUROC', 'AUPRO', 'PRO full', 'image F1', 'pixel F1'];

function metricRow(name: string, m: MetricSet): Array<string | number> {
  return [
    name,
    m.images,
    formatPercent(m.image_auroc),
    formatPercent(m.pixel_auroc),
    formatPercent(m.aupro),
    formatPercent(m.pro_full),
    formatPercent(m.image_f1_max),
    formatPercent(m.pixel_f1_max),
  ];
}

export function formatTestResult(r: TestResult): string {
  const types = Object.keys(r.perType).sort();
  const table = formatTable(METRIC_HEADERS, [metricRow('overall', r.overall), ...types.map((t) => metricRow(t, r.perType[t]))]);
  const t = r.thresholds;
  const c = r.confusion;
  return [
    `${r.category}: ${r.overall.images} test images in ${r.seconds.toFixed(1)}s (${r.model})`,
    '',
    table,
    `(percent; AUPRO up to FPR ${r.overall.aupro_fpr_limit}; "PRO full" is the official code's full-range variant)`,
    '',
    `At the calibrated thresholds (image ${formatNumber(t.image)}, pixel ${formatNumber(t.pixel)}; ${t.images} ${t.source} images):`,
    `  good images rejected  ${formatCount(c.goodRejected, c.goodImages)}   (target ${formatRate(t.imageFpr)})`,
    `  defect images missed  ${formatCount(c.defectsMissed, c.defectImages)}`,
    `  gap to F1-max         image ${formatSigned(r.thresholdGap.image)} (best ${formatNumber(r.overall.image_f1_threshold)}), pixel ${formatSigned(r.thresholdGap.pixel)} (best ${formatNumber(r.overall.pixel_f1_threshold)})`,
    ...(t.note ? [`  note                  ${t.note}`] : []),
    ...(r.notes ?? []).map((n) => `note: ${n}`),
  ].join('\n');
}

/** The --json object: overall metrics at the top level, per defect type under per_type. */
export function testResultJson(r: TestResult, reportFile = r.reportFile): Record<string, unknown> {
  return {
    category: r.category,
    model: r.model,
    ...r.overall,
    seconds: r.seconds,
    per_type: r.perType,
    thresholds: r.thresholds,
    confusion: r.confusion,
    threshold_gap: r.thresholdGap,
    ...(reportFile ? { report: reportFile } : {}),
    ...(r.notes?.length ? { notes: r.notes } : {}),
  };
}

export function registerTest(program: Command, ctx: CliContext): void {
  const cmd = program.command('test').description('evaluate a model on a test set (AUROC, AUPRO, F1) and optionally write an HTML report');
  addOptions(cmd, 'test')
    .addHelpText(
      'after',
      `
Example:
  $ pyramidflow test --model carpet.pflow --data ./mvtec --category carpet --report ./carpet-report
  $ pyramidflow test --model-dir ./models --data ./mvtec --categories all      (one row per category and the mean;
                                                                               --report DIR: DIR/CATEGORY/index.html)`,
    )
    .action(async (cli: TestCliOptions) => {
      const file = await readConfigFile('test', cli);
      const many = manyCategoryValues('test', cli, file);
      if (many) {
        await testManyCategories(ctx, many, wantsJson(cli, file));
        return;
      }
      const opts = toTestOptions(cli, file);
      const result = await ctx.api.test(opts); // writes the report too, with --report
      const reportFile = result.reportFile;
      if (wantsJson(cli, file)) {
        ctx.stdout.write(jsonLine(testResultJson(result)));
        return;
      }
      ctx.stdout.write(`${formatTestResult(result)}\n`);
      if (reportFile) ctx.stdout.write(`\nreport: ${reportFile}\n`);
    });
}

/** The --json object of one category of `test --categories`: the single model's object, or the failure. */
export function testCategoryJson(r: CategoryTestResult): Record<string, unknown> {
  if (r.result) return { kind: 'category', status: r.status, ...testResultJson(r.result) };
  return { kind: 'category', status: r.status, category: r.category, model: r.model, error: r.error };
}

/** `test --categories --model-dir`: a line per category as it is done, then the table and the mean; exit code 1 if any failed. */
async function testManyCategories(ctx: CliContext, values: Record<string, OptionValue>, json: boolean): Promise<void> {
  const opts = toTestCategoriesOptions(values);
  const { testCategories } = await import('../api/categories.js');
  const result = await testCategories(opts, (r, index, count) => {
    if (json) ctx.stdout.write(jsonLine(testCategoryJson(r)));
    else ctx.stderr.write(`${testCategoryLine(r, index, count)}\n`);
  });
  ctx.stdout.write(json ? jsonLine(testCategoriesJson(result)) : `${formatTestCategories(result)}\n`);
  if (result.failed > 0) ctx.exitCode = 1;
}
