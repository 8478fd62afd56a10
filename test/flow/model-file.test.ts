import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModelFile, encodeModelFile } from '../../src/flow/model-file.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig } from '../../src/flow/config.js';
import { decodeSavedModel, encodeSavedModel, restoreModel, snapshot, type TrainingRecord } from '../../src/flow/saved-model.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { readModelFile, saveModelFile } from '../../src/api/model-files.js';
import { trainingRecord } from './helpers.js';

const record: TrainingRecord = trainingRecord();

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

/** Re-signs bytes whose content was changed, as a crafted file would be (the checksum is no secret). */
function resign(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.set(sha256(out.subarray(0, out.length - 32)), out.length - 32);
  return out;
}

/** A valid file whose header JSON is replaced by `edit(header)`, re-signed. */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => unknown): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const len = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + len))) as Record<string, unknown>;
  const text = new TextEncoder().encode(JSON.stringify(edit(header)));
  const dataStart = (16 + len + 3) & ~3;
  const newStart = (16 + text.length + 3) & ~3;
  const out = new Uint8Array(newStart + (bytes.length - dataStart));
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(12, text.length, true);
  out.set(text, 16);
  out.set(bytes.subarray(dataStart), newStart);
  return resign(out);
}

test('crafted model files with a valid checksum are refused in words naming the file', () => {
  const m = PyramidFlow.create(resolveConfig({ channels: 4, kernel: 3, levels: 3, stacks: 1, size: 16 }), 3);
  const good = encodeSavedModel(snapshot(m, record));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cases: Array<[string, (h: any) => unknown, RegExp]> = [
    [
      'a parameter of the wrong size',
      (h) => {
        h.params['inconv.weight'].shape = [4, 3, 2, 1];
        return h;
      },
      /inconv\.weight has 12 values for its shape \[4, 3, 2, 1\]/,
    ],
    [
      'a negative array length',
      (h) => {
        h.params['inconv.weight'].data.n = -4;
        return h;
      },
      /an array length in the header is invalid/,
    ],
    [
      'a huge array index',
      (h) => {
        h.params['inconv.weight'].data.$f32 = 1e9;
        return h;
      },
      /an array reference in the header is invalid/,
    ],
    [
      'a missing parameter',
      (h) => {
        h.params.renamed = h.params['nf.moduleslst.0.conv1x1.w_s'];
        delete h.params['nf.moduleslst.0.conv1x1.w_s'];
        return h;
      },
      /missing nf\.moduleslst\.0\.conv1x1\.w_s/,
    ],
    [
      'a configuration out of range',
      (h) => {
        h.config.levels = 40;
        return h;
      },
      /invalid configuration: levels must be/,
    ],
    [
      'a threshold that was NaN',
      (h) => {
        h.thresholds = { image: null, pixel: 1, imageFpr: 0.01, pixelFpr: 0.001, images: 3, scaleMin: 0, scaleMax: 1, source: 'holdout' };
        return h;
      },
      /threshold field image is not a finite number/,
    ],
    [
      'a template of the wrong depth',
      (h) => {
        h.template = [];
        return h;
      },
      /the template must have 3 levels/,
    ],
    [
      'no training record',
      (h) => {
        delete h.training;
        return h;
      },
      /training record is missing/,
    ],
    [
      'a configuration that is not an object',
      (h) => {
        h.config = 5;
        return h;
      },
      /it has no configuration/,
    ],
  ];
  for (const [what, edit, message] of cases) {
    assert.throws(
      () => decodeSavedModel(withHeader(good, edit), 'crafted.pflow'),
      (e: Error) => e instanceof PyramidFlowError && /^crafted\.pflow: /.test(e.message) && message.test(e.message),
      what,
    );
  }
});

test('model files: 2000 truncations and byte flips, re-signed or not, end in our own error', () => {
  const m = PyramidFlow.create(resolveConfig({ channels: 2, kernel: 3, levels: 2, stacks: 1, size: 8 }), 1);
  const good = encodeSavedModel(snapshot(m, record));
  const headerEnd = 16 + new DataView(good.buffer, good.byteOffset).getUint32(12, true);
  const rng = new Random(7);
  const foreign: string[] = [];
  for (let i = 0; i < 2000; i++) {
    let bytes: Uint8Array = good.slice();
    if (i % 4 === 0) bytes = bytes.slice(0, rng.int(bytes.length));
    else for (let k = 0; k < 1 + rng.int(3); k++) bytes[rng.int(i % 2 ? headerEnd : bytes.length)] = rng.int(256);
    if (i % 2 === 1 && bytes.length > 48) bytes = resign(bytes);
    try {
      const saved = decodeSavedModel(bytes, 'fuzz.pflow');
      restoreModel(saved);
    } catch (e) {
      if (!(e instanceof PyramidFlowError)) foreign.push(`${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual([...new Set(foreign)].slice(0, 5), []);
});

test("Node's native SHA-256 (installed by src/api/model-files.ts) writes the checksum the pure-JavaScript one reads, and back", async () => {
  const { useSha256 } = await import('../../src/flow/model-file.js');
  const { createHash } = await import('node:crypto');
  const content = { w: Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i)) };
  const native = encodeModelFile(content); // model-files.ts is imported above: node:crypto is in use
  assert.deepEqual(native.subarray(native.length - 32), new Uint8Array(sha256(native.subarray(0, native.length - 32))));
  useSha256(sha256);
  try {
    const pure = encodeModelFile(content);
    assert.deepEqual(pure, native);
    assert.deepEqual(Array.from(decodeModelFile<typeof content>(pure, 'mem').content.w), Array.from(content.w));
  } finally {
    useSha256((b) => createHash('sha256').update(b).digest());
  }
});
