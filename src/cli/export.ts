/** `pyramidflow export`: a finished model file to another runtime's format (ONNX), through api/export. */
import type { Command } from 'commander';
import type { ExportOptions, ExportSummary } from '../api/export.js';
import type { CliContext } from './context.js';
import { jsonLine } from './format.js';
import { addOptions, commandOptions, type CliValues } from './options.js';

export function toExportOptions(cli: CliValues): ExportOptions {
  return commandOptions<ExportOptions>('export', cli);
}

export function formatExportSummary(s: ExportSummary): string {
  if (s.format === 'safetensors') {
    return `safetensors written to ${s.file} (${(s.bytes / 1048576).toFixed(2)} MB, ${s.outputs.length} tensors under the official names)`;
  }
  const ops = Object.entries(s.ops ?? {})
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  return [
    `${s.format} model written to ${s.file} (${(s.bytes / 1048576).toFixed(2)} MB, opset ${s.opset})`,
    `  input    image ${s.input}`,
    `  outputs  ${s.outputs.join(', ')}`,
    `  ops      ${ops}`,
  ].join('\n');
}

export function registerExport(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('export')
    .description('write a finished model as an ONNX graph (an image in, its anomaly map and score out) or as safetensors for the official code');
  addOptions(cmd, 'export')
    .addHelpText(
      'after',
      `
Examples:
  $ pyramidflow export --model carpet.pflow --format onnx --out carpet.onnx
  $ pyramidflow export --model carpet.pflow --format onnx --input float-nchw --outputs latents --out carpet-latents.onnx
  $ pyramidflow export --model carpet.pflow --format safetensors --out carpet.safetensors

The thresholds and the false-positive rates they were set for are in the file's metadata
(pyramidflow.thresholds): a score above the image threshold is a defect.`,
    )
    .action(async (cli: CliValues) => {
      const { exportModel } = await import('../api/export.js');
      const summary = await exportModel(toExportOptions(cli));
      ctx.stdout.write(cli.json === true ? jsonLine(summary) : `${formatExportSummary(summary)}\n`);
    });
}
