/**
 * The restricted pickle reader: a checkpoint may only name the constructors a state dict of tensors
 * needs. Pickles naming anything else (os.system, builtins.eval, ...) are refused by name before
 * anything is built, in every container a checkpoint can come in; corrupted files fail with a
 * message, never with a crash or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { ALLOWED_GLOBALS, unpickle } from '../../src/import/pickle.js';
import { readCheckpoint } from '../../src/import/official.js';
import { PyramidFlowError } from '../../src/util/errors.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'official');
const bytes = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(s, (c) => c.charCodeAt(0));
const noHandlers = { call: {} };

/** Protocol 0: `os.system('echo pwned')`, as `pickle.dumps(..., protocol=0)` writes a reduce. */
const osSystem0 = "cos\nsystem\n(S'echo pwned'\ntR.";
/** Protocol 4: builtins.eval through STACK_GLOBAL. */
const eval4 = `\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x0a1+1\x85R.`;

test('os.system and builtins.eval are refused by name (protocols 0 and 4)', () => {
  assert.throws(
    () => unpickle(bytes(osSystem0), noHandlers, 'evil.pkl'),
    (e: Error) => {
      assert.ok(e instanceof PyramidFlowError);
      assert.match(e.message, /^evil\.pkl: refusing the Python global os\.system: a checkpoint may only name/);
      return true;
    },
  );
  assert.throws(() => unpickle(bytes(eval4), noHandlers, 'evil.pkl'), /refusing the Python global builtins\.eval/);
});

test('an allowed global without a handler in this context is refused too, and so are INST, OBJ and EXT', () => {
  assert.throws(() => unpickle(bytes('cnumpy\ndtype\n.'), noHandlers, 'x'), /refusing the Python global numpy\.dtype/);
  assert.throws(() => unpickle(bytes('(S"ls"\nios\nsystem\n.'), noHandlers, 'x'), /refusing the pickle opcode INST/);
  assert.throws(() => unpickle(bytes('\x80\x02\x82\x01.'), noHandlers, 'x'), /refusing the pickle opcode EXT/);
  assert.ok(!ALLOWED_GLOBALS.some((g) => /^(os|sys|builtins|subprocess|posix|nt|importlib|runpy|pickle|types|functools|operator)\./.test(g)));
});

test('plain data is read: numbers, text, bytes, lists, tuples, dicts, memo', () => {
  // pickle.dumps({'a': [1, 2.5, 'x', b'y', (None, True)], 'b': 2**70}, protocol=2)
  const p = '\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x03c_codecs\nencode\nq\x04';
  // protocol 2 writes bytes through _codecs.encode: refused like any other global
  assert.throws(() => unpickle(bytes(p), noHandlers, 'x'), /refusing the Python global _codecs\.encode/);
  // protocol 3: bytes are SHORT_BINBYTES
  const p3 =
    '\x80\x03}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x03C\x01yq\x04N\x88\x86q\x05eX\x01\x00\x00\x00bq\x06\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00@u.';
  const v = unpickle(bytes(p3), noHandlers, 'x').value as Map<string, unknown>;
  assert.deepEqual(v.get('a'), [1, 2.5, 'x', bytes('y'), [null, true]]);
  assert.equal(v.get('b'), 2n ** 70n);
});

test('a malicious pickle inside an .npz object array or a torch.save archive is refused by name', () => {
  // the official .npz with state_dict_pixel replaced by a pickle that would run a command
  const npz = unzipSync(readFileSync(join(fixtures, 'tiny.npz')));
  const header = "{'descr': '|O', 'fortran_order': False, 'shape': (), }";
  const padded = `${header}${' '.repeat(64 - ((10 + header.length + 1) % 64))}\n`;
  const npy = new Uint8Array([...bytes('\x93NUMPY\x01\x00'), padded.length & 0xff, padded.length >> 8, ...bytes(padded), ...bytes(osSystem0)]);
  npz['state_dict_pixel.npy'] = npy;
  assert.throws(() => readCheckpoint(zipSync(npz), 'evil.npz'), /^PyramidFlowError: evil\.npz \(state_dict_pixel\): refusing the Python global os\.system/);
  // a torch.save archive whose data.pkl calls builtins.eval
  const pt = unzipSync(readFileSync(join(fixtures, 'tiny.pt')));
  pt['tiny/data.pkl'] = bytes(eval4);
  assert.throws(() => readCheckpoint(zipSync(pt), 'evil.pt'), /evil\.pt: refusing the Python global builtins\.eval/);
});

test('fuzz: corrupted checkpoints fail with a message naming the file, never another error', () => {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const sources = ['tiny.pt', 'tiny.npz'].map((f) => ({ f, entries: unzipSync(readFileSync(join(fixtures, f))) }));
  let refused = 0;
  for (let round = 0; round < 200; round++) {
    const { f, entries } = sources[round % 2]!;
    const copy = Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, v.slice()]));
    // corrupt the pickle: random bytes at random places
    const key = f.endsWith('.pt') ? 'tiny/data.pkl' : 'state_dict_pixel.npy';
    const target = copy[key]!;
    for (let n = 0; n < 1 + Math.floor(rand() * 4); n++) target[Math.floor(rand() * target.length)] = Math.floor(rand() * 256);
    if (rand() < 0.3) copy[key] = target.slice(0, Math.floor(rand() * target.length));
    try {
      readCheckpoint(zipSync(copy), f);
    } catch (e) {
      assert.ok(e instanceof PyramidFlowError, `round ${round}: ${(e as Error).stack}`);
      assert.ok(e.message.startsWith(f), e.message);
      refused++;
    }
  }
  assert.ok(refused > 50, `${refused} of 200 corrupted files refused`);
});

test('torch.save layouts: strides, a Parameter, float64 and float16, a view at an offset, an OrderedDict with _metadata (zip and legacy)', async () => {
  const { readLegacyTorch, readTorchZip, readZip, stateDictOf } = await import('../../src/import/tensors.js');
  const zip = readFileSync(join(fixtures, 'layouts.pt'));
  const legacy = readFileSync(join(fixtures, 'layouts_legacy.pt'));
  for (const state of [stateDictOf(readTorchZip(readZip(zip, 'layouts.pt'), 'layouts.pt'), 'layouts.pt'), stateDictOf(readLegacyTorch(legacy, 'l'), 'l')]) {
    assert.deepEqual(state, {
      transposed: { shape: [3, 2], data: Float32Array.from([0, 3, 1, 4, 2, 5]) },
      parameter: { shape: [2], data: Float32Array.from([0.5, -2]) },
      half: { shape: [4], data: Float32Array.from([0, 1.5, -3, 65504]) },
      view: { shape: [4], data: Float32Array.from([3, 4, 5, 6]) },
    });
  }
});
