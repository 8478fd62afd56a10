/** Model options shared by the train and infer benchmarks (the CLI's names). */
import type { ModelOptions } from '../src/api/types.js';
import { UsageError } from './_util.js';

export const modelArgs = {
  size: { type: 'string' },
  height: { type: 'string' },
  width: { type: 'string' },
  channels: { type: 'string' },
  kernel: { type: 'string' },
  levels: { type: 'string' },
  stack: { type: 'string' },
  'volume-norm': { type: 'string' },
} as const;
/** The model options as a usage line shows them. */
export const modelUsage = '[--size N | --height N --width N] [--channels N] [--kernel K] [--levels L|auto] [--stack S] [--volume-norm MODE]';

export function modelOptionsFrom(v: Record<string, string | boolean | undefined>): ModelOptions {
  const num = (k: string): number | undefined => {
    if (typeof v[k] !== 'string') return undefined;
    const n = Number(v[k]);
    if (!Number.isFinite(n)) throw new UsageError(`--${k} must be a number, got '${v[k]}'`);
    return n;
  };
  return {
    size: num('size'), height: num('height'), width: num('width'), channels: num('channels'), kernel: num('kernel'),
    levels: v.levels === 'auto' ? 'auto' : num('levels'), stacks: num('stack'),
    volumeNorm: (v['volume-norm'] as ModelOptions['volumeNorm']) ?? undefined,
  };
}

export function printBreakdown(ms: Record<string, number>): void {
  const total = Object.values(ms).reduce((a, b) => a + b, 0);
  for (const [k, v] of Object.entries(ms).sort((a, b) => b[1] - a[1])) {
    console.log(`    ${k.padEnd(40)} ${String(v).padStart(7)} ms  ${((100 * v) / total).toFixed(1).padStart(5)}%`);
  }
}
