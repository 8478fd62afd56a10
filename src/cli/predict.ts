/** `pyramidflow predict`: score images, print a verdict table, write pictures. */
import type { Command } from 'commander';
import type { ImagePrediction, PredictOptions } from '../api/types.js';
import type { CliContext } from './context.js';
import { readConfigFile } from './config-file.js';
import { formatNumber, formatTable, jsonLine } from './format.js';
import { addOptions, commandOptions, usageError, wantsJson, type CliValues, type FileValues } from './options.js';

export type PredictCliOptions = CliValues;

export function toPredictOptions(inputs: string[], cli: PredictCliOptions, file?: FileValues): PredictOptions {
  if (inputs.length === 0) throw usageError('give at least one image file or folder');
  const opts = commandOptions<Omit<PredictOptions, 'inputs'>>('predict', cli, file);
  return { ...opts, inputs };
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
  const cmd = program
    .command('predict')
    .description('score images or folders of images and mark defect regions')
    .argument('<image-or-folder...>', 'image files (PNG, JPEG, BMP, TIFF) or folders of them');
  addOptions(cmd, 'predict')
    .addHelpText(
      'after',
      `
Example:
  $ pyramidflow predict --model carpet.pflow ./new-photos --out ./predictions`,
    )
    .action(async (inputs: string[], cli: PredictCliOptions) => {
      const file = await readConfigFile('predict', cli);
      const opts = toPredictOptions(inputs, cli, file);
      const predictions = await ctx.api.predict(opts);
      if (wantsJson(cli, file)) {
        for (const p of predictions) ctx.stdout.write(jsonLine(predictionJson(p)));
        return;
      }
      ctx.stdout.write(`${formatPredictions(predictions)}\n`);
      if (opts.out !== undefined) ctx.stdout.write(`pictures in ${opts.out}\n`);
    });
}
