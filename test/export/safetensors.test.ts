/**
 * `export --format safetensors`: the parameters and buffers under the official code's names (its
 * `load_state_dict` takes them), the configuration in `__metadata__`. Read back, every tensor
 * equals the reference vector's by name, shape and value; imported again, the configuration is
 * the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportSafetensors } from '../../src/export/safetensors.js';
import { readSafetensors } from '../../src/import/safetensors.js';
import { officialModel, readCheckpoint } from '../../src/import/official.js';
import type { SavedModel } from '../../src/flow/saved-model.js';
import type { StateDict } from '../../src/flow/state.js';
import type { ModelConfig } from '../../src/flow/types.js';
import { sharedDir } from '../shared-folder.js';

const vectors = join(sharedDir, 'reference', 'vectors');

interface JsonTensor {
  shape: number[];
  data: number[];
}
interface Vector {
  meta: { channel: number; ksize: number; num_level: number; num_stack: number; vn: string; H: number; W: number; vn_dims: number[] };
  params: Record<string, JsonTensor>;
  buffers: Record<string, JsonTensor>;
}
const f32 = (t: JsonTensor): Float32Array => Float32Array.from(t.data, Math.fround);
const dict = (d: Record<string, JsonTensor>): StateDict => Object.fromEntries(Object.entries(d).map(([k, t]) => [k, { shape: t.shape, data: f32(t) }]));
const OURS = /\.(u_mask|l_mask|l_eye)$/; // constants of the official module that this program derives

for (const name of ['tiny', 'tiny_svn', 'public_b3']) {
  test(`${name}: every tensor of the official state dict, by name, shape and value; the configuration in __metadata__`, () => {
    const file = join(vectors, `${name}.json`);
    assert.ok(existsSync(file), `expected the reference vectors at ${file}`);
    const v = JSON.parse(readFileSync(file, 'utf8')) as Vector;
    const config: ModelConfig = {
      channels: v.meta.channel,
      kernel: v.meta.ksize,
      levels: v.meta.num_level,
      stacks: v.meta.num_stack,
      volumeNorm: v.meta.vn === 'SVN' ? 'svn' : 'cvn',
      height: v.meta.H,
      width: v.meta.W,
      downsample: 'maxpool',
    };
    const buffers = Object.fromEntries(Object.entries(dict(v.buffers)).filter(([k]) => !OURS.test(k)));
    const saved = { config, params: dict(v.params), buffers, program: { name: 'pyramidflow', version: 'test' } } as unknown as SavedModel;
    const bytes = exportSafetensors(saved);
    const { tensors, metadata } = readSafetensors(bytes, `${name}.safetensors`);
    const want = { ...v.params, ...v.buffers };
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(want).sort(), 'the official state dict has exactly these entries');
    for (const [key, t] of Object.entries(want)) {
      assert.deepEqual(tensors[key]!.shape, t.shape, key);
      assert.deepEqual(tensors[key]!.data, f32(t), key);
    }
    assert.deepEqual(metadata, {
      format: 'pt',
      program: 'pyramidflow test',
      channel: String(v.meta.channel),
      ksize: String(v.meta.ksize),
      num_layer: String(v.meta.num_level),
      num_stack: String(v.meta.num_stack),
      vn_dims: `[${v.meta.vn_dims.join(', ')}]`,
      resnetX: '0',
      height: String(v.meta.H),
      width: String(v.meta.W),
      downsample: 'maxpool',
    });
    // the header is padded so that the data starts 8-byte aligned
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + headerLength) % 8, 0);
    // imported again: the same network, nothing to ask for
    const again = officialModel(readCheckpoint(bytes, `${name}.safetensors`), {}, `${name}.safetensors`);
    assert.deepEqual(again.config, config);
  });
}

test('a safetensors file of another dtype or with a broken header is refused with a message', () => {
  const bad = (header: object): Uint8Array => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + 8);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  assert.throws(() => readSafetensors(bad({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }), 'x.safetensors'), /x\.safetensors: a has dtype U8/);
  assert.throws(() => readSafetensors(bad({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }), 'x.safetensors'), /run past the end/);
  assert.throws(() => readSafetensors(bad({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), 'x.safetensors'), /has 8 bytes for its shape \[3\]/);
});

test('isSafetensorsHead recognises the first bytes of a file written here, and not a model file or text', async () => {
  const { isSafetensorsHead } = await import('../../src/export/safetensors.js');
  const v = JSON.parse(readFileSync(join(vectors, 'tiny.json'), 'utf8')) as Vector;
  const config: ModelConfig = { channels: 4, kernel: 3, levels: 3, stacks: 1, volumeNorm: 'cvn', height: 32, width: 32, downsample: 'maxpool' };
  const bytes = exportSafetensors({ config, params: dict(v.params), buffers: {} } as unknown as SavedModel);
  assert.ok(isSafetensorsHead(bytes.subarray(0, 4096)));
  assert.ok(!isSafetensorsHead(new TextEncoder().encode('PYRFLOW\0 a model file')));
  assert.ok(!isSafetensorsHead(new TextEncoder().encode('{"not": "safetensors"}')));
});
