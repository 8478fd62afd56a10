import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synth, train, test as evaluateModel, predict, calibrate, info } from '../../src/api/index.js';
import { readFloatTiff } from '../../src/data/image.js';
import { restoreModel } from '../../src/flow/saved-model.js';
import { readModelFile, saveModelFile } from '../../src/api/model-files.js';

// One small end-to-end run shared by the checks below: synthetic data, a tiny model, 2 epochs.
const dir = mkdtempSync(join(tmpdir(), 'pf-api-'));
const data = join(dir, 'data');
const model = join(dir, 'm.pflow');
const opts = { data, category: 'fabric', out: model, size: 32, channels: 4, kernel: 3, levels: 3, stacks: 1, epochs: 2, batch: 2, threads: 1 };

test('synth, train, test, predict, calibrate and info work end to end', async () => {
  await synth({ out: data, categories: ['fabric'], size: 32, train: 12, testGood: 3, testDefect: 4, seed: 3 });
  const events: string[] = [];
  const summary = await train(opts, (p) => events.push(p.kind));
  assert.equal(summary.epochs, 2);
  assert.equal(summary.trainImages + summary.holdoutImages, 12);
  assert.equal(summary.holdoutImages, 1);
  assert.ok(summary.lossPerEpoch.every(Number.isFinite));
  assert.ok(events.includes('step') && events.includes('epoch') && events.includes('checkpoint') && events.at(-1) === 'done');
  assert.equal(summary.thresholds.source, 'holdout');
  assert.match(summary.thresholds.note ?? '', /only 1 good image/);

  const maps = join(dir, 'maps');
  const result = await evaluateModel({ model, data, category: 'fabric', maps });
  assert.equal(result.overall.images, 7);
  for (const v of [result.overall.pixel_auroc, result.overall.image_auroc, result.overall.aupro]) assert.ok(v >= 0 && v <= 1);
  assert.equal(result.confusion.goodImages + result.confusion.defectImages, 7);
  const tiff = await readFloatTiff(join(maps, 'fabric', 'test', 'good', '000.tiff'));
  assert.equal(tiff.width, 32);
  const original = await evaluateModel({ model, data, category: 'fabric', evalSize: 'original' });
  assert.equal(original.overall.images, 7);

  const preds = await predict({ model, inputs: [join(data, 'fabric', 'test', 'good')], out: join(dir, 'pred'), keepMaps: true });
  assert.equal(preds.length, 3);
  const p = preds[0]!;
  assert.ok(!p.error, p.error?.message);
  assert.equal(p.map?.length, p.width * p.height);
  assert.ok(p.verdict === 'good' || p.verdict === 'defect');
  assert.equal(p.verdict === 'defect', p.score > summary.thresholds.image);
  assert.ok(existsSync(p.pictures!.heatmap) && existsSync(p.pictures!.overlay) && existsSync(p.pictures!.outline));
  assert.deepEqual([...readFileSync(p.pictures!.heatmap).subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"

  // Loading the model again reproduces the maps bit for bit.
  const again = await predict({ model, inputs: [join(data, 'fabric', 'test', 'good')], keepMaps: true });
  assert.ok(!again[0]!.error);
  assert.deepEqual(again[0]!.map, p.map);

  const t = await calibrate({ model, good: join(data, 'fabric', 'test', 'good') });
  assert.equal(t.source, 'calibrate');
  assert.equal(t.images, 3);
  const i = await info(model);
  assert.equal(i.thresholds?.source, 'calibrate');
  assert.equal(i.training.epochsDone, 2);
  assert.equal(i.config.channels, 4);
});

test('training can start from a trained model: its weights and configuration, new images, a fresh optimizer', async () => {
  const source = readModelFile(model);
  // Only the data and the file to start from: the model's configuration, not the defaults (256 x 256, 16 channels).
  const base = { data, category: 'fabric', from: model, batch: 2, threads: 1, maxImages: 8 };
  const zero = join(dir, 'from-0.pflow');
  const s0 = await train({ ...base, out: zero, epochs: 0 });
  assert.deepEqual(s0.config, source.config);
  const z = readModelFile(zero);
  for (const [name, t] of Object.entries(source.params)) assert.deepEqual(z.params[name]!.data, t.data, name);
  for (const [name, t] of Object.entries(source.buffers)) assert.deepEqual(z.buffers[name]!.data, t.data, name);
  assert.deepEqual(z.training.from, { file: model, epochs: 2 });
  assert.ok(s0.notes.some((n) => /starting from .*2 epochs on 11 images/.test(n)));
  assert.ok(z.template !== null && z.thresholds !== null);

  const more = join(dir, 'from-1.pflow');
  const s1 = await train({ ...base, out: more, epochs: 1 });
  assert.equal(s1.epochs, 1);
  assert.equal(s1.trainImages + s1.holdoutImages, 8);
  const m = readModelFile(more);
  assert.ok(
    Object.entries(source.params).some(([name, t]) => m.params[name]!.data.some((v, i) => v !== t.data[i])),
    'the weights moved',
  );
  await evaluateModel({ model: more, data, category: 'fabric' });
  assert.deepEqual((await info(more)).training.from, { file: model, epochs: 2 });

  await assert.rejects(train({ ...base, out: model }), /another file/);
  await assert.rejects(train({ ...base, out: join(dir, 'x.pflow'), channels: 8 }), /has channels 4, not 8/);
  await assert.rejects(train({ ...base, out: join(dir, 'x.pflow'), size: 64 }), /has size 32, not 64/);
  await assert.rejects(train({ ...base, out: join(dir, 'x.pflow'), width: 48 }), /has width 32, not 48/);
  await assert.rejects(train({ ...base, out: join(dir, 'x.pflow'), from: join(dir, 'missing.pflow') }), /missing\.pflow: model file not found/);
});

test("resume takes the checkpoint's configuration when no model options are given", async () => {
  // a checkpoint at the end of epoch 1 of 2, made from the finished model of the first test
  const saved = readModelFile(model);
  const sizes = restoreModel(saved)
    .parameters()
    .map((p) => p.size);
  const ckpt = join(dir, 'ckpt.pflow');
  saveModelFile(ckpt, {
    ...saved,
    template: null,
    thresholds: null,
    training: { ...saved.training, epochsDone: 1, lossPerEpoch: saved.training.lossPerEpoch.slice(0, 1) },
    resume: {
      epoch: 1,
      stepInEpoch: 0,
      adamStep: 0,
      adamM: sizes.map((n) => new Float32Array(n)),
      adamV: sizes.map((n) => new Float32Array(n)),
      epochLosses: [],
    },
  });
  await assert.rejects(train({ data, category: 'fabric', out: ckpt, resume: true, threads: 1, kernel: 5 }), /ckpt\.pflow: this model has kernel 3, not 5/);
  const s = await train({ data, category: 'fabric', out: ckpt, resume: true, threads: 1 });
  assert.deepEqual(s.config, saved.config);
  assert.equal(s.epochs, 2);
  assert.equal(s.lossPerEpoch.length, 2);
});

test('resume of a finished model is refused; a missing data folder is named', async () => {
  await assert.rejects(train({ ...opts, resume: true }), /finished training.*nothing to resume.*--from/);
  await assert.rejects(train({ ...opts, data: join(dir, 'nope'), out: join(dir, 'x.pflow') }), /nope/);
});
