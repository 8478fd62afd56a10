/**
 * `npm run bench -- train [model options] [--batch N] [--save-memory] [--threads N] [--steps N] [--compare] [--json]`:
 * times training steps of the default model (or the one given) through the same step function
 * as `pyramidflow train`, with a breakdown by operation and the peak memory of the process.
 * --compare alternates plain and memory-saving steps, step by step, and prints both medians and
 * their ratio: on a shared machine whose speed drifts, the two then see the same machine (peak
 * memory is then the plain mode's: measure each mode alone for that). --compare-native
 * alternates steps with the native code (native-kernels.ts) on and off in the same way.
 */
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/flow/config.js';
import { PyramidFlow } from '../src/flow/model.js';
import { Adam, OFFICIAL_ADAM } from '../src/train/optim.js';
import { trainStep } from '../src/train/trainer.js';
import { ensureBackend } from '../src/api/runtime.js';
import { numberDefault, resolveSaveMemory } from '../src/api/options.js';
import { setProfiling, profileTotals, Tensor, backend } from '../src/tensor/index.js';
import { Random } from '../src/util/random.js';
import { countOption, median, peakRssMb, UsageError, wasmMemoryMb } from './_util.js';
import { WasmBackend } from '../src/tensor/kernels/wasm/backend.js';
import { MODEL_OPTIONS, modelOptionsFrom, printBreakdown, tableArgs, tableHelp, tableUsage, tableValues } from './_model-args.js';

/** The options of `pyramidflow train` this benchmark takes (the option table's). */
const TRAIN_OPTIONS = [...MODEL_OPTIONS, 'batch', 'saveMemory', 'threads'];

export const usage = `npm run bench -- train ${tableUsage('train', TRAIN_OPTIONS)} [--steps N] [--compare | --compare-native] [--json]`;
export const help = tableHelp('train', TRAIN_OPTIONS, [
  ['--steps <n>', 'timed steps after a warm-up (default 5)'],
  ['--compare', 'alternate plain and memory-saving steps, print both medians and their ratio'],
  ['--compare-native', 'alternate steps with the native products and transforms on and off, print both medians and their ratio'],
  ['--json', 'print one JSON object'],
]);

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...tableArgs('train', TRAIN_OPTIONS),
      steps: { type: 'string', default: '5' },
      compare: { type: 'boolean', default: false },
      'compare-native': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const given = tableValues('train', TRAIN_OPTIONS, values);
  const config = resolveConfig(modelOptionsFrom(values));
  const threads = given.threads as number | undefined;
  const backendName = await ensureBackend(threads);
  const batch = (given.batch as number | undefined) ?? numberDefault('train', 'batch'),
    steps = countOption('--steps', values.steps);
  const saveMemory = resolveSaveMemory(given.saveMemory, config);
  const model = PyramidFlow.create(config, 0);
  const opt = new Adam(model.parameters(), OFFICIAL_ADAM);
  const rng = new Random(1);
  const images = new Tensor([batch, 3, config.height, config.width]);
  for (let i = 0; i < images.size; i++) images.data[i] = rng.normal();
  trainStep(model, opt, images, saveMemory); // warm-up: compiles, grows memory, makes last convs non-zero
  if (values['compare-native']) return compareNative(model, opt, images, saveMemory, steps, values.json === true, `${describe(config)}, batch ${batch}`);
  if (values.compare) {
    trainStep(model, opt, images, !saveMemory);
    const [plain, saving] = alternateSteps(steps, 0, [() => trainStep(model, opt, images, false), () => trainStep(model, opt, images, true)]);
    reportPair(
      values.json === true,
      `training step, ${describe(config)}, batch ${batch}, plain and memory saving alternating, ${backendName}`,
      { bench: 'train-compare', backend: backendName, config, batch, steps },
      [
        { key: 'plain', label: 'plain', times: plain },
        { key: 'saving', label: 'memory saving', times: saving },
      ],
      1,
      2,
    );
    return;
  }
  const times: number[] = [];
  const breakdowns: Record<string, number>[] = [];
  for (let s = 0; s < steps; s++) {
    setProfiling(true);
    const t0 = performance.now();
    trainStep(model, opt, images, saveMemory);
    times.push((performance.now() - t0) / 1000);
    breakdowns.push(profileTotals());
    setProfiling(false);
  }
  const result = {
    bench: 'train',
    backend: backendName,
    config,
    batch,
    save_memory: saveMemory,
    steps,
    step_seconds_median: median(times),
    step_seconds: times,
    peak_rss_mb: Math.round(peakRssMb()),
    wasm_memory: wasmMemoryMb(backend()),
    breakdown_ms: medianBreakdown(breakdowns, median(times) * 1000),
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`training step, ${describe(config)}, batch ${batch}, ${saveMemory ? 'memory saving' : 'plain backprop'}, ${backendName}`);
    const wm = result.wasm_memory;
    console.log(
      `  median ${result.step_seconds_median.toFixed(3)} s over ${steps} steps (${times.map((t) => t.toFixed(2)).join(', ')}); peak RSS ${result.peak_rss_mb} MB` +
        (wm ? ` (wasm memory: at most ${wm.peak_mb} MB in use, grown to ${wm.capacity_mb} MB)` : ''),
    );
    printBreakdown(result.breakdown_ms);
  }
}

/** --compare-native: steps alternating with the backend's native code on and off. */
function compareNative(model: PyramidFlow, opt: Adam, images: Tensor, saveMemory: boolean, steps: number, json: boolean, what: string): void {
  const b = backend();
  if (!(b instanceof WasmBackend) || !b.nativeLoaded)
    throw new UsageError(`--compare-native: the backend (${b.name}) has no native code (npm run build:native)`);
  let on: number[], off: number[];
  try {
    // the first pair warms the other setting up
    [on, off] = alternateSteps(
      steps,
      1,
      [true, false].map((native) => () => {
        b.nativeKernels = native;
        trainStep(model, opt, images, saveMemory);
      }),
    );
  } finally {
    b.nativeKernels = true;
  }
  reportPair(
    json,
    `training step, ${what}, ${saveMemory ? 'memory saving' : 'plain backprop'}, native code on and off alternating, ${b.name}`,
    { bench: 'train-compare-native', backend: b.name },
    [
      { key: 'native', label: 'native', times: on },
      { key: 'wasm', label: 'wasm', times: off },
    ],
    0,
    3,
  );
}

/**
 * Runs the settings' steps in turn, `steps` rounds after `warm` untimed ones, and returns each
 * setting's step times in seconds: the settings see the same machine as its speed drifts.
 */
function alternateSteps(steps: number, warm: number, settings: (() => void)[]): number[][] {
  const times = settings.map((): number[] => []);
  for (let s = 0; s < warm + steps; s++) {
    settings.forEach((step, k) => {
      const t0 = performance.now();
      step();
      if (s >= warm) times[k]!.push((performance.now() - t0) / 1000);
    });
  }
  return times;
}

/** Two alternated settings' medians, in order, and the ratio of sides[over] to the other, printed or as one JSON object. */
function reportPair(
  json: boolean,
  head: string,
  fields: Record<string, unknown>,
  sides: [{ key: string; label: string; times: number[] }, { key: string; label: string; times: number[] }],
  over: 0 | 1,
  digits: number,
): void {
  const num = sides[over].times,
    den = sides[1 - over]!.times;
  const result: Record<string, unknown> = { ...fields };
  for (const side of sides) result[`${side.key}_step_seconds_median`] = median(side.times);
  const ratio = median(num) / median(den),
    ratios = num.map((t, i) => t / den[i]!);
  Object.assign(result, { ratio, ratios });
  for (const side of sides) result[`${side.key}_step_seconds`] = side.times;
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(head);
  for (const side of sides) console.log(`  ${side.label} median ${median(side.times).toFixed(3)} s (${side.times.map((t) => t.toFixed(2)).join(', ')})`);
  console.log(`  ratio of medians ${ratio.toFixed(digits)}; step by step ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
}

export function describe(c: ReturnType<typeof resolveConfig>): string {
  return `C${c.channels} k${c.kernel} L${c.levels} S${c.stacks} ${c.volumeNorm} ${c.height}x${c.width}`;
}

export function medianBreakdown(list: Record<string, number>[], totalMs: number): Record<string, number> {
  const keys = [...new Set(list.flatMap((b) => Object.keys(b)))];
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = Math.round(median(list.map((b) => b[k] ?? 0)));
  const known = Object.values(out).reduce((a, b) => a + b, 0);
  out['other (elementwise, reductions, copies)'] = Math.max(0, Math.round(totalMs - known));
  return out;
}
