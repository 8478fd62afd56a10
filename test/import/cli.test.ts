/**
 * `pyramidflow import` end to end: the official code's checkpoints (committed fixtures) and a
 * folder of good images in, a model file out that `predict` takes: its template is the mean
 * latents of the good images kept for it, its thresholds set on the held-out ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../../src/cli/program.js';
import { readModelFile } from '../../src/api/model-files.js';
import { predict } from '../../src/api/predict.js';
import { restoreModel, restoreTemplate } from '../../src/flow/saved-model.js';
import { computeTemplate } from '../../src/detect/inference.js';
import { loadResized } from '../../src/data/loader.js';
import { normalizeImage } from '../../src/data/pixels.js';
import { fakeContext, argv } from '../cli/fake-context.js';
import { makeTempDir, writeTestPng } from '../data/helpers.js';
import { writeFileSync } from 'node:fs';
import { exportSafetensors } from '../../src/export/safetensors.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'official');

async function goodFolder(dir: string, count: number): Promise<string> {
  const good = join(dir, 'good');
  let seed = 7;
  for (let i = 0; i < count; i++) {
    const px = new Uint8Array(32 * 32 * 3);
    for (let p = 0; p < px.length; p++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      px[p] = 100 + (seed >>> 26); // a smooth texture with small noise
    }
    await writeTestPng(join(good, `g${String(i).padStart(2, '0')}.png`), 32, 32, 3, px);
  }
  return good;
}

test('import --checkpoint tiny.npz: a model file whose template and thresholds come from the good images; predict takes it', async () => {
  const { dir, cleanup } = makeTempDir('pf-import-');
  try {
    const good = await goodFolder(dir, 10);
    const out = join(dir, 'tiny.pflow');
    const ctx = fakeContext();
    const code = await runCli(argv('import', '--checkpoint', join(fixtures, 'tiny.npz'), '--good', good, '--out', out), ctx);
    assert.equal(code, 0, ctx.stderr.text);
    assert.match(ctx.stdout.text, /model written to .*tiny\.pflow from .*tiny\.npz \(npz, state_dict_pixel\)/);
    assert.match(ctx.stdout.text, /32x32, 3 levels, 1 stacks, 4 channels, kernel 3, cvn/);
    const saved = readModelFile(out);
    assert.equal(saved.training.trainFiles.length, 9);
    assert.equal(saved.training.holdoutFiles.length, 1);
    assert.equal(saved.thresholds?.source, 'holdout');
    // the template is the mean latents (evaluation mode) of the template images, as the official code computes it
    const model = restoreModel(saved);
    const images = await loadResized(saved.training.trainFiles, 32, 32);
    const want = computeTemplate(model, images.length, (i) => normalizeImage(images[i]!));
    const got = restoreTemplate(saved)!;
    got.forEach((t, k) => assert.deepEqual(t.values(), want[k]!.values()));
    const results = await predict({ model: out, inputs: [join(good, 'g00.png')] });
    assert.equal(results.length, 1);
    const result = results[0]!;
    if (result.error) assert.fail(result.error.message);
    assert.ok(Number.isFinite(result.score));
    // an existing model file is replaced only with --force
    const again = fakeContext();
    assert.equal(await runCli(argv('import', '--checkpoint', join(fixtures, 'tiny.pt'), '--good', good, '--out', out), again), 1);
    assert.match(again.stderr.text, /exists \(a pyramidflow model file\); give --force/);
    const forced = fakeContext();
    assert.equal(
      await runCli(argv('import', '--checkpoint', join(fixtures, 'tiny.pt'), '--good', good, '--out', out, '--force', '--json'), forced),
      0,
      forced.stderr.text,
    );
    assert.equal(JSON.parse(forced.stdout.text).format, 'torch');
  } finally {
    cleanup();
  }
});

test('import names the option a checkpoint needs, and refuses --state for what it lacks', async () => {
  const { dir, cleanup } = makeTempDir('pf-import-');
  try {
    const good = await goodFolder(dir, 3);
    const run = async (...args: string[]): Promise<{ code: number; err: string }> => {
      const ctx = fakeContext();
      const code = await runCli(argv('import', '--good', good, '--out', join(dir, 'm.pflow'), ...args), ctx);
      return { code, err: ctx.stderr.text };
    };
    const svn = await run('--checkpoint', join(fixtures, 'tiny_svn.pt'));
    assert.equal(svn.code, 1);
    assert.match(svn.err, /tiny_svn\.pt: does not say the image size the model was trained at: give --size \(or --height and --width\)/);
    const ok = await run('--checkpoint', join(fixtures, 'tiny_svn.pt'), '--size', '32');
    assert.equal(ok.code, 0, ok.err);
    const pro = await run('--checkpoint', join(fixtures, 'tiny.npz'), '--state', 'pro', '--force');
    assert.match(pro.err, /--size/);
    const bad = await run('--checkpoint', join(fixtures, 'tiny.npz'), '--state', 'best');
    assert.equal(bad.code, 2);
    const missing = await run('--size', '32');
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--checkpoint is required/);
  } finally {
    cleanup();
  }
});

test('a model exported as safetensors imports again: the same network, weights and running means, no option needed', async () => {
  const { dir, cleanup } = makeTempDir('pf-import-');
  try {
    const good = await goodFolder(dir, 4);
    const first = join(dir, 'svn.pflow');
    const ctx = fakeContext();
    assert.equal(
      await runCli(argv('import', '--checkpoint', join(fixtures, 'public_b3.npz'), '--size', '32', '--good', good, '--out', first), ctx),
      0,
      ctx.stderr.text,
    );
    const saved = readModelFile(first);
    const file = join(dir, 'svn.safetensors');
    writeFileSync(file, exportSafetensors(saved));
    const second = join(dir, 'again.pflow');
    const again = fakeContext();
    assert.equal(await runCli(argv('import', '--checkpoint', file, '--good', good, '--out', second), again), 0, again.stderr.text);
    const back = readModelFile(second);
    assert.deepEqual(back.config, saved.config);
    assert.deepEqual(back.params, saved.params);
    assert.deepEqual(back.buffers, saved.buffers);
    assert.deepEqual(back.template, saved.template);
  } finally {
    cleanup();
  }
});
