/** `pyramidflow synth`: write a synthetic MVTec-style data set (textures with drawn defects). */
import type { Command } from 'commander';
import type { CliContext, SynthOptions, SynthSummary } from './context.js';
import { readConfigFile } from './config-file.js';
import { addOptions, commandOptions, type CliValues, type FileValues } from './options.js';

export type SynthCliOptions = CliValues;

export function toSynthOptions(cli: SynthCliOptions, file?: FileValues): SynthOptions {
  return commandOptions<SynthOptions>('synth', cli, file);
}

export function formatSynthSummary(summary: SynthSummary): string {
  const lines = [`synthetic data set written to ${summary.out}`];
  for (const c of summary.categories) {
    lines.push(`  ${c.name} (${c.kind}): ${c.train} training, ${c.testGood} good + ${c.testDefect} defect test images; defects: ${c.defectTypes.join(', ')}`);
  }
  return lines.join('\n');
}

export function registerSynth(program: Command, ctx: CliContext): void {
  const cmd = program.command('synth').description('write a synthetic data set in the MVTec layout (for trying things out and for tests)');
  addOptions(cmd, 'synth')
    .addHelpText('after', '\nExample:\n  $ pyramidflow synth --out ./synthetic --size 128 --train 60')
    .action(async (cli: SynthCliOptions) => {
      const summary = await ctx.synthesize(toSynthOptions(cli, await readConfigFile('synth', cli)));
      ctx.stdout.write(`${formatSynthSummary(summary)}\n`);
    });
}
