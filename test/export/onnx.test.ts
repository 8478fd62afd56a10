/**
 * The ONNX export checked in ONNX Runtime (native CPU and WebAssembly) against the Detector's own
 * maps, on small synthetic models of every block kind (up, down, middle: levels >= 3), both
 * volume norms and both downsample modes; the ONNX checker (Debian's python3-onnx); the
 * metadata; a wrong input size; and the command line's error cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBackend } from '../../src/api/runtime.js';
import { saveModelFile } from '../../src/api/model-files.js';
import { runCli } from '../../src/cli/program.js';
import { exportOnnx, isOnnxHead, type OnnxExportOptions } from '../../src/export/onnx.js';
import { decodeOnnx } from '../../src/export/onnx-graph.js';
import type { Detector } from '../../src/detect/detector.js';
import type { ModelOptions } from '../../src/flow/types.js';
import { PROGRAM } from '../../src/util/version.js';
import { argv, fakeContext } from '../cli/fake-context.js';
import { randomImages, syntheticDetector } from './onnx-fixture.js';
import { feedOf, openSession, type RuntimeName } from './onnx-runtimes.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-onnx-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const RUNTIMES: RuntimeName[] = ['ort-node', 'ort-web'];
const TOL = 1e-4;

interface Case {
  name: string;
  model: ModelOptions;
  export?: OnnxExportOptions;
}

// Levels >= 3 hold all three block kinds (L=3: Middle0, Up0, Down1; L=4: Middle0, Down2, Up0, Middle1).
const CASES: Case[] = [
  { name: 'cvn, maxpool, L3', model: { volumeNorm: 'cvn', downsample: 'maxpool', levels: 3 } },
  { name: 'svn, maxpool, L3, 2 stacks', model: { volumeNorm: 'svn', downsample: 'maxpool', levels: 3, stacks: 2 } },
  { name: 'cvn, nearest, L4, 48x32, kernel 5', model: { volumeNorm: 'cvn', downsample: 'nearest', levels: 4, height: 48, width: 32, kernel: 5 } },
  {
    name: 'svn, nearest, L3, float input, latents, opset 18',
    model: { volumeNorm: 'svn', downsample: 'nearest', levels: 3 },
    export: { input: 'float-nchw', outputs: 'latents', opset: 18 },
  },
];

interface Diff {
  map: number;
  score: number;
}

/** The largest map difference relative to the map's maximum, and the largest relative score difference. */
async function compare(detector: Detector, bytes: Uint8Array, runtime: RuntimeName, layout: 'uint8-nhwc' | 'float-nchw'): Promise<Diff> {
  const { height, width } = detector.config;
  const images = randomImages(5, height, width, 1234);
  const ours = detector.modelMaps(images);
  const session = await openSession(runtime, bytes);
  const out = await session.run(feedOf(images, layout));
  const map = out.anomaly_map!,
    score = out.score!;
  assert.deepEqual([...map.dims], [images.length, 1, height, width]);
  assert.deepEqual([...score.dims], [images.length]);
  const t = detector.thresholds;
  const HW = height * width;
  let mapErr = 0,
    scoreErr = 0;
  ours.forEach((m, n) => {
    let max = 0,
      err = 0;
    for (let i = 0; i < HW; i++) {
      max = Math.max(max, Math.abs(m[i]!));
      err = Math.max(err, Math.abs(m[i]! - map.data[n * HW + i]!));
    }
    const s = Math.max(...m);
    mapErr = Math.max(mapErr, err / max);
    scoreErr = Math.max(scoreErr, Math.abs(s - score.data[n]!) / Math.abs(s));
    assert.equal(score.data[n]! > t.image, s > t.image, `${runtime}: image ${n}: the verdict differs (score ${s} vs ${score.data[n]}, threshold ${t.image})`);
  });
  return { map: mapErr, score: scoreErr };
}

const measured: string[] = [];

await ensureBackend(1);

for (const c of CASES) {
  test(`ONNX export matches the Detector in ORT-node and ORT-web: ${c.name}`, async () => {
    const detector = syntheticDetector(c.model);
    const { bytes } = exportOnnx(detector, c.export);
    for (const runtime of RUNTIMES) {
      const d = await compare(detector, bytes, runtime, c.export?.input ?? 'uint8-nhwc');
      measured.push(`${c.name} ${runtime}: map ${d.map.toExponential(2)}, score ${d.score.toExponential(2)}`);
      assert.ok(d.map <= TOL, `${runtime}: maps differ by ${d.map} of their maximum`);
      assert.ok(d.score <= TOL, `${runtime}: scores differ by ${d.score}`);
    }
    if (c.export?.outputs === 'latents') {
      const session = await openSession('ort-node', bytes);
      const out = await session.run(feedOf(randomImages(2, detector.config.height, detector.config.width, 5), c.export.input ?? 'uint8-nhwc'));
      for (let k = 0; k < detector.config.levels; k++) {
        const h = detector.config.height >> k,
          w = detector.config.width >> k;
        assert.deepEqual([...out[`latent_${k}`]!.dims], [2, detector.config.channels, h, w]);
      }
    }
  });
}

test.after(() => {
  if (measured.length) console.log(`ONNX export, largest differences from the Detector:\n  ${measured.join('\n  ')}`);
});

test('the graph: IR 8, opset 17, one dynamic batch dimension, weights and template as initializers, metadata for the verdicts', () => {
  const detector = syntheticDetector({ levels: 3 });
  const { bytes, ops } = exportOnnx(detector);
  assert.ok(isOnnxHead(bytes.subarray(0, 4096)));
  const m = decodeOnnx(bytes);
  assert.equal(Number(m.irVersion), 8);
  assert.deepEqual(
    m.opsetImport.map((o) => [o.domain, Number(o.version)]),
    [['', 17]],
  );
  const g = m.graph!;
  const inputs = g.input ?? [],
    outputs = g.output ?? [];
  assert.deepEqual(
    inputs.map((i) => i.name),
    ['image'],
  );
  const dims = (inputs[0]!.type!.tensorType!.shape!.dim ?? []).map((d) => d.dimParam || Number(d.dimValue));
  assert.deepEqual(dims, ['N', 32, 32, 3]);
  assert.deepEqual(
    outputs.map((o) => o.name),
    ['anomaly_map', 'score'],
  );
  const names = (g.initializer ?? []).map((t) => t.name ?? '');
  for (let k = 0; k < 3; k++) assert.ok(names.includes(`template_${k}`), `template_${k}`);
  assert.ok(names.some((n) => /block0_running_mean/.test(n)));
  assert.ok(names.some((n) => /block0_invconv/.test(n)));
  for (const op of ['Conv', 'LeakyRelu', 'Atan', 'Exp', 'MaxPool', 'Resize', 'Slice', 'Concat', 'ReduceMean', 'ReduceMax', 'Abs']) assert.ok(ops[op], op);
  const meta: Record<string, string> = Object.fromEntries(m.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  assert.equal(meta['pyramidflow.version'], PROGRAM.version);
  assert.deepEqual(JSON.parse(meta['pyramidflow.config']!), detector.config);
  assert.equal(meta['pyramidflow.input_layout'], 'uint8-nhwc');
  const t = JSON.parse(meta['pyramidflow.thresholds']!) as { image: number; imageFpr: number; pixel: number; pixelFpr: number };
  assert.equal(t.image, detector.thresholds.image);
  assert.equal(t.imageFpr, detector.thresholds.imageFpr);
  assert.equal(t.pixel, detector.thresholds.pixel);
  assert.equal(t.pixelFpr, detector.thresholds.pixelFpr);
  assert.match(meta['pyramidflow.normalization']!, /0\.485/);
});

test('the ONNX checker (python3-onnx, full check) accepts the graph', (t) => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const msg = '!!! SKIPPED: /usr/bin/python3 has no onnx module (install python3-onnx): the ONNX checker did not run !!!';
    console.error(msg);
    t.skip(msg);
    return;
  }
  for (const c of [CASES[0]!, CASES[2]!]) {
    const file = join(dir, `checked-${c.model.levels}.onnx`);
    writeFileSync(file, exportOnnx(syntheticDetector(c.model), { outputs: 'latents' }).bytes);
    const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)', file], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  }
});

test('an input of the wrong size gets a clear error from both runtimes', async () => {
  const { bytes } = exportOnnx(syntheticDetector({ levels: 3 }));
  for (const runtime of RUNTIMES) {
    const session = await openSession(runtime, bytes);
    await assert.rejects(
      session.run({ type: 'uint8', data: new Uint8Array(16 * 16 * 3), dims: [1, 16, 16, 3] }),
      /invalid dimensions for input: image.*\n?.*Got: 16 Expected: 32/s,
    );
  }
});

test('pyramidflow export: writes the file, refuses an existing one without --force and a foreign one always; unknown format, unfinished model', async () => {
  const detector = syntheticDetector({ levels: 3 });
  const model = join(dir, 'm.pflow');
  saveModelFile(model, detector.saved);
  const out = join(dir, 'm.onnx');
  const run = async (...args: string[]) => {
    const ctx = fakeContext();
    const code = await runCli(argv('export', ...args), ctx);
    return { code, out: ctx.stdout.text, err: ctx.stderr.text };
  };
  const first = await run('--model', model, '--format', 'onnx', '--out', out);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /onnx model written to .*m\.onnx/);
  assert.ok(isOnnxHead(readFileSync(out).subarray(0, 4096)));

  const again = await run('--model', model, '--format', 'onnx', '--out', out);
  assert.equal(again.code, 1);
  assert.match(again.err, /exists; give --force to replace it/);
  const forced = await run('--model', model, '--format', 'onnx', '--out', out, '--force', '--json');
  assert.equal(forced.code, 0, forced.err);
  assert.equal((JSON.parse(forced.out) as { format: string }).format, 'onnx');

  const foreign = join(dir, 'notes.onnx');
  writeFileSync(foreign, 'not a model\n');
  const refused = await run('--model', model, '--format', 'onnx', '--out', foreign, '--force');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /exists and is not an ONNX model; refusing to overwrite it/);
  assert.equal(readFileSync(foreign, 'utf8'), 'not a model\n');

  const unknown = await run('--model', model, '--format', 'tflite', '--out', join(dir, 'x.tflite'));
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /--format must be one of onnx, safetensors \(got 'tflite'\)/);
  assert.ok(!existsSync(join(dir, 'x.tflite')));

  const unfinished = join(dir, 'checkpoint.pflow');
  saveModelFile(unfinished, { ...detector.saved, template: null, thresholds: null, training: { ...detector.saved.training, epochsDone: 0 } });
  const early = await run('--model', unfinished, '--format', 'onnx', '--out', join(dir, 'early.onnx'));
  assert.equal(early.code, 1);
  assert.match(early.err, /training has not finished/);
  assert.ok(!existsSync(join(dir, 'early.onnx')));

  const badOpset = await run('--model', model, '--format', 'onnx', '--out', join(dir, 'o.onnx'), '--opset', '19');
  assert.equal(badOpset.code, 2);
  assert.match(badOpset.err, /--opset must be <= 18/);
});
