/** `pyramidflow submit train`: training jobs, one per category, into the Redis queue (src/cluster/submit.ts). */
import { type Command, Option } from 'commander';
import type { OptionValue } from '../api/options.js';
import { flagsOf, helpOf, optionsOf } from '../api/options.js';
import { JOB_EXCLUDED_OPTIONS } from '../cluster/job-data.js';
import { readConfigFile } from './config-file.js';
import type { CliContext } from './context.js';
import { jsonLine } from './format.js';
import { addOptions, collect, commandValues, type CliValues } from './options.js';

/** `train` options that `submit train` does not take: the worker decides them, or submit has its own. */
const NOT_SUBMITTED = new Set<string>([
  ...JOB_EXCLUDED_OPTIONS.filter((name) => name !== 'data' && name !== 'category' && name !== 'categories' && name !== 'config'),
]);

export function registerSubmit(program: Command, ctx: CliContext): void {
  const submit = program.command('submit').description('put jobs in the Redis queues for workers (see `pyramidflow worker`)');
  const cmd = submit.command('train').description("one training job per category, with the options of `train`; models go to the workers' --store");
  for (const spec of optionsOf('train')) {
    if (NOT_SUBMITTED.has(spec.name)) continue;
    const option = new Option(flagsOf(spec), helpOf(spec, 'train'));
    if (spec.repeatable) option.argParser(collect);
    cmd.addOption(option);
    if (spec.negatedHelp) cmd.addOption(new Option(`--no-${spec.flag}`, spec.negatedHelp));
  }
  addOptions(cmd, 'submit')
    .addHelpText(
      'after',
      `
--data is relative to --data-root, here and on the workers (each has its own --data-root).

Examples:
  $ pyramidflow submit train --redis redis://queue-host:6379 --data mvtec --categories all --epochs 15
  $ pyramidflow submit train --redis redis://queue-host:6379 --data parts --format folder --category parts --size 512
  $ pyramidflow jobs --redis redis://queue-host:6379`,
    )
    .action(async (cli: CliValues) => {
      const file = await readConfigFile('train', cli);
      const train = commandValues('train', cli, file, 'out');
      const own = commandValues('submit', cli);
      const options: Record<string, OptionValue> = {};
      for (const [name, value] of Object.entries(train))
        if (!NOT_SUBMITTED.has(name) && !['data', 'category', 'categories'].includes(name)) options[name] = value;
      const categories = train.categories as string[] | undefined;
      const { submitTrain } = await import('../cluster/submit.js');
      const jobs = await submitTrain({
        redis: own.redis as string,
        ...(own.dataRoot !== undefined ? { dataRoot: own.dataRoot as string } : {}),
        data: train.data as string,
        ...(train.category !== undefined ? { category: train.category as string } : {}),
        ...(categories !== undefined ? { categories: categories.length === 1 && categories[0]!.toLowerCase() === 'all' ? 'all' : categories } : {}),
        options,
        force: own.force === true,
      });
      if (cli.json === true) for (const job of jobs) ctx.stdout.write(jsonLine({ kind: 'submitted', queue: 'train', ...job }));
      else for (const job of jobs) ctx.stdout.write(`submitted train job ${job.id}: ${job.category}\n`);
    });
}
