/** Commands about a model file: `calibrate`, `info`, and `conformance` (numerical checks). */
import type { Command } from 'commander';
import type { CalibrateOptions, ConformanceOptions, ConformanceReport, ModelInfo, Thresholds } from '../api/types.js';
import type { CliContext } from './context.js';
import { formatNumber, formatTable, formatRate, jsonLine } from './format.js';
import { definedOnly, parseInteger, requireText, usageError } from './options.js';
import { toFprTargets } from './train.js';

export interface CalibrateCliOptions {
  model?: string;
  good?: string;
  fpr?: string;
  pixelFpr?: string;
  threads?: string;
  json?: boolean;
}

export function toCalibrateOptions(cli: CalibrateCliOptions): CalibrateOptions {
  return definedOnly<CalibrateOptions>({
    model: requireText('--model', cli.model),
    good: requireText('--good', cli.good),
    fpr: toFprTargets(cli.fpr, cli.pixelFpr),
    threads: parseInteger('--threads', cli.threads, { min: 1 }),
  });
}

export function formatThresholds(t: Thresholds): string {
  const lines = [
    `image threshold  ${formatNumber(t.image)}  (target ${formatRate(t.imageFpr)} false alarms)`,
    `pixel threshold  ${formatNumber(t.pixel)}  (target ${formatRate(t.pixelFpr)} of good pixels)`,
    `set from         ${t.images} good images (${t.source})`,
    `heat-map scale   ${formatNumber(t.scaleMin)} .. ${formatNumber(t.scaleMax)}`,
  ];
  if (t.note) lines.push(`note             ${t.note}`);
  return lines.join('\n');
}

export function formatModelInfo(m: ModelInfo): string {
  const c = m.config;
  const t = m.training;
  const lines = [
    `${m.file} (format ${m.formatVersion}, created ${m.createdAt})`,
    `network     ${c.width}x${c.height}, ${c.levels} levels, ${c.stacks} stacks, ${c.channels} channels, kernel ${c.kernel}, ${c.volumeNorm}, ${c.downsample}; ${m.parameters.toLocaleString('en-US')} parameters`,
    `training    ${t.category || '(no category)'} from ${t.data}; ${t.epochsDone} of ${t.epochs} epochs, ${t.steps} steps, ${t.trainImages} images (+${t.holdoutImages} held out), seed ${t.seed}, augment ${t.augment}`,
    `loss        ${t.lossPerEpoch.map((l) => formatNumber(l)).join(' ') || '-'}`,
  ];
  if (t.from) lines.splice(3, 0, `started     from ${t.from.file} (after its ${t.from.epochs} epochs)`);
  if (m.thresholds) lines.push('thresholds', ...formatThresholds(m.thresholds).split('\n').map((l) => `  ${l}`));
  else lines.push('thresholds  none (run `pyramidflow calibrate`)');
  return lines.join('\n');
}

export function formatConformance(report: ConformanceReport): string {
  const rows = report.checks.map((c) => [c.name, c.maxError.toExponential(2), c.tolerance.toExponential(2), c.ok ? 'ok' : 'FAIL']);
  const failed = report.checks.filter((c) => !c.ok).length;
  const verdict = report.ok ? 'all checks pass' : `${failed} of ${report.checks.length} checks FAIL`;
  const on = report.backend ? ` (${report.backend})` : '';
  return `${report.file}${on}: ${verdict}\n${formatTable(['check', 'max error', 'tolerance', 'result'], rows)}`;
}

export function registerModelCommands(program: Command, ctx: CliContext): void {
  program
    .command('calibrate')
    .description('set the image and pixel thresholds of a model from a folder of good images')
    .requiredOption('--model <model-file>', 'model file (updated in place)')
    .requiredOption('--good <dir>', 'folder of good images from production')
    .option('--fpr <rate>', 'image false-positive rate (default 0.01)')
    .option('--pixel-fpr <rate>', 'pixel false-positive rate (default 0.001)')
    .option('--threads <n>', 'kernel threads (default: all cores)')
    .option('--json', 'print the thresholds as JSON')
    .addHelpText('after', '\nExample:\n  $ pyramidflow calibrate --model carpet.pflow --good ./line-3/good --fpr 0.005')
    .action(async (cli: CalibrateCliOptions) => {
      const thresholds = await ctx.api.calibrate(toCalibrateOptions(cli));
      ctx.stdout.write(cli.json ? jsonLine(thresholds) : `${formatThresholds(thresholds)}\n`);
    });

  program
    .command('info')
    .description('show a model file\'s network, training and thresholds')
    .argument('<model-file>', 'model file')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ pyramidflow info carpet.pflow')
    .action(async (file: string, cli: { json?: boolean }) => {
      const info = await ctx.api.info(file);
      ctx.stdout.write(cli.json ? jsonLine(info) : `${formatModelInfo(info)}\n`);
    });

  program
    .command('conformance')
    .description('check the implementation against reference outputs (exit code 1 if a check fails)')
    .argument('<file.json...>', 'reference files')
    .option('--backend <kind>', 'kernels to check: wasm (what training and detection use) or js (the reference)', 'wasm')
    .option('--threads <n>', 'kernel threads (default: all cores)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  $ pyramidflow conformance reference/*.json\n  $ pyramidflow conformance --backend js reference/tiny.json')
    .action(async (files: string[], cli: { json?: boolean; backend: string; threads?: string }) => {
      if (cli.backend !== 'js' && cli.backend !== 'wasm') throw usageError(`--backend must be js or wasm, got ${cli.backend}`);
      const options: ConformanceOptions = definedOnly({ backend: cli.backend, threads: parseInteger('--threads', cli.threads, { min: 1 }) });
      const reports: ConformanceReport[] = [];
      for (const file of files) reports.push(await ctx.api.conformance(file, options));
      const ok = reports.every((r) => r.ok);
      if (cli.json) ctx.stdout.write(jsonLine({ ok, reports }));
      else ctx.stdout.write(`${reports.map(formatConformance).join('\n\n')}\n`);
      if (!ok) ctx.exitCode = 1;
    });
}
