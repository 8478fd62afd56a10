/**
 * Training in the page is training on Node: Chromium (cross-origin isolated, 2 kernel threads in
 * Web Workers) and the Node CLI (1 thread) train a tiny model on the same generated images with
 * the same seed and options, and give bit-identical weights, running means, template and
 * thresholds (the same kernel build: relaxed SIMD on both); the maps of the two models agree
 * within 1e-5 of their maximum. A model stopped in the page and continued equals the
 * uninterrupted one. The CLI's model loaded in the page gives the scores, verdicts and regions of
 * Node's `predict` (and within 1e-4 on the plain-SIMD build), and the page's model file is read
 * by the CLI. Over plain HTTP from another host (no secure context: no crypto.subtle, no
 * isolation) the engine runs on one thread, says so, and still reads, trains and writes model
 * files (SHA-256 in JavaScript). The pages log no errors and ask nothing of other origins.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { predict } from '../../src/api/index.js';
import { decodeSavedModel, type SavedModel } from '../../src/flow/saved-model.js';
import {
  bundleToTemp,
  chromiumSkip,
  insecureOrigin,
  launchChromium,
  openTestPage,
  serveTestPage,
  type StaticServer,
  type TempBundle,
  type WatchedPage,
} from './harness.js';
import { encodePng, pattern } from './images.js';

const TINY = { size: 32, channels: 4, kernel: 3, levels: 2, stacks: 1, epochs: 2, seed: 7 };
/** Two configurations: the defaults' kind, and the other volume norm with augmentation and memory saving. */
const CONFIGS = [
  { name: 'cvn', options: { ...TINY, volumeNorm: 'cvn', augment: 'none' }, flags: ['--volume-norm', 'cvn', '--augment', 'none'] },
  {
    name: 'svn-texture-save-memory',
    options: { ...TINY, volumeNorm: 'svn', augment: 'texture', saveMemory: true },
    flags: ['--volume-norm', 'svn', '--augment', 'texture', '--save-memory'],
  },
] as const;

let dir: string;
let bundle: TempBundle;
let server: StaticServer;
let browser: Browser;
let watched: WatchedPage;
const goodNames = Array.from({ length: 9 }, (_, i) => `good-${i}.png`);
const testNames = ['good-0.png', 'defect.png'];

/** Runs the CLI from source; fails with its output when it fails. */
function cli(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `pyramidflow ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  if (chromiumSkip) return;
  dir = mkdtempSync(join(tmpdir(), 'pf-browser-train-'));
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'test'));
  const files: Record<string, Uint8Array> = {};
  for (const [i, name] of goodNames.entries()) files[name] = encodePng(40, 40, 'rgb', 8, pattern(40, 40, 3, 100 + i));
  const defect = pattern(40, 40, 3, 100);
  for (let y = 12; y < 22; y++) for (let x = 14; x < 26; x++) defect.splice((y * 40 + x) * 3, 3, 255, 255, 255);
  files['defect.png'] = encodePng(40, 40, 'rgb', 8, defect);
  for (const name of goodNames) writeFileSync(join(dir, 'data', name), files[name]!);
  for (const name of testNames) writeFileSync(join(dir, 'test', name), files[name]!);
  bundle = await bundleToTemp();
  server = await serveTestPage(bundle, Object.fromEntries(Object.entries(files).map(([name, bytes]) => [`/images/${name}`, bytes])));
  browser = await launchChromium();
  watched = await openTestPage(browser, server);
});

after(async () => {
  await watched?.close();
  await browser?.close();
  await server?.close();
  bundle?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Asserts two model files' numbers are bit-identical: weights, running means, template, thresholds. */
function assertSameModel(page: SavedModel, node: SavedModel, what: string): void {
  for (const part of ['params', 'buffers'] as const) {
    assert.deepEqual(Object.keys(page[part]).sort(), Object.keys(node[part]).sort(), `${what}: ${part} names differ`);
    for (const [name, t] of Object.entries(node[part])) assert.deepEqual(page[part][name]!.data, t.data, `${what}: ${part} ${name} differs`);
  }
  assert.equal(page.template?.length, node.template?.length, `${what}: template levels differ`);
  node.template!.forEach((t, k) => assert.deepEqual(page.template![k]!.data, t.data, `${what}: template level ${k} differs`));
  const { note: _a, ...pageThresholds } = page.thresholds!;
  const { note: _b, ...nodeThresholds } = node.thresholds!;
  assert.deepEqual(pageThresholds, nodeThresholds, `${what}: thresholds differ`);
  assert.deepEqual(
    page.training.trainFiles,
    node.training.trainFiles.map((f) => f.split('/').pop()),
    `${what}: training images differ`,
  );
  assert.deepEqual(page.training.lossPerEpoch, node.training.lossPerEpoch, `${what}: losses differ`);
}

interface PagePrediction {
  name: string;
  score: number;
  verdict: string;
  threshold: number;
  regions: unknown[];
  width: number;
  height: number;
  map: string;
}

const paths = (names: readonly string[]): string[] => names.map((n) => `/images/${n}`);

for (const config of CONFIGS) {
  test(`${config.name}: the page trains the CLI's weights bit for bit, stops and continues exactly, and its maps match`, {
    skip: chromiumSkip,
    timeout: 300_000,
  }, async () => {
    const out = join(dir, `${config.name}.pflow`);
    const o = config.options;
    cli(
      [
        'train',
        '--data',
        join(dir, 'data'),
        '--format',
        'folder',
        '--out',
        out,
        '--size',
        '32',
        '--channels',
        '4',
        '--kernel',
        '3',
        '--levels',
        '2',
        '--stack',
        '1',
      ].concat(['--epochs', '2', '--seed', '7', '--threads', '1', ...config.flags]),
    );
    const node = decodeSavedModel(readFileSync(out), out);

    const trained = (await watched.page.evaluate(([p, opts]) => (globalThis as any).pfTest.train(p, opts, 2, 1, true), [paths(goodNames), o] as const)) as {
      bytes: string;
      model: { finished: boolean; training: { steps: number } };
      continued: { bytes: string; model: { finished: boolean; training: { steps: number } } };
    };
    const page = decodeSavedModel(Buffer.from(trained.continued.bytes, 'base64'), 'page model');
    assert.equal(trained.model.finished, false, 'the stopped model says it is not finished');
    // The stop reaches the worker a message later: a step or two after step 1, well before the 8th.
    const stoppedAt = trained.model.training.steps;
    assert.ok(stoppedAt >= 1 && stoppedAt < node.training.steps, `the model stopped at step ${stoppedAt} of ${node.training.steps}`);
    assert.ok(decodeSavedModel(Buffer.from(trained.bytes, 'base64'), 'stopped').resume, 'the stopped model keeps its resume state');
    assert.equal(trained.continued.model.finished, true);
    assert.equal(trained.continued.model.training.steps, node.training.steps);
    assertSameModel(page, node, `${config.name}, stopped at step ${stoppedAt} and continued in the page (2 threads) vs the CLI (1 thread)`);

    // The maps of the two models (the page's in the page, the CLI's through Node's predict) on seen and unseen images.
    const pageResults = (await watched.page.evaluate(([m, p]) => (globalThis as any).pfTest.predict(m, p, 2, 'page.pflow'), [
      trained.continued.bytes,
      paths(testNames),
    ] as const)) as PagePrediction[];
    const nodeResults = await predict({ model: out, inputs: testNames.map((n) => join(dir, 'test', n)), threads: 1, keepMaps: true });
    let worst = 0;
    for (const [k, n] of nodeResults.entries()) {
      if (n.error) assert.fail(`Node predict failed: ${n.error.message}`);
      const map = new Float32Array(new Uint8Array(Buffer.from(pageResults[k]!.map, 'base64')).buffer);
      assert.equal(map.length, n.map!.length, `${n.file}: map sizes differ`);
      const max = n.map!.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
      for (let i = 0; i < map.length; i++) worst = Math.max(worst, Math.abs(map[i]! - n.map![i]!) / max);
      assert.equal(pageResults[k]!.verdict, n.verdict, `${n.file}: verdicts differ`);
    }
    console.log(`${config.name}: page vs Node maps, largest difference ${worst.toExponential(2)} of the maximum`);
    assert.ok(worst <= 1e-5, `the page's maps differ from Node's by ${worst} of their maximum (allowed 1e-5)`);
  });
}

test("the CLI's model in the page gives predict's scores, verdicts and regions; the CLI reads the page's model", {
  skip: chromiumSkip,
  timeout: 300_000,
}, async () => {
  const cliModel = join(dir, 'cvn.pflow'); // trained by the CLI in the first test
  const bytes = readFileSync(cliModel).toString('base64');
  const inPage = (await watched.page.evaluate(([m, p]) => (globalThis as any).pfTest.predict(m, p, 2, 'cvn.pflow'), [
    bytes,
    paths(testNames),
  ] as const)) as PagePrediction[];
  const inNode = await predict({ model: cliModel, inputs: testNames.map((n) => join(dir, 'test', n)), threads: 2 });
  for (const [k, n] of inNode.entries()) {
    if (n.error) assert.fail(`Node predict failed: ${n.error.message}`);
    const p = inPage[k]!;
    console.log(`${n.file}: score ${n.score} from predict, ${p.score} in the page; ${n.regions.length} region(s)`);
    assert.ok(Math.abs(p.score - n.score) <= 1e-6 * Math.abs(n.score), `${n.file}: score ${p.score} in the page, ${n.score} from predict`);
    assert.equal(p.verdict, n.verdict, `${n.file}: verdicts differ`);
    assert.deepEqual(p.regions, n.regions, `${n.file}: regions differ`);
    assert.deepEqual([p.width, p.height], [n.width, n.height]);
  }
  // The plain-SIMD build (browsers without relaxed SIMD): the same verdicts, scores within float rounding (no fused multiply-add).
  const plain = (await watched.page.evaluate(([m, p]) => (globalThis as any).pfTest.predictWith({ threads: 2, relaxedSimd: false }, m, p), [
    bytes,
    paths(testNames),
  ] as const)) as {
    engine: { simd: string; backend: string };
    results: { score: number; verdict: string }[];
  };
  assert.deepEqual([plain.engine.simd, plain.engine.backend], ['plain', 'wasm-simd x2']);
  for (const [k, n] of inNode.entries()) {
    if (n.error) continue;
    assert.ok(
      Math.abs(plain.results[k]!.score - n.score) <= 1e-4 * Math.abs(n.score),
      `${n.file}: plain SIMD score ${plain.results[k]!.score}, predict ${n.score}`,
    );
    assert.equal(plain.results[k]!.verdict, n.verdict);
  }
  // The page's model, written as a file, is a model file for the CLI.
  const trained = (await watched.page.evaluate(([p, opts]) => (globalThis as any).pfTest.train(p, opts, 2), [
    paths(goodNames),
    { ...TINY, epochs: 1 },
  ] as const)) as { bytes: string };
  const file = join(dir, 'from-page.pflow');
  writeFileSync(file, Buffer.from(trained.bytes, 'base64'));
  assert.match(cli(['info', file]), /4ch k3 L2 S1|channels/);
  const [judged] = await predict({ model: file, inputs: [join(dir, 'test', 'defect.png')], threads: 1 });
  if (judged!.error) assert.fail(`the CLI's predict could not use the page's model: ${judged!.error.message}`);
  assert.ok(Number.isFinite(judged!.score));
  assert.deepEqual(watched.problems, [], 'the page reported problems');
  assert.deepEqual(watched.foreign, [], 'the page made requests outside its origin');
});

test('over plain HTTP from another host (no secure context, no isolation): one thread, said so, and models still read, train and write', {
  skip: chromiumSkip,
  timeout: 120_000,
}, async () => {
  const images = Object.fromEntries(goodNames.map((name) => [`/images/${name}`, { file: join(dir, 'data', name) }]));
  const plain = await serveTestPage(bundle, images, { isolated: false });
  const page = await openTestPage(browser, plain, insecureOrigin(plain));
  try {
    const context = (await page.page.evaluate(() => (globalThis as any).pfTest.context())) as { secure: boolean; subtle: boolean; isolated: boolean };
    assert.deepEqual(context, { secure: false, subtle: false, isolated: false }, 'the page should be an insecure, non-isolated context');
    const info = (await page.page.evaluate(([threads]) => (globalThis as any).pfTest.start(threads), [4])) as {
      threads: number;
      isolated: boolean;
      note: string | null;
    };
    assert.equal(info.isolated, false);
    assert.equal(info.threads, 1);
    assert.match(info.note ?? '', /not cross-origin isolated .*one thread/);
    // The model file's SHA-256 without crypto.subtle: the CLI's file is checked on load, and the page's is checked by Node.
    const cliModel = readFileSync(join(dir, 'cvn.pflow')).toString('base64');
    const [scored] = (await page.page.evaluate(([m, p]) => (globalThis as any).pfTest.predict(m, p, 4, 'cvn.pflow'), [
      cliModel,
      ['/images/good-0.png'],
    ] as const)) as PagePrediction[];
    assert.ok(Number.isFinite(scored!.score));
    const trained = (await page.page.evaluate(([p, opts]) => (globalThis as any).pfTest.train(p, opts, 4), [
      paths(goodNames),
      { ...TINY, epochs: 1 },
    ] as const)) as { bytes: string };
    assert.ok(decodeSavedModel(Buffer.from(trained.bytes, 'base64'), 'insecure page model').template, 'the page wrote a finished model file');
    const isolated = (await watched.page.evaluate(([threads]) => (globalThis as any).pfTest.start(threads), [3])) as {
      threads: number;
      isolated: boolean;
      note: string | null;
    };
    assert.deepEqual([isolated.isolated, isolated.threads, isolated.note], [true, 3, null], 'the isolated page runs the threads asked for');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(page.foreign, []);
  } finally {
    await page.close();
    await plain.close();
  }
});
