/**
 * `npm run bench -- browser [--size N] [--steps N] [--predictions N] [--threads N] [--json]`:
 * the default model at 256x256 trained and used in Chromium (the browser entry, its engine worker
 * and kernel threads, cross-origin isolated) next to Node, in one run, on the same images: the
 * median time of a training step (between two step reports of a real training, batch 2, the same
 * images, seed and split on both sides) and of one inspection (PNG bytes in; decode, map, score,
 * regions out). Target: Chromium within 1.25x of Node.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDetector, train } from '../src/api/index.js';
import { ensureBackend } from '../src/api/runtime.js';
import { synthesize } from '../src/data/synth.js';
import { buildBrowser } from '../scripts/build-browser.mjs';
import { launchChromium, serveStatic } from '../test/browser/harness.js';
import { countOption, median, UsageError } from './_util.js';

export const usage = 'npm run bench -- browser [--size N] [--steps N] [--predictions N] [--threads N] [--json]';
export const help = [
  '--size <px>         square model input (default 256, the default model)',
  '--steps <n>         timed training steps after one warm-up step (default 5)',
  '--predictions <n>   timed inspections after one warm-up (default 5)',
  '--threads <n>       kernel threads on both sides (default all cores)',
  '--json              print one JSON object',
].join('\n');

/** 9 good images: 1 held out, 8 trained on in batches of 2, so 4 steps an epoch. */
const IMAGES = 9;
const STEPS_PER_EPOCH = 4;

/** What one side measured. */
interface Side {
  /** Seconds of each training step after the first. */
  steps: number[];
  /** Seconds of each timed inspection. */
  predictions: number[];
  /** The kernels, in words. */
  backend: string;
}

/** Step durations from the times of consecutive step reports, the first (warm-up) left out. */
function stepSeconds(times: number[]): number[] {
  return times.slice(2).map((t, i) => (t - times[i + 1]!) / 1000);
}

async function nodeSide(data: string, out: string, size: number, epochs: number, threads: number, test: Uint8Array, predictions: number): Promise<Side> {
  const times: number[] = [];
  await train({ data, category: 'fabric', out, size, epochs, threads }, (p) => {
    if (p.kind === 'step') times.push(performance.now());
  });
  const detector = await loadDetector(out, { threads });
  await detector.predictImage(test); // warm-up
  const seconds: number[] = [];
  for (let i = 0; i < predictions; i++) {
    const t0 = performance.now();
    await detector.predictImage(test);
    seconds.push((performance.now() - t0) / 1000);
  }
  return { steps: stepSeconds(times), predictions: seconds, backend: await ensureBackend(threads) };
}

/**
 * What runs in the page, as plain JavaScript (tsx would add helpers of its own to a function
 * passed from here): trains on the served images with step timestamps, then times inspections.
 */
const IN_PAGE = `async ({ names, size, epochs, threads, predictions }) => {
  const lib = await import('/lib/index.js');
  const engine = await lib.createEngine({ threads });
  const images = await Promise.all(names.map(async (name) => ({ name, data: await (await fetch('/good/' + name)).blob() })));
  const times = [];
  const model = await engine.train(images, { size, epochs }, { onProgress: (p) => { if (p.kind === 'step') times.push(performance.now()); } });
  const test = { name: '000.png', data: await (await fetch('/test/000.png')).blob() };
  await engine.predict(model, test);
  const seconds = [];
  for (let i = 0; i < predictions; i++) {
    const t0 = performance.now();
    await engine.predict(model, test);
    seconds.push((performance.now() - t0) / 1000);
  }
  const backend = engine.backend + ', ' + engine.threads + ' threads' + (engine.isolated ? '' : ' (not isolated)');
  engine.dispose();
  return { times, seconds, backend };
}`;

async function browserSide(data: string, size: number, epochs: number, threads: number, predictions: number): Promise<Side> {
  const bundle = mkdtempSync(join(tmpdir(), 'pf-bench-browser-'));
  const good = join(data, 'fabric', 'train', 'good');
  const names = readdirSync(good).sort();
  const server = await serveStatic(
    { '/': '<!doctype html><meta charset="utf-8"><title>bench</title>' },
    { folders: { '/lib/': bundle, '/good/': good, '/test/': join(data, 'fabric', 'test', 'good') } },
  );
  const browser = await launchChromium();
  try {
    await buildBrowser({ outDir: bundle, minify: true });
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    const args = JSON.stringify({ names, size, epochs, threads, predictions });
    const result = (await page.evaluate(`(${IN_PAGE})(${args})`)) as { times: number[]; seconds: number[]; backend: string };
    return { steps: stepSeconds(result.times), predictions: result.seconds, backend: result.backend };
  } finally {
    await browser.close();
    await server.close();
    rmSync(bundle, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      size: { type: 'string', default: '256' },
      steps: { type: 'string', default: '5' },
      predictions: { type: 'string', default: '5' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const size = countOption('--size', values.size);
  if (size % 32 !== 0) throw new UsageError(`--size must be a multiple of 32 (got ${size})`);
  const steps = countOption('--steps', values.steps);
  const predictions = countOption('--predictions', values.predictions);
  const threads = values.threads === undefined ? availableParallelism() : countOption('--threads', values.threads);
  // Enough epochs for the warm-up step and the timed ones.
  const epochs = Math.ceil((steps + 1) / STEPS_PER_EPOCH);
  const root = mkdtempSync(join(tmpdir(), 'pf-bench-browser-data-'));
  try {
    await synthesize({ out: root, categories: ['fabric'], size, train: IMAGES, testGood: 1, testDefect: 0 });
    const test = new Uint8Array(readFileSync(join(root, 'fabric', 'test', 'good', '000.png')));
    const node = await nodeSide(root, join(root, 'node.pflow'), size, epochs, threads, test, predictions);
    const chromium = await browserSide(root, size, epochs, threads, predictions);
    const row = (what: string, n: number[], c: number[]) => ({ what, node_s: median(n), chromium_s: median(c), ratio: median(c) / median(n) });
    const rows = [
      row('training step (batch 2)', node.steps.slice(0, steps), chromium.steps.slice(0, steps)),
      row('inspection (PNG in: map, score, regions)', node.predictions, chromium.predictions),
    ];
    const result = {
      bench: 'browser',
      size,
      threads,
      steps,
      predictions,
      node_backend: node.backend,
      chromium_backend: chromium.backend,
      rows,
      node,
      chromium,
    };
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    console.log(
      `default model at ${size}x${size}, medians of ${steps} steps and ${predictions} inspections; Node: ${node.backend}; Chromium: ${chromium.backend}`,
    );
    for (const r of rows) {
      const verdict = r.ratio <= 1.25 ? 'within 1.25x' : 'OVER 1.25x';
      console.log(`  ${r.what.padEnd(42)} Node ${r.node_s.toFixed(3)} s   Chromium ${r.chromium_s.toFixed(3)} s   ratio ${r.ratio.toFixed(2)} (${verdict})`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
