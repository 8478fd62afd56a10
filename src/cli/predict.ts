/** `pyramidflow predict`: score images, print a verdict table, write pictures. */
import type { Command } from 'commander';
import type { ImagePrediction, PredictOptions } from '../api/types.js';
import type { CliContext } from './context.js';
import { formatNumber, formatTable, jsonLine } from './format.js';
import { definedOnly, parseInteger, parseNumber, requireText, usageError } from './options.js';

export interface PredictCliOptions {
  model?: string;
  out?: string;
  threshold?: string;
  pixelThreshold?: string;
  minArea?: string;
  threads?: string;
  json?: boolean;
}

export function toPredictOptions(inputs: string[], cli: PredictCliOptions): PredictOptions {
  if (inputs.length === 0) throw usageError('give at least one image file or folder');
  return definedOnly<PredictOptions>({
    model: requireText('--model', cli.model),
    inputs,
    out: cli.out,
    threshold: parseNumber('--threshold', cli.threshold),
    pixelThreshold: parseNumber('--pixel-threshold', cli.pixelThreshold),
    minArea: parseInteger('--min-area', cli.minArea, { min: 0 }),
    threads: parseInteger('--threads', cli.threads, { min: 1 }),
  });
}

export function formatPredictions(predictions: ImagePrediction[]): string {
  const rows = predictions.map((p, i) => [
    p.file ?? `image ${i + 1}`,
    formatNumber(p.score),
    p.normalizedScore.toFixed(3),
    p.verdict,
    p.regions.length,
  ]);
  const defects = predictions.filter((p) => p.verdict === 'defect').length;
  return `${formatTable(['file', 'score', 'normalised', 'verdict', 'regions'], rows)}\n${defects} of ${predictions.length} images look defective`;
}

/** The --json object of one image: everything but the map (it is in the pictures). */
export function predictionJson(p: ImagePrediction): Record<string, unknown> {
  const { map: _map, ...rest } = p;
  void _map;
  return rest;
}

export function registerPredict(program: Command, ctx: CliContext): void {
  program
    .command('predict')
    .description('score images or folders of images and mark defect regions')
    .argument('<image-or-folder...>', 'image files (PNG, JPEG, BMP, TIFF) or folders of them')
    .requiredOption('--model <model-file>', 'trained model file')
    .option('--out <dir>', 'write heat map, overlay and outline PNGs per image to DIR')
    .option('--threshold <t>', 'image-score threshold (default: the model\'s calibrated one)')
    .option('--pixel-threshold <p>', 'pixel threshold for regions (default: the model\'s calibrated one)')
    .option('--min-area <pixels>', 'smallest region reported (default 16)')
    .option('--threads <n>', 'kernel threads (default: all cores)')
    .option('--json', 'one JSON object per image')
    .addHelpText(
      'after',
      `
Example:
  $ pyramidflow predict --model carpet.pflow ./new-photos --out ./predictions`,
    )
    .action(async (inputs: string[], cli: PredictCliOptions) => {
      const predictions = await ctx.api.predict(toPredictOptions(inputs, cli));
      if (cli.json) {
        for (const p of predictions) ctx.stdout.write(jsonLine(predictionJson(p)));
        return;
      }
      ctx.stdout.write(`${formatPredictions(predictions)}\n`);
      if (cli.out !== undefined) ctx.stdout.write(`pictures in ${cli.out}\n`);
    });
}
