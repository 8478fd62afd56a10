/**
 * `pyramidflow demo`: the README's first command. Synthesises a small texture data set, trains a
 * small model on it, tests it with an HTML report, and says what to do next with real images.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { TrainOptions } from '../api/types.js';
import { numberDefault, textDefault } from '../api/options.js';
import type { CliContext } from './context.js';
import { readConfigFile } from './config-file.js';
import { formatDuration, formatPercent } from './format.js';
import { addOptions, commandValues, type CliValues, type FileValues } from './options.js';
import { TrainProgressPrinter } from './progress.js';

/** Everything the demo does, in one place to tune. */
export const DEMO_SETTINGS = {
  /** Where the demo writes, and its training time budget in minutes (the option table's defaults of --out and --minutes). */
  out: textDefault('demo', 'out'),
  minutes: numberDefault('demo', 'minutes'),
  /** One texture category of the synthesiser (src/data/synth.ts: SYNTH_CATEGORIES). */
  category: 'fabric',
  size: 64,
  trainImages: 48,
  testGood: 12,
  testDefect: 12,
  seed: 0,
  model: { channels: 8, kernel: 7, levels: 3, stacks: 2 } satisfies Partial<TrainOptions>,
  batch: 4,
  /** How the training time budget turns into epochs. */
  epochsPerMinute: 50, // measured at size 64 on 2 quiet cores (51 epochs: 51 s in all, with synthesis, test and report); epochs = round(minutes * this)
  minEpochs: 2,
  maxEpochs: 60,
};

export type DemoCliOptions = CliValues;

export interface DemoPlan {
  out: string;
  dataDir: string;
  modelFile: string;
  reportDir: string;
  epochs: number;
}

export function toDemoPlan(cli: DemoCliOptions, settings = DEMO_SETTINGS, file?: FileValues): DemoPlan {
  const values = commandValues('demo', cli, file);
  const out = resolve((values.out as string | undefined) ?? settings.out);
  const minutes = (values.minutes as number | undefined) ?? settings.minutes;
  const epochs = Math.min(settings.maxEpochs, Math.max(settings.minEpochs, Math.round(minutes * settings.epochsPerMinute)));
  return { out, dataDir: join(out, 'data'), modelFile: join(out, 'model.pflow'), reportDir: join(out, 'report'), epochs };
}

export function nextSteps(plan: DemoPlan): string {
  return `Next, with your own images:
  1. Put pictures of good parts in a folder (e.g. ./my-parts/good/; defect examples in
     ./my-parts/defect/ with masks in ./my-parts/mask/ if you want to measure).
  2. pyramidflow train --data ./my-parts --format folder --out my-parts.pflow
  3. pyramidflow predict --model my-parts.pflow ./new-images --out ./predictions
     (or: pyramidflow test --model my-parts.pflow --data ./my-parts --report ./report)
  See \`pyramidflow <command> --help\` for every option; the demo's files are in ${plan.out}.`;
}

export async function runDemo(ctx: CliContext, plan: DemoPlan, settings = DEMO_SETTINGS): Promise<void> {
  const started = Date.now();
  const say = (line: string): unknown => ctx.stdout.write(`${line}\n`);

  say(
    `1/3 synthesising ${settings.trainImages} good ${settings.size}x${settings.size} textures (+${settings.testGood + settings.testDefect} to test) in ${plan.dataDir}`,
  );
  const synthesised = await ctx.synthesize({
    out: plan.dataDir,
    categories: [settings.category],
    size: settings.size,
    train: settings.trainImages,
    testGood: settings.testGood,
    testDefect: settings.testDefect,
    seed: settings.seed,
  });
  const category = synthesised.categories[0]?.name ?? settings.category;

  say(`2/3 training a small model on "${category}" for ${plan.epochs} epochs`);
  const printer = new TrainProgressPrinter(ctx.stdout, ctx.stderr, false);
  try {
    await ctx.api.train(
      {
        data: plan.dataDir,
        category,
        format: 'mvtec',
        out: plan.modelFile,
        size: settings.size,
        ...settings.model,
        batch: settings.batch,
        epochs: plan.epochs,
        seed: settings.seed,
        force: true,
      },
      (p) => printer.handle(p),
    );
  } finally {
    printer.finish();
  }

  say('3/3 testing it and writing the report');
  const result = await ctx.api.test({ model: plan.modelFile, data: plan.dataDir, category, format: 'mvtec', report: plan.reportDir });
  const reportFile = result.reportFile ?? '(not written)'; // test() writes it: report was given
  const m = result.overall;
  say('');
  say(
    `Done in ${formatDuration((Date.now() - started) / 1000)}: image AUROC ${formatPercent(m.image_auroc)}%, pixel AUROC ${formatPercent(m.pixel_auroc)}%, AUPRO ${formatPercent(m.aupro)}%.`,
  );
  say(`  report: ${reportFile}   (open it in a browser)`);
  say(`  model:  ${plan.modelFile}`);
  say('');
  say(nextSteps(plan));
}

export function registerDemo(program: Command, ctx: CliContext): void {
  const cmd = program.command('demo').description('synthesise a small data set, train, test and write a report (a first try, about a minute)');
  addOptions(cmd, 'demo')
    .addHelpText('after', '\nExample:\n  $ pyramidflow demo --out ./demo --minutes 2')
    .action(async (cli: DemoCliOptions) => {
      await runDemo(ctx, toDemoPlan(cli, DEMO_SETTINGS, await readConfigFile('demo', cli)));
    });
}
