/** The whole command line in-process: fake streams, a fake API. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultContext, type CliApi } from '../../src/cli/context.js';
import { runCli, describeError } from '../../src/cli/program.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import type { ConformanceReport, PredictedImage, PredictResult, TrainProgress, TrainSummary } from '../../src/api/types.js';
import { fakeTestResult } from '../report/fixture.js';
import { argv, fakeContext, textBuffer } from './fake-context.js';

const summary: TrainSummary = {
  modelFile: 'm.pflow',
  config: fakeTestResult().config,
  epochs: 2,
  steps: 20,
  seconds: 12,
  trainImages: 18,
  holdoutImages: 2,
  lossPerEpoch: [1.5, 1.2],
  thresholds: fakeTestResult().thresholds,
  notes: ['save-memory is off'],
};

test('train passes parsed options, prints one line per epoch and the summary', async () => {
  const events: TrainProgress[] = [
    { kind: 'start', epoch: 1, epochs: 2, step: 0, stepsPerEpoch: 10 },
    { kind: 'step', epoch: 1, epochs: 2, step: 1, stepsPerEpoch: 10, loss: 1.7, imagesPerSecond: 3, secondsLeft: 30 },
    { kind: 'epoch', epoch: 1, epochs: 2, step: 10, stepsPerEpoch: 10, loss: 1.5, imagesPerSecond: 3.5, secondsLeft: 6 },
    { kind: 'epoch', epoch: 2, epochs: 2, step: 10, stepsPerEpoch: 10, loss: 1.2, imagesPerSecond: 3.5, secondsLeft: 0 },
    { kind: 'done', epoch: 2, epochs: 2, step: 10, stepsPerEpoch: 10 },
  ];
  const ctx = fakeContext({
    train: async (_opts, onProgress) => {
      for (const e of events) onProgress?.(e);
      return summary;
    },
  });
  const code = await runCli(
    argv('train', '--data', 'root', '--category', 'carpet', '--out', 'm.pflow', '--batch', '4', '--levels', 'auto', '--no-save-memory'),
    ctx,
  );
  assert.equal(code, 0, ctx.stderr.text);
  assert.deepEqual(ctx.calls[0].args[0], { data: 'root', category: 'carpet', out: 'm.pflow', batch: 4, levels: 'auto', saveMemory: false });
  assert.match(ctx.stdout.text, /^epoch 1\/2 {2}loss 1\.5 {2}3\.5 img\/s {2}6\.0s left$/m);
  assert.match(ctx.stdout.text, /^epoch 2\/2 {2}loss 1\.2/m);
  assert.match(ctx.stdout.text, /model written to m\.pflow/);
  assert.match(ctx.stdout.text, /note\s+save-memory is off/);
  assert.doesNotMatch(ctx.stdout.text + ctx.stderr.text, /\[|█|░/, 'no bar when neither stream is a terminal');
});

test('train --json prints one JSON object per event, then the summary', async () => {
  const ctx = fakeContext({
    train: async (_opts, onProgress) => {
      onProgress?.({ kind: 'step', epoch: 1, epochs: 1, step: 1, stepsPerEpoch: 1, loss: 2 });
      return summary;
    },
  });
  assert.equal(await runCli(argv('train', '--data', 'd', '--out', 'm.pflow', '--json'), ctx), 0);
  assert.deepEqual(ctx.calls[0].args[0], { data: 'd', out: 'm.pflow' }, 'flags left out stay undefined (the API decides)');
  const lines = ctx.stdout.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal(lines[0].kind, 'step');
  assert.equal(lines[1].kind, 'summary');
  assert.equal(lines[1].modelFile, 'm.pflow');
});

test('test --json has the overall metrics on top and per type; --report: the library writes the report, once', async () => {
  const ctx = fakeContext({ test: async (opts) => ({ ...fakeTestResult(), reportFile: `${opts.report}/index.html` }) });
  assert.equal(await runCli(argv('test', '--model', 'm', '--data', 'd', '--report', 'out', '--json'), ctx), 0);
  const json = JSON.parse(ctx.stdout.text) as Record<string, unknown>;
  for (const key of ['pixel_auroc', 'image_auroc', 'aupro', 'pro_full', 'pixel_f1_max', 'image_f1_max', 'images', 'seconds']) {
    assert.equal(typeof json[key], 'number', key);
  }
  assert.equal(json.images, 40);
  assert.deepEqual(Object.keys(json.per_type as object).sort(), ['crack', 'good']);
  assert.equal(json.report, 'out/index.html');
  assert.equal((ctx.calls[0]!.args[0] as { report?: string }).report, 'out');
  assert.deepEqual(
    ctx.calls.map((c) => c.fn),
    ['test'],
    'test() writes the report: the CLI does not write it again',
  );
});

test('test prints the metrics table, confusion counts and the gap to F1-max', async () => {
  const ctx = fakeContext({ test: async () => fakeTestResult() });
  assert.equal(await runCli(argv('test', '--model', 'm', '--data', 'd'), ctx), 0);
  const out = ctx.stdout.text;
  assert.match(out, /^overall\s+40\s+90\.0\s+95\.0\s+80\.0\s+85\.0\s+88\.0\s+50\.0$/m);
  assert.match(out, /^crack\s+20\s+85\.0/m);
  assert.match(out, /good images rejected\s+2 of 20 \(10\.0%\)/);
  assert.match(out, /defect images missed\s+3 of 20 \(15\.0%\)/);
  assert.match(out, /gap to F1-max\s+image \+0\.04/);
  assert.deepEqual(
    ctx.calls.map((c) => c.fn),
    ['test'],
    'no report without --report',
  );
});

test('predict --json prints one object per image without the map', async () => {
  const prediction: PredictedImage = {
    file: 'a.png',
    width: 4,
    height: 4,
    score: 1.25,
    normalizedScore: 0.7,
    verdict: 'defect',
    regions: [{ area: 3, x: 1, y: 1, width: 2, height: 2, peak: 1.25 }],
    map: new Float32Array(16),
  };
  const streaming =
    (results: PredictResult[]): CliApi['predict'] =>
    async (_opts, onResult) => {
      for (const r of results) onResult?.(r);
      return results;
    };
  const ctx = fakeContext({ predict: streaming([prediction, { ...prediction, file: 'b.png', verdict: 'good', regions: [] }]) });
  assert.equal(await runCli(argv('predict', '--model', 'm', 'a.png', 'b.png', '--out', 'o', '--json'), ctx), 0);
  const lines = ctx.stdout.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal(lines[0].file, 'a.png');
  assert.equal('map' in lines[0], false);
  assert.equal(ctx.stderr.text, '');
  const table = fakeContext({ predict: streaming([prediction]) });
  assert.equal(await runCli(argv('predict', '--model', 'm', 'a.png'), table), 0);
  assert.match(table.stdout.text, /^verdict\s+score\s+normalised\s+regions\s+file$/m);
  assert.match(table.stdout.text, /^defect\s+1\.25\s+0\.700\s+1\s+a\.png$/m);
  assert.match(table.stdout.text, /^1 of 1 images look defective$/m);
});

test('conformance exits 1 when a check fails and prints errors against tolerances', async () => {
  const report = (ok: boolean): ConformanceReport => ({
    file: ok ? 'good.json' : 'bad.json',
    ok,
    checks: [{ name: 'forward', maxError: ok ? 1e-7 : 3e-3, tolerance: 1e-5, ok }],
  });
  const ctx = fakeContext({ conformance: async (file) => report(file === 'good.json') });
  assert.equal(await runCli(argv('conformance', 'good.json', 'bad.json'), ctx), 1);
  assert.match(ctx.stdout.text, /bad\.json: 1 of 1 checks FAIL/);
  assert.match(ctx.stdout.text, /^forward\s+3\.00e-3\s+1\.00e-5\s+FAIL$/m);
  const passing = fakeContext({ conformance: async () => report(true) });
  assert.equal(await runCli(argv('conformance', 'good.json', '--json'), passing), 0);
  assert.equal((JSON.parse(passing.stdout.text) as { ok: boolean }).ok, true);
  // the WebAssembly kernels by default (the API's default: options left out stay undefined), the JS reference on request; the backend is printed
  assert.deepEqual(passing.calls[0], { fn: 'conformance', args: ['good.json', {}] });
  const js = fakeContext({ conformance: async () => ({ ...report(true), backend: 'js' }) });
  assert.equal(await runCli(argv('conformance', '--backend', 'js', '--threads', '1', 'good.json'), js), 0);
  assert.deepEqual(js.calls[0], { fn: 'conformance', args: ['good.json', { backend: 'js', threads: 1 }] });
  assert.match(js.stdout.text, /^good\.json \(js\): all checks pass$/m);
  const bad = fakeContext({ conformance: async () => report(true) });
  assert.notEqual(await runCli(argv('conformance', '--backend', 'gpu', 'good.json'), bad), 0);
  assert.match(bad.stderr.text, /--backend must be one of wasm, js \(got 'gpu'\)/);
});

test('serve hands the parsed model specs to the server and stays alive', async () => {
  let received: unknown;
  const ctx = fakeContext(
    {},
    {
      loadServer: async () => ({
        parseModelSpec: (spec: string) => (spec.includes('=') ? { name: spec.split('=')[0], file: spec.split('=')[1] } : { name: 'x', file: spec }),
        resolveToken: async () => undefined,
        startServer: async (opts) => {
          received = opts;
          return { url: 'http://127.0.0.1:1' };
        },
      }),
    },
  );
  assert.equal(await runCli(argv('serve', '--model', 'a=a.pflow', '--model', 'b.pflow', '--port', '0', '--max-queue', '3'), ctx), 0);
  assert.deepEqual(received, {
    port: 0,
    maxQueue: 3,
    models: [
      { name: 'a', file: 'a.pflow' },
      { name: 'x', file: 'b.pflow' },
    ],
  });
  assert.equal(ctx.keepAlive, true);
});

test('errors: a user error is one line with exit code 1, a usage error exit code 2', async () => {
  const ctx = fakeContext({
    info: async (file) => {
      throw new PyramidFlowError(`Model file "${file}" does not exist.`);
    },
  });
  assert.equal(await runCli(argv('info', 'missing.pflow'), ctx), 1);
  assert.equal(ctx.stderr.text, 'pyramidflow: Model file "missing.pflow" does not exist.\n');

  const usage = fakeContext();
  assert.equal(await runCli(argv('train', '--data', 'd', '--out', 'm', '--batch', '1'), usage), 2);
  assert.equal(usage.stderr.text, 'pyramidflow: --batch must be >= 2 (got 1)\n');
  assert.equal(usage.calls.length, 0, 'the API is not called');

  const unknown = fakeContext();
  assert.equal(await runCli(argv('predict', '--model', 'm', 'a.png', '--bogus'), unknown), 2);
  assert.match(unknown.stderr.text, /^pyramidflow: unknown option '--bogus'/);

  const help = fakeContext();
  assert.equal(await runCli(argv('train', '--help'), help), 0);
  assert.match(help.stdout.text, /Examples?:\n\s+\$ pyramidflow train/);
});

test('describeError shows a stack only with --debug', () => {
  const bug = new TypeError('x is undefined');
  assert.equal(describeError(bug, false).text, 'pyramidflow: x is undefined (rerun with --debug for details)\n');
  assert.match(describeError(bug, true).text, /^pyramidflow: x is undefined\nTypeError: x is undefined\n\s+at /);
  assert.equal(describeError(new PyramidFlowError('bad'), true).exitCode, 1);
});

test('every command has --help with an example', async () => {
  for (const command of ['demo', 'train', 'test', 'predict', 'calibrate', 'info', 'conformance', 'synth', 'serve']) {
    const ctx = fakeContext();
    assert.equal(await runCli(argv(command, '--help'), ctx), 0, command);
    assert.match(ctx.stdout.text, /Examples?:\n\s+\$ pyramidflow /, command);
  }
});

test('synth runs the real synthesiser and prints what it wrote', async () => {
  const out = mkdtempSync(join(tmpdir(), 'pyramidflow-synth-'));
  try {
    const ctx = { ...defaultContext(), stdout: textBuffer(), stderr: textBuffer() };
    const code = await runCli(
      argv('synth', '--out', out, '--categories', 'fabric', '--size', '32', '--train', '2', '--test-good', '1', '--test-defect', '1'),
      ctx,
    );
    assert.equal(code, 0, ctx.stderr.text);
    assert.match(ctx.stdout.text, /^synthetic data set written to .+\n {2}fabric \(texture\): 2 training, 1 good \+ 1 defect test images/);
    assert.ok(existsSync(join(out, 'fabric', 'train', 'good')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
