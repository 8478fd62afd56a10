import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synth, train, test as evaluate, predict } from '../../src/api/index.js';
import { readModelFile } from '../../src/api/model-files.js';
import { openDataset } from '../../src/data/datasets.js';
import { loadResized } from '../../src/data/loader.js';
import { normalizeImage } from '../../src/data/image.js';
import { resolveConfig } from '../../src/flow/config.js';
import { restoreModel, type SavedModel, type TrainingRecord } from '../../src/flow/saved-model.js';
import { toBatch } from '../../src/flow/batch.js';
import type { PyramidFlowError } from '../../src/util/errors.js';
import { trainLoop, type CheckpointSink } from '../../src/train/trainer.js';
import { lossOnly } from '../../src/train/gradients.js';
import { DivergenceWatch, DIVERGENCE_RULES, describePosition, resumeCommand, shellWord, suggestedLr } from '../../src/train/divergence.js';
import { trainingRecord } from '../flow/helpers.js';

test('the watch: a falling or noisy loss is healthy; a spike is suspicious; far above the median, NaN or a streak is divergence', () => {
  // A loss that starts large and falls fast, with noise of 2x either way: never anything but healthy.
  const w = new DivergenceWatch();
  let loss = 5000;
  for (let i = 0; i < 200; i++) {
    loss *= i < 20 ? 0.6 : 0.99;
    assert.equal(w.judge(loss * (i % 3 === 0 ? 2 : i % 3 === 1 ? 0.5 : 1)).kind, 'healthy', `step ${i}`);
  }
  const m = w.median()!;
  const spike = w.judge(10 * m);
  assert.equal(spike.kind, 'suspicious');
  assert.equal(w.median(), m, 'a suspicious loss does not move the median');
  assert.equal(w.judge(m).kind, 'healthy');
  const far = w.judge(2000 * m);
  assert.equal(far.kind, 'diverged');
  assert.match((far as { reason: string }).reason, /^loss .*, \d+ times the median .* of the last 16 healthy steps$/);
  assert.deepEqual(new DivergenceWatch().judge(Number.NaN), { kind: 'diverged', reason: 'loss NaN' });
  assert.equal(new DivergenceWatch([1, 1]).judge(Number.POSITIVE_INFINITY).kind, 'diverged');
  // Suspicious step after step: the streak rule.
  const s = new DivergenceWatch([1, 1, 1]);
  for (let i = 1; i < DIVERGENCE_RULES.streak; i++) assert.equal(s.judge(10).kind, 'suspicious');
  assert.match((s.judge(10) as { reason: string }).reason, /8 steps in a row above 4 times the median 1 /);
  // A resumed epoch's losses are the history; a loss near zero does not make a small one look huge.
  assert.equal(new DivergenceWatch([2, 2, 2]).judge(3000).kind, 'diverged');
  assert.equal(new DivergenceWatch([0, 0, 0]).judge(1e-4).kind, 'suspicious'); // 100 times the floor 1e-6, not divergence
});

test('the advice: a tenth of the rate, at most the official 2e-4; a command a shell takes as is', () => {
  assert.equal(suggestedLr(1), 0.0002);
  assert.equal(suggestedLr(1e-3), 0.0001);
  assert.equal(suggestedLr(2e-4), 0.00002);
  assert.equal(shellWord('/data/mvtec'), '/data/mvtec');
  assert.equal(shellWord("my data/it's"), `'my data/it'\\''s'`);
  assert.equal(
    resumeCommand({ data: 'd', category: 'c', out: 'm.pflow', lr: 0.0002 }),
    'pyramidflow train --data d --category c --out m.pflow --resume --lr 0.0002',
  );
  assert.equal(resumeCommand({ data: 'd', category: '', out: 'm.pflow', lr: 1e-5 }), 'pyramidflow train --data d --out m.pflow --resume --lr 0.00001');
  assert.equal(describePosition(0, 0), 'before the first step');
  assert.equal(describePosition(2, 0), 'at the end of epoch 2');
  assert.equal(describePosition(2, 3), 'after epoch 3, step 3');
});

// Synthetic data as the API tests make it, and a tiny model.
const dir = mkdtempSync(join(tmpdir(), 'pf-diverge-'));
const data = join(dir, 'data');
const model = { size: 32, channels: 4, kernel: 3, levels: 3, stacks: 1 } as const;
const config = resolveConfig(model, 'fabric');
let ready: Promise<void> | undefined;
const synthOnce = (): Promise<void> =>
  (ready ??= synth({ out: data, categories: ['fabric'], size: 32, train: 12, testGood: 3, testDefect: 4, seed: 3 }).then(() => undefined));

async function trainingImages() {
  await synthOnce();
  const ds = await openDataset({ data, category: 'fabric' });
  return loadResized(ds.train, 32, 32);
}

function record(over: Partial<TrainingRecord>): TrainingRecord {
  return trainingRecord({ data, category: 'fabric', augment: 'texture', seed: 5, epochs: 4, ...over });
}

function memorySink(name: string): CheckpointSink & { saved: SavedModel[] } {
  const saved: SavedModel[] = [];
  return { name, saved, save: (s) => saved.push(s) };
}

test('a normal run at the default rate never trips it, nor writes a checkpoint late', async () => {
  const images = await trainingImages();
  const losses: number[] = [];
  const notes: string[] = [];
  const sink = memorySink('normal.pflow');
  const run = await trainLoop({
    config,
    images,
    record: record({ epochs: 6 }),
    checkpoints: sink,
    memory: null,
    onProgress: (p) => (p.kind === 'step' ? losses.push(p.loss!) : p.kind === 'note' ? notes.push(p.message!) : undefined),
  });
  assert.equal(run.finished, true);
  assert.deepEqual(notes, []);
  assert.deepEqual(
    sink.saved.map((s) => [s.resume!.epoch, s.resume!.stepInEpoch]),
    [1, 2, 3, 4, 5, 6].map((e) => [e, 0]),
  );
  // Replayed: every step healthy, far from the thresholds (measured: at most 1.4 times the median).
  const w = new DivergenceWatch();
  let worst = 0;
  for (const l of losses) {
    const m = w.median();
    if (m !== undefined) worst = Math.max(worst, l / m);
    assert.equal(w.judge(l).kind, 'healthy');
  }
  assert.ok(worst < 2, `loss / median of the recent steps reached ${worst}`);
});

test('a diverging run stops before NaN and keeps the last state from before the divergence', async () => {
  const images = await trainingImages();
  const sink = memorySink(join(dir, 'lr1 model.pflow'));
  const losses: number[] = [];
  const err = await trainLoop({
    config,
    images,
    record: record({ lr: 1, epochs: 3, checkpointEvery: 1 }),
    checkpoints: sink,
    memory: null,
    onProgress: (p) => (p.kind === 'step' ? losses.push(p.loss!) : undefined),
  }).then(
    () => assert.fail('lr 1 should diverge'),
    (e: unknown) => e as PyramidFlowError,
  );
  assert.equal(err.code, 'E_DIVERGED');
  assert.match(
    err.message,
    /^training diverged at epoch 1, step \d \(loss [\d.e+]+, [\d.e+]+ times the median [\d.]+ of the last \d healthy steps?; gradient norm [\d.e+]+\); the last good checkpoint, before the first step, is kept in .*lr1 model\.pflow\. Continue from it with a lower learning rate: pyramidflow train --data \S+ --category fabric --out '.*lr1 model\.pflow' --resume --lr 0\.0002$/,
  );
  assert.ok(losses.every(Number.isFinite), 'stopped before the loss was NaN');
  // Checkpoint every step: the state after step 1 (the one that diverged) was never written; the one before it was.
  assert.deepEqual(
    sink.saved.map((s) => [s.resume!.epoch, s.resume!.stepInEpoch, s.training.steps]),
    [[0, 0, 0]],
  );
  const kept = restoreModel(sink.saved[0]!);
  const batch = toBatch(images.slice(0, 2).map(normalizeImage), 32, 32);
  const keptLoss = lossOnly(kept, batch);
  assert.ok(Number.isFinite(keptLoss) && keptLoss < 10, `kept state's loss ${keptLoss}`);
});

test('the advised command after a divergence trains to finite weights, at least as good as the untrained flow', async () => {
  await synthOnce();
  const out = join(dir, 'advised.pflow');
  const opts = { data, category: 'fabric', out, ...model, batch: 2, threads: 1, epochs: 20 };
  const err = await train({ ...opts, lr: 1 }).then(
    () => assert.fail('lr 1 should diverge'),
    (e: unknown) => e as Error,
  );
  const command = /Continue from it with a lower learning rate: (pyramidflow train .*)$/.exec(err.message)?.[1];
  assert.equal(command, `pyramidflow train --data ${data} --category fabric --out ${out} --resume --lr 0.0002`);
  // The kept checkpoint is usable as it is: a model made from it scores like a healthy one (a blown-up one scores ~1e20).
  const fromKept = join(dir, 'from-kept.pflow');
  await train({ data, category: 'fabric', from: out, out: fromKept, batch: 2, threads: 1, epochs: 0 });
  const testDirs = readdirSync(join(data, 'fabric', 'test')).map((d) => join(data, 'fabric', 'test', d));
  const scores = (await predict({ model: fromKept, inputs: testDirs })).map((p) => ('score' in p ? p.score : Number.NaN));
  assert.ok(scores.length > 0 && scores.every((x) => Number.isFinite(x) && Math.abs(x) < 1e3), `scores ${scores.join(', ')}`);
  // The command, word by word, as the CLI maps its flags to the API's options.
  const words = command!.split(' ').slice(2);
  const given: Record<string, string | number | boolean> = {};
  for (let i = 0; i < words.length; i++) {
    const flag = words[i]!.replace(/^--/, '');
    if (flag === 'resume') given.resume = true;
    else given[flag] = flag === 'lr' ? Number(words[++i]) : words[++i]!;
  }
  const summary = await train({ ...(given as { data: string; out: string }), threads: 1 });
  assert.equal(summary.epochs, 20);
  const saved = readModelFile(out);
  assert.equal(saved.training.lr, 0.0002);
  for (const [name, p] of Object.entries(saved.params)) assert.ok(p.data.every(Number.isFinite), name);
  assert.ok(summary.lossPerEpoch.every(Number.isFinite));

  const untrained = join(dir, 'untrained.pflow');
  await train({ ...opts, out: untrained, epochs: 0 });
  const after = (await evaluate({ model: out, data, category: 'fabric' })).overall.pixel_auroc;
  const before = (await evaluate({ model: untrained, data, category: 'fabric' })).overall.pixel_auroc;
  assert.ok(after >= before, `pixel AUROC ${after} after the advised resume, ${before} untrained`);
});
