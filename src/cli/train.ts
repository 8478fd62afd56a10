/** `pyramidflow train`: options (the option table's, a config file's) -> TrainOptions -> api.train, with progress. */
import type { Command } from 'commander';
import type { TrainOptions, TrainSummary } from '../api/types.js';
import type { TrainCategoriesResult } from '../api/categories.js';
import type { OptionValue } from '../api/options.js';
import type { CliContext } from './context.js';
import { readConfigFile } from './config-file.js';
import { formatDuration, formatNumber, formatRate, jsonLine } from './format.js';
import { addOptions, commandOptions, wantsJson, type CliValues, type FileValues } from './options.js';
import { TrainProgressPrinter } from './progress.js';
import { formatTrainCategories, manyCategoryValues, toTrainCategoriesOptions, trainCategoriesJson, trainCategoryJson } from './summary.js';

/** The option values as commander hands them over (strings, switches as booleans), by attribute. */
export type TrainCliOptions = CliValues;

/** The command line's (and a config file's) options as the library's TrainOptions: only what was given. */
export function toTrainOptions(cli: TrainCliOptions, file?: FileValues): TrainOptions {
  return commandOptions<TrainOptions>('train', cli, file);
}

export function formatTrainSummary(s: TrainSummary): string {
  const c = s.config;
  const t = s.thresholds;
  const lines = [
    `model written to ${s.modelFile}`,
    `  network     ${c.width}x${c.height}, ${c.levels} levels, ${c.stacks} stacks, ${c.channels} channels, kernel ${c.kernel}, ${c.volumeNorm}, ${c.downsample}`,
    `  training    ${s.epochs} epochs, ${s.steps} steps, ${s.trainImages} images in ${formatDuration(s.seconds)}; final loss ${formatNumber(s.lossPerEpoch.at(-1))}`,
    `  thresholds  image ${formatNumber(t.image)} (${formatRate(t.imageFpr)} false alarms), pixel ${formatNumber(t.pixel)} (${formatRate(t.pixelFpr)} of good pixels), from ${t.images} ${t.source} images (${s.holdoutImages} held out)`,
  ];
  if (t.note) lines.push(`  note        ${t.note}`);
  for (const note of s.notes) lines.push(`  note        ${note}`);
  return lines.join('\n');
}

export function registerTrain(program: Command, ctx: CliContext): void {
  const cmd = program.command('train').description('train a model from scratch on good images');
  addOptions(cmd, 'train')
    .addHelpText(
      'after',
      `
Examples:
  $ pyramidflow train --data ./mvtec --category carpet --out carpet.pflow
  $ pyramidflow train --data ./my-parts --format folder --size 512 --epochs 20 --out parts.pflow
  $ pyramidflow train --data ./my-parts --format folder --from parts.pflow --epochs 5 --out parts-more.pflow
  $ pyramidflow info --config parts.pflow > parts.yaml && pyramidflow train --config parts.yaml --out parts-again.pflow
  $ pyramidflow train --data ./my-parts --format folder --out parts.pflow --resume --epochs 30
  $ pyramidflow train --data ./mvtec --categories all --out-dir ./models            (then --resume after a stop)`,
    )
    .action(async (cli: TrainCliOptions) => {
      const file = await readConfigFile('train', cli);
      const many = manyCategoryValues('train', cli, file);
      if (many) {
        await trainManyCategories(ctx, many, wantsJson(cli, file));
        return;
      }
      const opts = toTrainOptions(cli, file);
      const json = wantsJson(cli, file);
      const printer = new TrainProgressPrinter(ctx.stdout, ctx.stderr, json);
      let summary: TrainSummary;
      try {
        summary = await ctx.api.train(opts, (p) => printer.handle(p));
      } finally {
        printer.finish();
      }
      ctx.stdout.write(json ? jsonLine({ kind: 'summary', ...summary }) : `${formatTrainSummary(summary)}\n`);
    });
}

/** `train --categories --out-dir`: one model per category, one progress view, a summary table; exit code 1 if any failed. */
async function trainManyCategories(ctx: CliContext, values: Record<string, OptionValue>, json: boolean): Promise<void> {
  const opts = toTrainCategoriesOptions(values);
  const { trainCategories } = await import('../api/categories.js');
  const printer = new TrainProgressPrinter(ctx.stdout, ctx.stderr, json);
  let result: TrainCategoriesResult;
  try {
    result = await trainCategories(opts, (p) => {
      printer.prefix = `[${p.index}/${p.count} ${p.category}] `;
      printer.handle(p);
    });
  } finally {
    printer.finish();
  }
  if (json) {
    for (const r of result.categories) ctx.stdout.write(jsonLine(trainCategoryJson(r)));
    ctx.stdout.write(jsonLine(trainCategoriesJson(result)));
  } else {
    ctx.stdout.write(`${formatTrainCategories(result)}\n`);
  }
  if (result.failed > 0) ctx.exitCode = 1;
}
