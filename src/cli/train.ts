/** `pyramidflow train`: options -> TrainOptions -> api.train, with progress. */
import type { Command } from 'commander';
import type { AugmentMode, DatasetFormat, Downsample, TrainOptions, TrainSummary, VolumeNorm } from '../api/types.js';
import type { CliContext } from './context.js';
import { formatDuration, formatNumber, formatRate, jsonLine } from './format.js';
import { definedOnly, parseChoice, parseInteger, parseIntegerOrAuto, parseNumber, requireText } from './options.js';
import { TrainProgressPrinter } from './progress.js';

export const FORMATS: readonly DatasetFormat[] = ['mvtec', 'btad', 'folder'];
const VOLUME_NORMS: readonly (VolumeNorm | 'auto')[] = ['cvn', 'svn', 'auto'];
const DOWNSAMPLES: readonly Downsample[] = ['maxpool', 'nearest'];
const AUGMENTS: readonly AugmentMode[] = ['texture', 'none', 'auto'];

/** The option values as commander hands them over (strings, flags as booleans). */
export interface TrainCliOptions {
  data?: string;
  category?: string;
  format?: string;
  out?: string;
  size?: string;
  height?: string;
  width?: string;
  channels?: string;
  kernel?: string;
  levels?: string;
  stack?: string;
  volumeNorm?: string;
  downsample?: string;
  batch?: string;
  epochs?: string;
  lr?: string;
  seed?: string;
  threads?: string;
  saveMemory?: boolean;
  augment?: string;
  holdout?: string;
  fpr?: string;
  pixelFpr?: string;
  checkpointEvery?: string;
  resume?: boolean;
  from?: string;
  maxImages?: string;
  json?: boolean;
}

/** The false-positive targets, or undefined when neither was given. */
export function toFprTargets(fpr: string | undefined, pixelFpr: string | undefined): TrainOptions['fpr'] {
  const targets = definedOnly({
    image: parseNumber('--fpr', fpr, { above: 0, below: 1 }),
    pixel: parseNumber('--pixel-fpr', pixelFpr, { above: 0, below: 1 }),
  });
  return Object.keys(targets).length > 0 ? targets : undefined;
}

export function toTrainOptions(cli: TrainCliOptions): TrainOptions {
  return definedOnly<TrainOptions>({
    data: requireText('--data', cli.data),
    category: cli.category,
    format: parseChoice('--format', cli.format, FORMATS),
    out: requireText('--out', cli.out),
    size: parseInteger('--size', cli.size, { min: 1 }),
    height: parseInteger('--height', cli.height, { min: 1 }),
    width: parseInteger('--width', cli.width, { min: 1 }),
    channels: parseInteger('--channels', cli.channels, { min: 1 }),
    kernel: parseInteger('--kernel', cli.kernel, { min: 1 }),
    levels: parseIntegerOrAuto('--levels', cli.levels, { min: 2 }),
    stacks: parseInteger('--stack', cli.stack, { min: 1 }),
    volumeNorm: parseChoice('--volume-norm', cli.volumeNorm, VOLUME_NORMS),
    downsample: parseChoice('--downsample', cli.downsample, DOWNSAMPLES),
    batch: parseInteger('--batch', cli.batch, { min: 2 }),
    epochs: parseInteger('--epochs', cli.epochs, { min: 0 }),
    lr: parseNumber('--lr', cli.lr, { above: 0 }),
    seed: parseInteger('--seed', cli.seed, { min: 0 }),
    threads: parseInteger('--threads', cli.threads, { min: 1 }),
    saveMemory: cli.saveMemory,
    augment: parseChoice('--augment', cli.augment, AUGMENTS),
    holdout: parseNumber('--holdout', cli.holdout, { min: 0, below: 1 }),
    fpr: toFprTargets(cli.fpr, cli.pixelFpr),
    checkpointEvery: parseInteger('--checkpoint-every', cli.checkpointEvery, { min: 0 }),
    resume: cli.resume,
    from: cli.from,
    maxImages: parseInteger('--max-images', cli.maxImages, { min: 1 }),
  });
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
  program
    .command('train')
    .description('train a model from scratch on good images')
    .requiredOption('--data <root>', 'data set root folder')
    .option('--category <name>', 'MVTec/BTAD category (optional for --format folder)')
    .option('--format <format>', `data set layout: ${FORMATS.join('|')} (default: detected)`)
    .requiredOption('--out <model-file>', 'model file to write')
    .option('--size <px>', 'square input size (default 256)')
    .option('--height <px>', 'input height (instead of --size)')
    .option('--width <px>', 'input width (instead of --size)')
    .option('--channels <n>', 'channels C (default 16)')
    .option('--kernel <k>', 'odd convolution kernel size (default 7)')
    .option('--levels <n|auto>', 'pyramid levels L >= 2 (default 4)')
    .option('--stack <n>', 'stacked flow blocks S (default 4)')
    .option('--volume-norm <cvn|svn|auto>', 'volume normalisation (default auto)')
    .option('--downsample <maxpool|nearest>', 'pyramid downsampling (default maxpool, as the official code)')
    .option('--batch <n>', 'batch size >= 2 (default 2)')
    .option('--epochs <n>', 'epochs (default 15; 0 = the untrained flow, a baseline)')
    .option('--lr <rate>', 'learning rate (default 2e-4)')
    .option('--seed <n>', 'random seed (default 0)')
    .option('--threads <n>', 'kernel threads (default: all cores)')
    .option('--save-memory', 'recompute activations to save memory (default: on above 256x256)')
    .option('--no-save-memory', 'keep activations (faster, more memory)')
    .option('--augment <texture|none|auto>', 'augmentation (default auto)')
    .option('--holdout <share>', 'share of good images kept to set thresholds (default 0.1)')
    .option('--fpr <rate>', 'image false-positive rate for the threshold (default 0.01)')
    .option('--pixel-fpr <rate>', 'pixel false-positive rate for the threshold (default 0.001)')
    .option('--checkpoint-every <steps>', 'also checkpoint every N steps (default 0: each epoch only)')
    .option('--resume', 'continue from the model file or its checkpoint')
    .option('--from <model-file>', 'start from this model\'s weights (to train it further, or on other images), its configuration, a fresh optimizer')
    .option('--max-images <n>', 'use at most N training images (quick runs)')
    .option('--json', 'one JSON object per progress event and for the summary')
    .addHelpText(
      'after',
      `
Examples:
  $ pyramidflow train --data ./mvtec --category carpet --out carpet.pflow
  $ pyramidflow train --data ./my-parts --format folder --size 512 --epochs 20 --out parts.pflow
  $ pyramidflow train --data ./my-parts --format folder --from parts.pflow --epochs 5 --out parts-more.pflow`,
    )
    .action(async (cli: TrainCliOptions) => {
      const opts = toTrainOptions(cli);
      const printer = new TrainProgressPrinter(ctx.stdout, ctx.stderr, cli.json === true);
      let summary: TrainSummary;
      try {
        summary = await ctx.api.train(opts, (p) => printer.handle(p));
      } finally {
        printer.finish();
      }
      ctx.stdout.write(cli.json ? jsonLine({ kind: 'summary', ...summary }) : `${formatTrainSummary(summary)}\n`);
    });
}
