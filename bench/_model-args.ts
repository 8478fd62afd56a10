/**
 * The benchmarks' flags for options of the commands (the network, batch, threads, ...): from the
 * option table (src/api/options.ts), so they have the CLI's names, types, ranges, defaults and
 * messages. Options of a benchmark alone (--steps, --images) stay in the benchmark.
 */
import type { ModelOptions } from '../src/api/types.js';
import { argOf, helpOf, numberDefault, optionOf, optionsOf, type CommandName, type OptionSpec, type OptionValue } from '../src/api/options.js';
import type { TrainingRecord } from '../src/flow/saved-model.js';
import { nestOptions, parseOptionText } from '../src/api/option-values.js';

/** The options that define the network (the table's `network` rows of train). */
export const MODEL_OPTIONS: readonly string[] = optionsOf('train')
  .filter((s) => s.network)
  .map((s) => s.name);

type ArgSpec = { type: 'string' | 'boolean' };

const specsOf = (command: CommandName, names: readonly string[]): OptionSpec[] => names.map((n) => optionOf(command, n));

/** node:util parseArgs options of some options of a command, by flag (a switch with --no-FLAG has both). */
export function tableArgs(command: CommandName, names: readonly string[]): Record<string, ArgSpec> {
  const out: Record<string, ArgSpec> = {};
  for (const s of specsOf(command, names)) {
    out[s.flag] = { type: s.kind === 'bool' ? 'boolean' : 'string' };
    if (s.negatedHelp) out[`no-${s.flag}`] = { type: 'boolean' };
  }
  return out;
}

/** Their usage-line form: `[--size px] [--levels n|auto] [--save-memory]`. */
export function tableUsage(command: CommandName, names: readonly string[]): string {
  return specsOf(command, names)
    .map((s) => `[--${s.flag}${argOf(s) ? ` ${argOf(s)}` : ''}]`)
    .join(' ');
}

/** One line per option with its help and default, for --help; `extra`: the benchmark's own options, aligned with them. */
export function tableHelp(command: CommandName, names: readonly string[], extra: ReadonlyArray<readonly [string, string]> = []): string {
  const rows: Array<readonly [string, string]> = [];
  for (const s of specsOf(command, names)) {
    rows.push([`--${s.flag}${argOf(s) ? ` <${argOf(s)}>` : ''}`, helpOf(s, command)]);
    if (s.negatedHelp) rows.push([`--no-${s.flag}`, s.negatedHelp]);
  }
  rows.push(...extra);
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join('\n');
}

/** The values parseArgs found for them, parsed and checked as the CLI does, by option name (only those given). */
export function tableValues(command: CommandName, names: readonly string[], values: Record<string, unknown>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const s of specsOf(command, names)) {
    const raw = values[s.flag];
    if (typeof raw === 'string' || typeof raw === 'boolean') out[s.name] = parseOptionText(s, raw);
    if (s.negatedHelp && values[`no-${s.flag}`] === true) out[s.name] = false;
  }
  return out;
}

export const modelArgs = tableArgs('train', MODEL_OPTIONS);
/** The model options as a usage line shows them. */
export const modelUsage = tableUsage('train', MODEL_OPTIONS);

/** The network's options given to a benchmark, as the library takes them. */
export function modelOptionsFrom(values: Record<string, unknown>): ModelOptions {
  return nestOptions('train', tableValues('train', MODEL_OPTIONS, values)) as ModelOptions;
}

export function printBreakdown(ms: Record<string, number>): void {
  const total = Object.values(ms).reduce((a, b) => a + b, 0);
  for (const [k, v] of Object.entries(ms).sort((a, b) => b[1] - a[1])) {
    console.log(`    ${k.padEnd(40)} ${String(v).padStart(7)} ms  ${((100 * v) / total).toFixed(1).padStart(5)}%`);
  }
}

/** The training record of a bench model made without training (the table's defaults, no files). */
export function benchRecord(): TrainingRecord {
  const d = (name: string): number => numberDefault('train', name);
  return {
    data: 'bench',
    category: 'bench',
    format: 'mvtec',
    augment: 'none',
    seed: d('seed'),
    batch: d('batch'),
    lr: d('lr'),
    epochs: 0,
    epochsDone: 0,
    steps: 0,
    threads: 0,
    saveMemory: false,
    holdout: 0,
    fpr: { image: d('fpr'), pixel: d('pixelFpr') },
    checkpointEvery: 0,
    trainFiles: [],
    holdoutFiles: [],
    lossPerEpoch: [],
    seconds: 0,
  };
}
