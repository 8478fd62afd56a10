/** Commands about a model file: `calibrate`, `info`, and `conformance` (numerical checks). */
import type { Command } from 'commander';
import type { CalibrateOptions, ConformanceOptions, ConformanceReport, ModelInfo, Thresholds } from '../api/types.js';
import type { CliContext } from './context.js';
import { formatTrainingConfig, readConfigFile } from './config-file.js';
import { formatNumber, formatTable, formatRate, jsonLine } from './format.js';
import { addOptions, commandOptions, wantsJson, type CliValues, type FileValues } from './options.js';

export type CalibrateCliOptions = CliValues;

export function toCalibrateOptions(cli: CalibrateCliOptions, file?: FileValues): CalibrateOptions {
  return commandOptions<CalibrateOptions>('calibrate', cli, file);
}

export function toConformanceOptions(cli: CliValues, file?: FileValues): ConformanceOptions {
  return commandOptions<ConformanceOptions>('conformance', cli, file);
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
  if (m.thresholds)
    lines.push(
      'thresholds',
      ...formatThresholds(m.thresholds)
        .split('\n')
        .map((l) => `  ${l}`),
    );
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
  const calibrate = program.command('calibrate').description('set the image and pixel thresholds of a model from a folder of good images');
  addOptions(calibrate, 'calibrate')
    .addHelpText('after', '\nExample:\n  $ pyramidflow calibrate --model carpet.pflow --good ./line-3/good --fpr 0.005')
    .action(async (cli: CalibrateCliOptions) => {
      const file = await readConfigFile('calibrate', cli);
      const thresholds = await ctx.api.calibrate(toCalibrateOptions(cli, file));
      ctx.stdout.write(wantsJson(cli, file) ? jsonLine(thresholds) : `${formatThresholds(thresholds)}\n`);
    });

  const info = program
    .command('info')
    .description("show a model file's network, training and thresholds, or the options it was trained with (--config)")
    .argument('<model-file>', 'model file');
  addOptions(info, 'info')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pyramidflow info carpet.pflow\n  $ pyramidflow info --config carpet.pflow > carpet.yaml   (then: pyramidflow train --config carpet.yaml)',
    )
    .action(async (file: string, cli: CliValues) => {
      if (cli.config === true) {
        ctx.stdout.write(await formatTrainingConfig(await ctx.api.trainingOptions(file), cli.json === true));
        return;
      }
      const info = await ctx.api.info(file);
      ctx.stdout.write(cli.json ? jsonLine(info) : `${formatModelInfo(info)}\n`);
    });

  const conformance = program
    .command('conformance')
    .description('check the implementation against reference outputs (exit code 1 if a check fails)')
    .argument('<file.json...>', 'reference files');
  addOptions(conformance, 'conformance')
    .addHelpText('after', '\nExample:\n  $ pyramidflow conformance reference/*.json\n  $ pyramidflow conformance --backend js reference/tiny.json')
    .action(async (files: string[], cli: CliValues) => {
      const file = await readConfigFile('conformance', cli);
      const options = toConformanceOptions(cli, file);
      const reports: ConformanceReport[] = [];
      for (const f of files) reports.push(await ctx.api.conformance(f, options));
      const ok = reports.every((r) => r.ok);
      if (wantsJson(cli, file)) ctx.stdout.write(jsonLine({ ok, reports }));
      else ctx.stdout.write(`${reports.map(formatConformance).join('\n\n')}\n`);
      if (!ok) ctx.exitCode = 1;
    });
}
