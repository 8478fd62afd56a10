/** `pyramidflow synth`: write a synthetic MVTec-style data set (textures with drawn defects). */
import type { Command } from 'commander';
import type { CliContext, SynthOptions, SynthSummary } from './context.js';
import { definedOnly, parseInteger, parseList, requireText } from './options.js';

export interface SynthCliOptions {
  out?: string;
  categories?: string;
  size?: string;
  train?: string;
  testGood?: string;
  testDefect?: string;
  seed?: string;
}

export function toSynthOptions(cli: SynthCliOptions): SynthOptions {
  return definedOnly<SynthOptions>({
    out: requireText('--out', cli.out),
    categories: parseList('--categories', cli.categories),
    size: parseInteger('--size', cli.size, { min: 8 }),
    train: parseInteger('--train', cli.train, { min: 1 }),
    testGood: parseInteger('--test-good', cli.testGood, { min: 0 }),
    testDefect: parseInteger('--test-defect', cli.testDefect, { min: 0 }),
    seed: parseInteger('--seed', cli.seed, { min: 0 }),
  });
}

export function formatSynthSummary(summary: SynthSummary): string {
  const lines = [`synthetic data set written to ${summary.out}`];
  for (const c of summary.categories) {
    lines.push(`  ${c.name} (${c.kind}): ${c.train} training, ${c.testGood} good + ${c.testDefect} defect test images; defects: ${c.defectTypes.join(', ')}`);
  }
  return lines.join('\n');
}

export function registerSynth(program: Command, ctx: CliContext): void {
  program
    .command('synth')
    .description('write a synthetic data set in the MVTec layout (for trying things out and for tests)')
    .requiredOption('--out <dir>', 'folder to write')
    .option('--categories <a,b>', 'comma-separated categories (default: all)')
    .option('--size <px>', 'image size (default 256)')
    .option('--train <n>', 'good training images per category')
    .option('--test-good <n>', 'good test images per category')
    .option('--test-defect <n>', 'defect test images per category')
    .option('--seed <n>', 'random seed')
    .addHelpText('after', '\nExample:\n  $ pyramidflow synth --out ./synthetic --size 128 --train 60')
    .action(async (cli: SynthCliOptions) => {
      const summary = await ctx.synthesize(toSynthOptions(cli));
      ctx.stdout.write(`${formatSynthSummary(summary)}\n`);
    });
}
