import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainLoop, epochOrder } from '../../src/train/trainer.js';
import { resolveConfig } from '../../src/flow/config.js';
import { snapshot, type TrainingRecord } from '../../src/flow/saved-model.js';
import { fileCheckpoints, readModelFile, saveModelFile } from '../../src/api/model-files.js';
import { PyramidFlow } from '../../src/flow/model.js';
import type { DecodedImage } from '../../src/data/image.js';
import { Random } from '../../src/util/random.js';
import { trainingRecord } from '../flow/helpers.js';

const config = resolveConfig({ channels: 4, kernel: 3, levels: 3, stacks: 1, size: 16 });

function images(n: number, seed: number): DecodedImage[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => ({ width: 16, height: 16, rgb: Uint8Array.from({ length: 3 * 256 }, () => rng.int(256)) }));
}

function record(over: Partial<TrainingRecord> = {}): TrainingRecord {
  return trainingRecord({ data: 'mem', augment: 'texture', seed: 5, lr: 1e-3, epochs: 2, checkpointEvery: 2, ...over });
}

test('epoch order is a seeded permutation that differs between epochs', () => {
  const a = epochOrder(10, 1, 0),
    b = epochOrder(10, 1, 1);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 10 }, (_, i) => i),
  );
  assert.deepEqual(epochOrder(10, 1, 0), a);
  assert.notDeepEqual(a, b);
});

test('an interrupted and resumed training ends with bit-identical weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-train-'));
  const data = images(7, 1); // 3 steps per epoch, the last image dropped
  const full = await trainLoop({ config, images: data, record: record(), checkpoints: fileCheckpoints(join(dir, 'full.pf')) });
  assert.equal(full.finished, true);
  const file = join(dir, 'part.pf');
  const part = await trainLoop({ config, images: data, record: record(), checkpoints: fileCheckpoints(file), stopAfterSteps: 4 });
  assert.equal(part.finished, false);
  const saved = readModelFile(file);
  assert.deepEqual({ epoch: saved.resume!.epoch, step: saved.resume!.stepInEpoch }, { epoch: 1, step: 1 });
  const resumed = await trainLoop({ config, images: data, record: saved.training, checkpoints: fileCheckpoints(file), resumeFrom: saved });
  assert.equal(resumed.finished, true);
  full.model.namedParameters().forEach(([name, t], i) => assert.deepEqual(resumed.model.namedParameters()[i]![1].data, t.data, name));
  full.model.blocks.forEach((b, i) => assert.deepEqual(resumed.model.blocks[i]!.affine.runningMean.data, b.affine.runningMean.data));
  assert.deepEqual(resumed.record.lossPerEpoch, full.record.lossPerEpoch);
  assert.ok(full.record.lossPerEpoch.every(Number.isFinite));
});

test('a model that diverges before any healthy step stops with a clear message and leaves its file as it was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-train-'));
  const file = join(dir, 'bad.pf');
  const model = PyramidFlow.create(config, 1);
  model.blocks[0]!.affine.conv0.data[0] = Number.NaN;
  const rec = record();
  saveModelFile(
    file,
    snapshot(model, rec, {
      resume: {
        epoch: 0,
        stepInEpoch: 0,
        adamStep: 0,
        adamM: model.parameters().map((p) => new Float32Array(p.size)),
        adamV: model.parameters().map((p) => new Float32Array(p.size)),
        epochLosses: [],
      },
    }),
  );
  const before = readFileSync(file);
  await assert.rejects(
    trainLoop({ config, images: images(4, 2), record: rec, checkpoints: fileCheckpoints(file), resumeFrom: readModelFile(file) }),
    /^PyramidFlowError: training diverged at epoch 1, step 1 \(loss .*gradient norm NaN\) before any healthy step of this run: .* so .*bad\.pf is left as it was; check the training images, or train a new model \(without --resume\) with a lower --lr$/,
  );
  assert.deepEqual(readFileSync(file), before);
});

test('memory saving gives the same trained weights as plain backpropagation (to float32 rounding)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-train-'));
  const data = images(4, 3);
  const a = await trainLoop({ config, images: data, record: record({ epochs: 1 }), checkpoints: fileCheckpoints(join(dir, 'a.pf')) });
  const b = await trainLoop({ config, images: data, record: record({ epochs: 1, saveMemory: true }), checkpoints: fileCheckpoints(join(dir, 'b.pf')) });
  a.model.parameters().forEach((p, i) => {
    const q = b.model.parameters()[i]!;
    let err = 0;
    for (let k = 0; k < p.size; k++) err = Math.max(err, Math.abs(p.data[k]! - q.data[k]!));
    assert.ok(err < 1e-5, `parameter ${i}: ${err}`);
  });
});
