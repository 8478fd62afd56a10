/**
 * `npm run bench -- alternate OTHER_DIR [--steps N] [--threads N] [--json]`: training steps of
 * this tree and of another source tree (a git worktree of an older commit, with node_modules
 * linked and its build/ made), alternating step by step in one process, each tree with its own
 * modules and kernel backend; prints both medians and their ratio (this tree / other). On a
 * shared machine whose speed drifts, the two builds then see the same moments, which makes the
 * ratio much steadier than alternating whole processes (scripts/bench-alternate.sh). The other
 * tree must have this layout of src/ (commit 1c5b936 and later). Peak memory is that of both
 * models together: measure it with `bench train`.
 * Make another tree: git worktree add /tmp/pf-base 1c5b936 && ln -s "$PWD/node_modules" /tmp/pf-base/
 *                    (cd /tmp/pf-base && npm run build:wasm)
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/flow/config.js';
import { PyramidFlow } from '../src/flow/model.js';
import { Adam, OFFICIAL_ADAM } from '../src/train/optim.js';
import { trainStep } from '../src/train/trainer.js';
import { ensureBackend } from '../src/api/runtime.js';
import { Tensor } from '../src/tensor/index.js';
import { Random } from '../src/util/random.js';
import { countOption, median, UsageError } from './_util.js';

export const usage = 'npm run bench -- alternate OTHER_DIR [--steps N] [--threads N] [--json]';
export const help = [
  '  OTHER_DIR        a source tree of another commit (its src/ and build/ ready)',
  '  --steps <n>      timed steps of each tree, after a warm-up step each (default 20)',
  '  --threads <n>    kernel threads of both (default: all cores)',
  '  --json           print one JSON object',
].join('\n');

/** One tree's training step on the default model, batch 2, plain backprop. */
interface Stepper {
  backend: string;
  step(): void;
}

/** The same random images for both trees (this tree's Random, seed 1). */
function images(height: number, width: number): Float32Array {
  const rng = new Random(1);
  const a = new Float32Array(2 * 3 * height * width);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return a;
}

async function thisTree(threads: number | undefined): Promise<Stepper> {
  const backend = await ensureBackend(threads);
  const config = resolveConfig({});
  const model = PyramidFlow.create(config, 0);
  const opt = new Adam(model.parameters(), OFFICIAL_ADAM);
  const x = new Tensor([2, 3, config.height, config.width]); // in the kernels' memory, as bench train's
  x.data.set(images(config.height, config.width));
  return { backend, step: () => void trainStep(model, opt, x, false) };
}

async function otherTree(dir: string, threads: number | undefined): Promise<Stepper> {
  const load = async (path: string) => import(pathToFileURL(resolve(dir, 'src', path)).href);
  const [kernels, config, model, optim, trainer, tensor] = await Promise.all(
    ['tensor/kernels/index.ts', 'flow/config.ts', 'flow/model.ts', 'train/optim.ts', 'train/trainer.ts', 'tensor/index.ts'].map(load),
  );
  const backend = await kernels.initBackend({ threads });
  const c = config.resolveConfig({});
  const m = model.PyramidFlow.create(c, 0);
  const opt = new optim.Adam(m.parameters(), optim.OFFICIAL_ADAM);
  const x = new tensor.Tensor([2, 3, c.height, c.width]);
  x.data.set(images(c.height, c.width));
  return { backend: backend.name as string, step: () => void trainer.trainStep(m, opt, x, false) };
}

export async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { steps: { type: 'string', default: '20' }, threads: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('give one OTHER_DIR');
  const steps = countOption('--steps', values.steps);
  const threads = values.threads === undefined ? undefined : countOption('--threads', values.threads);
  const here = await thisTree(threads);
  const other = await otherTree(positionals[0]!, threads);
  here.step(); // warm-ups: compile, grow memory, make the last convolutions non-zero
  other.step();
  const mine: number[] = [],
    theirs: number[] = [];
  for (let s = 0; s < steps; s++) {
    // which tree goes first alternates too
    for (const [tree, times] of s % 2 === 0
      ? ([
          [here, mine],
          [other, theirs],
        ] as const)
      : ([
          [other, theirs],
          [here, mine],
        ] as const)) {
      const t0 = performance.now();
      tree.step();
      times.push((performance.now() - t0) / 1000);
    }
  }
  const ratios = mine.map((t, i) => t / theirs[i]!);
  const result = {
    bench: 'alternate',
    other: positionals[0],
    backends: [here.backend, other.backend],
    steps,
    step_seconds_median: median(mine),
    other_step_seconds_median: median(theirs),
    ratio: median(mine) / median(theirs),
    median_step_ratio: median(ratios),
    step_ratios: ratios,
  };
  if (values.json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`training steps alternating, default model, batch 2, plain backprop: this tree (${here.backend}) and ${positionals[0]} (${other.backend})`);
  console.log(`  this tree median ${result.step_seconds_median.toFixed(3)} s, other median ${result.other_step_seconds_median.toFixed(3)} s`);
  console.log(
    `  ratio of medians ${result.ratio.toFixed(3)}; median of step ratios ${result.median_step_ratio.toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`,
  );
}
