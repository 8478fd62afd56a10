/** `pyramidflow train`: options (the option table's, a config file's) -> TrainOptions -> api.train, with progress. */
import type { Command } from 'commander';
import type { TrainOptions, TrainSummary } from '../api/types.js';
import type { CliContext } from './context.js';
import { readConfigFile } from './config-file.js';
import { formatDuration, formatNumber, formatRate, jsonLine } from './format.js';
import { addOptions, commandOptions, wantsJson, type CliValues, type FileValues } from './options.js';
import { TrainProgressPrinter } from './progress.js';

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
  $ pyramidflow train --data ./my-parts --format folder --out parts.pflow --resume --epochs 30`,
    )
    .action(async (cli: TrainCliOptions) => {
      const file = await readConfigFile('train', cli);
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
