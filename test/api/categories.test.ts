/** Many categories on one machine (src/api/categories.ts): one model per category, resumable as a whole; the mean over categories. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { categoryMean, synth, testCategories, trainCategories, type CategoryTrainProgress } from '../../src/api/index.js';
import { restoreModel } from '../../src/flow/saved-model.js';
import { readModelFile, saveModelFile } from '../../src/api/model-files.js';
import { PyramidFlowError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-categories-'));
const data = join(dir, 'data');
const models = join(dir, 'models');
const tiny = { size: 32, channels: 2, kernel: 3, levels: 2, stacks: 1, epochs: 1, threads: 1 };
const CATEGORIES = ['fabric', 'grid', 'wood'];

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A checkpoint at the end of epoch 1 of 2 in place of a finished model: a run stopped in the middle. */
function makeCheckpoint(file: string): void {
  const saved = readModelFile(file);
  const sizes = restoreModel(saved)
    .parameters()
    .map((p) => p.size);
  saveModelFile(file, {
    ...saved,
    template: null,
    thresholds: null,
    training: { ...saved.training, epochs: 2, epochsDone: 1 },
    resume: {
      epoch: 1,
      stepInEpoch: 0,
      adamStep: 0,
      adamM: sizes.map((n) => new Float32Array(n)),
      adamV: sizes.map((n) => new Float32Array(n)),
      epochLosses: [],
    },
  });
}

test('trainCategories: one model per category; resume skips finished ones, continues a checkpoint, trains the rest', async () => {
  await synth({ out: data, categories: CATEGORIES, size: 32, train: 8, testGood: 3, testDefect: 4, seed: 5 });
  const events: CategoryTrainProgress[] = [];
  const first = await trainCategories({ data, categories: 'all', outDir: models, ...tiny }, (p) => events.push(p));
  assert.deepEqual(
    first.categories.map((r) => [r.category, r.status]),
    CATEGORIES.map((c) => [c, 'trained']),
  );
  assert.equal(first.failed, 0);
  assert.deepEqual(readdirSync(models).sort(), ['fabric.pflow', 'grid.pflow', 'wood.pflow']);
  for (const r of first.categories) {
    assert.equal(r.trainImages, 7);
    assert.ok(r.steps! > 0 && Number.isFinite(r.finalLoss) && r.thresholds !== undefined);
  }
  assert.deepEqual([...new Set(events.map((e) => `${e.index}/${e.count} ${e.category}`))], ['1/3 fabric', '2/3 grid', '3/3 wood']);

  // Again without --resume or --force: refused before any work, naming the files.
  await assert.rejects(
    trainCategories({ data, categories: 'all', outDir: models, ...tiny }),
    (err: unknown) => err instanceof PyramidFlowError && err.code === 'E_OUTPUT' && /fabric\.pflow.*give --resume.*--force/.test(err.message),
  );

  // grid stopped in the middle (a checkpoint after epoch 1 of 2), wood never started (no file): --resume --epochs 2.
  makeCheckpoint(join(models, 'grid.pflow'));
  unlinkSync(join(models, 'wood.pflow'));
  const notes: string[] = [];
  const again = await trainCategories({ data, categories: 'all', outDir: models, ...tiny, epochs: 2, resume: true }, (p) => {
    if (p.kind === 'note') notes.push(`${p.category}: ${p.message}`);
  });
  assert.deepEqual(
    again.categories.map((r) => [r.category, r.status]),
    [
      ['fabric', 'skipped'],
      ['grid', 'resumed'],
      ['wood', 'trained'],
    ],
  );
  assert.ok(notes.some((n) => /^fabric: .*fabric\.pflow is finished \(1 epochs\): skipped$/.test(n)));
  assert.ok(notes.some((n) => /^grid: resuming .*grid\.pflow at epoch 2/.test(n)));
  assert.equal(again.categories[1]!.summary?.epochs, 2, 'grid went on from its checkpoint to epoch 2');
  assert.equal(again.categories[0]!.finalLoss, first.categories[0]!.finalLoss, 'a skipped model reports its recorded training');
  assert.equal(readModelFile(join(models, 'grid.pflow')).resume, null, 'grid is finished now');

  // --force replaces them all.
  const forced = await trainCategories({ data, categories: ['wood'], outDir: models, ...tiny, force: true });
  assert.equal(forced.categories[0]!.status, 'trained');
});

test('trainCategories: a category that fails is a failed result, the others still run; bad names are refused before any work', async () => {
  const few = join(dir, 'few');
  await synth({ out: few, categories: ['fabric', 'grid'], size: 32, train: 8, testGood: 2, testDefect: 2, seed: 6 });
  const good = join(few, 'fabric', 'train', 'good');
  for (const f of readdirSync(good).slice(1)) unlinkSync(join(good, f)); // one image left: too few for a batch of 2
  const out = join(dir, 'few-models');
  const r = await trainCategories({ data: few, categories: 'all', outDir: out, ...tiny });
  assert.equal(r.failed, 1);
  assert.equal(r.categories[0]!.status, 'failed');
  assert.match(r.categories[0]!.error!.message, /only 1 training image/);
  assert.equal(r.categories[1]!.status, 'trained');

  const usage = (message: RegExp) => (err: unknown) => err instanceof PyramidFlowError && err.code === 'E_USAGE' && message.test(err.message);
  await assert.rejects(trainCategories({ data: few, categories: ['grid', 'nope'], outDir: out, ...tiny }), usage(/no category nope in .*found: fabric, grid/));
  await assert.rejects(trainCategories({ data: few, categories: ['grid', 'grid'], outDir: out, ...tiny }), usage(/grid is given twice/));
  await assert.rejects(trainCategories({ data: few, categories: ['grid'], outDir: out, ...tiny, batch: 1 }), usage(/^--batch must be >= 2/));
});

test('testCategories: one result per category, the mean is the arithmetic mean of the rows, a missing model is a failed row', async () => {
  const all = await testCategories({ data, categories: 'all', modelDir: models, threads: 1 });
  assert.equal(all.failed, 0);
  assert.deepEqual(
    all.categories.map((r) => r.category),
    CATEGORIES,
  );
  for (const key of ['image_auroc', 'pixel_auroc', 'aupro'] as const) {
    const rows = all.categories.map((r) => r.result!.overall[key]);
    assert.ok(Math.abs(all.mean[key] - rows.reduce((a, b) => a + b, 0) / rows.length) < 1e-12, key);
  }
  assert.equal(all.mean.images, 21);
  assert.deepEqual(categoryMean(all.categories), all.mean);

  unlinkSync(join(models, 'wood.pflow'));
  const some = await testCategories({ data, categories: ['fabric', 'wood'], modelDir: models, threads: 1 });
  assert.equal(some.failed, 1);
  assert.equal(some.categories[1]!.status, 'failed');
  assert.match(some.categories[1]!.error!.message, /wood\.pflow: no model file for wood/);
  assert.equal(some.mean.categories, 1);
  assert.equal(some.mean.image_auroc, some.categories[0]!.result!.overall.image_auroc);
});
