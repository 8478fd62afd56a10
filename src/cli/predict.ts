/**
 * `pyramidflow predict`: score images, print each one's verdict (or its error) as soon as it is
 * done, write pictures. One image that fails spoils nothing else: the others are still judged
 * and printed, and the exit code at the end says that something failed (1) or not (0).
 */
import type { Command } from 'commander';
import type { PredictOptions, PredictResult } from '../api/types.js';
import type { CliContext } from './context.js';
import { readConfigFile } from './config-file.js';
import { formatNumber, jsonLine } from './format.js';
import { addOptions, commandOptions, usageError, wantsJson, type CliValues, type FileValues } from './options.js';

export type PredictCliOptions = CliValues;

export function toPredictOptions(inputs: string[], cli: PredictCliOptions, file?: FileValues): PredictOptions {
  if (inputs.length === 0) throw usageError('give at least one image file or folder');
  const opts = commandOptions<Omit<PredictOptions, 'inputs'>>('predict', cli, file);
  return { ...opts, inputs };
}

/** Columns of fixed width and the file last, so that a row is printed as soon as its image is done (as `ls -l`, `du` do). */
const COLUMNS: Array<[string, number]> = [
  ['verdict', 7],
  ['score', 10],
  ['normalised', 10],
  ['regions', 7],
];

function row(cells: string[], file: string): string {
  return [...cells.map((cell, c) => (c === 0 ? cell.padEnd(COLUMNS[c]![1]) : cell.padStart(COLUMNS[c]![1]))), file].join('  ');
}

/** The header of the text output. */
export function predictionHeader(): string {
  return row(
    COLUMNS.map(([name]) => name),
    'file',
  );
}

/** The text row of one image: its verdict, score, normalised score, regions and file; `error` for one that failed. */
export function predictionRow(r: PredictResult): string {
  if (r.error) return row(['error', '-', '-', '-'], r.file);
  return row([r.verdict, formatNumber(r.score), r.normalizedScore.toFixed(3), String(r.regions.length)], r.file);
}

/** The --json object of one image: everything but the map (it is in the pictures), or `{ file, error: { code, message } }`. */
export function predictionJson(r: PredictResult): Record<string, unknown> {
  if (r.error) return { file: r.file, error: { code: r.error.code, message: r.error.message } };
  const { map: _map, ...rest } = r;
  void _map;
  return rest;
}

/** What the whole run comes to: the verdicts of the images judged, and how many failed. */
export function predictionCounts(results: PredictResult[]): { total: number; failed: number; defects: number } {
  const failed = results.filter((r) => r.error).length;
  const defects = results.filter((r) => !r.error && r.verdict === 'defect').length;
  return { total: results.length, failed, defects };
}

export function registerPredict(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('predict')
    .description('score images or folders of images and mark defect regions (exit code 1 if an image could not be judged)')
    .argument('<image-or-folder...>', 'image files (PNG, JPEG, BMP, TIFF) or folders of them');
  addOptions(cmd, 'predict')
    .addHelpText(
      'after',
      `
Each image's result is printed as soon as it is done (with --json: one object per line, an image
that failed as {"file", "error": {"code", "message"}}). An image that cannot be read, is over the
pixel limit or cannot be judged does not stop the others; the exit code is then 1. Existing
pictures (PNG) in the --out folder are replaced; any other file there is never overwritten.

Example:
  $ pyramidflow predict --model carpet.pflow ./new-photos --out ./predictions`,
    )
    .action(async (inputs: string[], cli: PredictCliOptions) => {
      const file = await readConfigFile('predict', cli);
      const opts = toPredictOptions(inputs, cli, file);
      const json = wantsJson(cli, file);
      let first = true;
      const results = await ctx.api.predict(opts, (r) => {
        if (json) {
          ctx.stdout.write(jsonLine(predictionJson(r)));
          return;
        }
        if (first) ctx.stdout.write(`${predictionHeader()}\n`);
        first = false;
        ctx.stdout.write(`${predictionRow(r)}\n`);
        if (r.error) ctx.stderr.write(`pyramidflow: ${r.error.message}\n`);
      });
      const { total, failed, defects } = predictionCounts(results);
      if (!json) {
        if (failed === 0) ctx.stdout.write(`${defects} of ${total} images look defective\n`);
        else if (failed < total) ctx.stdout.write(`${defects} of ${total - failed} judged images look defective\n`);
        if (opts.out !== undefined && failed < total) ctx.stdout.write(`pictures in ${opts.out}\n`);
      }
      if (failed > 0) {
        ctx.stderr.write(`pyramidflow: ${failed} of ${total} images failed\n`);
        ctx.exitCode = 1;
      }
    });
}
