import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModelFile, encodeModelFile } from '../../src/flow/model-file.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig } from '../../src/flow/config.js';
import { restoreModel, snapshot, type TrainingRecord } from '../../src/flow/saved-model.js';
import { readModelFile, saveModelFile } from '../../src/api/model-files.js';

const record: TrainingRecord = {
  data: 'd', category: 'c', format: 'mvtec', augment: 'none', seed: 1, batch: 2, lr: 2e-4, epochs: 1, epochsDone: 0, steps: 0,
  threads: 1, saveMemory: false, holdout: 0, fpr: { image: 0.01, pixel: 0.001 }, checkpointEvery: 0, trainFiles: [], holdoutFiles: [],
  lossPerEpoch: [], seconds: 0,
};

test('encode/decode round trip keeps nested float arrays exactly', () => {
  const content = { a: 1, b: [Float32Array.from([1.5, -2, Math.fround(0.1)]), { c: new Float32Array(0), d: 'x' }] };
  const { content: back } = decodeModelFile<typeof content>(encodeModelFile(content), 'mem');
  assert.equal(back.a, 1);
  assert.deepEqual(Array.from(back.b[0] as Float32Array), [1.5, -2, Math.fround(0.1)]);
  assert.ok((back.b[1] as { c: Float32Array }).c instanceof Float32Array);
});

test('a model saved and loaded has identical weights and buffers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-model-'));
  const m = PyramidFlow.create(resolveConfig({ channels: 4, kernel: 3, levels: 3, stacks: 1, size: 16 }), 3);
  const file = join(dir, 'm.pf');
  saveModelFile(file, snapshot(m, record));
  const back = restoreModel(readModelFile(file));
  m.namedParameters().forEach(([name, t], i) => assert.deepEqual(back.namedParameters()[i]![1].data, t.data, name));
  assert.deepEqual(back.inConv.data, m.inConv.data);
  assert.deepEqual(back.blocks[0]!.conv.perm, m.blocks[0]!.conv.perm);
});

test('a truncated, altered or foreign file is refused with a clear error naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-model-'));
  const m = PyramidFlow.create(resolveConfig({ channels: 4, kernel: 3, levels: 3, stacks: 1, size: 16 }), 3);
  const file = join(dir, 'm.pf');
  saveModelFile(file, snapshot(m, record));
  const bytes = readFileSync(file);
  writeFileSync(join(dir, 'cut.pf'), bytes.subarray(0, bytes.length - 100));
  assert.throws(() => readModelFile(join(dir, 'cut.pf')), /cut\.pf: not a valid pyramidflow model file \(checksum mismatch/);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 500] ^= 1;
  writeFileSync(join(dir, 'flip.pf'), flipped);
  assert.throws(() => readModelFile(join(dir, 'flip.pf')), /flip\.pf: .*checksum mismatch/);
  writeFileSync(join(dir, 'png.pf'), Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n'), Buffer.alloc(100)]));
  assert.throws(() => readModelFile(join(dir, 'png.pf')), /png\.pf: .*wrong magic bytes/);
  assert.throws(() => readModelFile(join(dir, 'missing.pf')), /missing\.pf: model file not found/);
});
