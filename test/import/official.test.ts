/**
 * Checkpoints of the official PyTorch code in: the committed fixtures (scripts/make-official-fixtures.py
 * made them from the reference vectors' weights with PyTorch) are read without Python and, imported,
 * reproduce the vectors' outputs within SPEC.md's tolerances.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../../src/tensor/index.js';
import { modelFromState } from '../../src/flow/state.js';
import { readCheckpoint, officialModel, type Checkpoint } from '../../src/import/official.js';
import { sharedDir } from '../shared-folder.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'official');
const vectors = join(sharedDir, 'reference', 'vectors');

interface JsonTensor {
  shape: number[];
  data: number[];
}
interface Vector {
  meta: { channel: number; ksize: number; num_level: number; num_stack: number; vn: string; H: number; W: number };
  params: Record<string, JsonTensor>;
  buffers: Record<string, JsonTensor>;
  input: JsonTensor;
  f32: { pyramid_out: JsonTensor[]; eval_pyramid_out: JsonTensor[]; running_mean_after_forward: Record<string, JsonTensor> };
}
const f32 = (t: JsonTensor): Float32Array => Float32Array.from(t.data, Math.fround);
const read = (file: string, state: 'pixel' | 'pro' = 'pixel'): Checkpoint => readCheckpoint(readFileSync(join(fixtures, file)), file, state);

/** The largest error of a pyramid against the recorded one, and SPEC's tolerance (1e-5 of its largest magnitude). */
function pyramidError(got: readonly Tensor[], want: JsonTensor[]): { err: number; tol: number } {
  let err = 0;
  let mag = 0;
  got.forEach((t, k) => {
    const w = f32(want[k]!);
    const v = t.values();
    assert.equal(v.length, w.length);
    for (let i = 0; i < w.length; i++) {
      err = Math.max(err, Math.abs(v[i]! - w[i]!));
      mag = Math.max(mag, Math.abs(w[i]!));
    }
  });
  return { err, tol: 1e-5 * mag };
}

for (const name of ['tiny', 'tiny_svn', 'public_b3']) {
  const vectorFile = join(vectors, `${name}.json`);
  const files: [string, string][] = [
    [`${name}.npz`, 'npz'],
    [`${name}.pt`, 'torch'],
  ];
  // tiny only: PyTorch's legacy format, and numpy 2's names (state dicts of numpy arrays)
  if (name === 'tiny') files.push(['tiny_legacy.pt', 'torch-legacy'], ['tiny_numpy.npz', 'npz']);
  for (const [file, format] of files) {
    test(`${file}: read without Python, every tensor equals the vector's, and the imported model reproduces its outputs`, () => {
      assert.ok(existsSync(vectorFile), `expected the reference vectors at ${vectorFile}`);
      const v = JSON.parse(readFileSync(vectorFile, 'utf8')) as Vector;
      const ck = read(file);
      assert.equal(ck.format, format);
      // every parameter and buffer, by name and shape, bit for bit (the fixture holds the float32 values)
      const after = v.f32.running_mean_after_forward;
      for (const [key, t] of Object.entries({ ...v.params, ...v.buffers, ...after })) {
        const got = ck.state[key];
        assert.ok(got, `${file}: ${key} is missing`);
        assert.deepEqual(got.shape, t.shape, key);
        assert.deepEqual(got.data, f32(t), key);
      }
      const size = { height: v.meta.H, width: v.meta.W };
      const { config, params, buffers } = officialModel(ck, v.meta.vn === 'SVN' ? size : {}, file);
      assert.deepEqual(config, {
        channels: v.meta.channel,
        kernel: v.meta.ksize,
        levels: v.meta.num_level,
        stacks: v.meta.num_stack,
        volumeNorm: v.meta.vn.toLowerCase(),
        height: v.meta.H,
        width: v.meta.W,
        downsample: 'maxpool',
      });
      const model = modelFromState(config, params, buffers);
      const x = Tensor.fromHost(v.input.shape, f32(v.input));
      // evaluation mode with the running means the checkpoint holds (after one training forward)
      model.training = false;
      const evalOut = pyramidError(model.forward(x), v.f32.eval_pyramid_out);
      assert.ok(evalOut.err <= evalOut.tol, `eval_pyramid_out: ${evalOut.err} > ${evalOut.tol}`);
      // training mode (batch means)
      model.training = true;
      const trainOut = pyramidError(model.forward(x), v.f32.pyramid_out);
      assert.ok(trainOut.err <= trainOut.tol, `pyramid_out: ${trainOut.err} > ${trainOut.tol}`);
      console.log(
        `# ${file}: max |error| eval_pyramid_out ${evalOut.err.toExponential(2)} (tolerance ${evalOut.tol.toExponential(2)}), pyramid_out ${trainOut.err.toExponential(2)} (tolerance ${trainOut.tol.toExponential(2)})`,
      );
    });
  }
}

test('the .npz of the official train.py: its configuration entries, and --state pro takes state_dict_pro', () => {
  const ck = read('tiny.npz');
  assert.equal(ck.entry, 'state_dict_pixel');
  assert.deepEqual(ck.meta, { resnetX: 0, levels: 3, kernel: 3, channels: 4, stacks: 1, batch: 2, volumeNorm: 'cvn', category: 'tiny' });
  const pro = read('tiny.npz', 'pro');
  assert.equal(pro.entry, 'state_dict_pro');
  assert.deepEqual(pro.state['nf.moduleslst.0.affineParams.norm.running_mean']?.shape, [1, 1, 1, 1]);
  // the untrained running means do not say the size: the error names the option
  assert.throws(() => officialModel(pro, {}, 'tiny.npz'), /does not say the image size.*--size \(or --height and --width\)/);
  assert.equal(officialModel(pro, { height: 32, width: 32 }, 'tiny.npz').config.volumeNorm, 'cvn');
});

test('what a file does not say is asked for by option name; a contradiction names the option', () => {
  const svn = read('tiny_svn.pt'); // a bare state dict: SVN running means say nothing of the size
  assert.throws(() => officialModel(svn, {}, 'tiny_svn.pt'), /--size/);
  const cvn = read('tiny.pt'); // CVN running means do
  assert.equal(officialModel(cvn, {}, 'tiny.pt').config.height, 32);
  assert.throws(() => officialModel(cvn, { height: 64, width: 64 }, 'tiny.pt'), /computed at 32x32 pixels.*--size/);
  assert.throws(() => officialModel(cvn, { volumeNorm: 'svn' }, 'tiny.pt'), /CVN's, not SVN \(--volume-norm\)/);
  assert.throws(() => officialModel(cvn, { levels: 4 }, 'tiny.pt'), /do not fit 4 pyramid levels/);
  const untrained = read('tiny.npz', 'pro');
  const bare: Checkpoint = { format: 'torch', state: untrained.state, meta: {} };
  assert.throws(() => officialModel(bare, { height: 32, width: 32 }, 'x.pt'), /give --volume-norm cvn or svn/);
});

test('models with a ResNet encoder are refused by name', () => {
  const ck = read('tiny.pt');
  const withEncoder: Checkpoint = { ...ck, state: { ...ck.state, 'feature_extractor.layer1.0.conv1.weight': { shape: [1], data: new Float32Array(1) } } };
  assert.throws(() => officialModel(withEncoder, {}, 'r18.pt'), /ResNet encoder.*--encoder none/);
});

test('a file that is no checkpoint is refused, naming the accepted formats', () => {
  assert.throws(
    () => readCheckpoint(new TextEncoder().encode('hello world, not a model'), 'x.bin'),
    /x\.bin: not a checkpoint this program reads \(the official train\.py's \.npz, a torch\.save state dict, or safetensors\)/,
  );
});

test('a 1x1 convolution whose w_p is no permutation or whose s_sign is not +-1 is refused by name', () => {
  const ck = read('tiny.pt');
  const name = 'nf.moduleslst.1.conv1x1.w_p';
  const perm = { ...ck, state: { ...ck.state, [name]: { shape: [4, 4], data: new Float32Array(16).fill(0.25) } } };
  assert.throws(() => officialModel(perm, {}, 'tiny.pt'), /tiny\.pt: nf\.moduleslst\.1\.conv1x1\.w_p is not a permutation matrix/);
  const sign = { ...ck, state: { ...ck.state, 'nf.moduleslst.2.conv1x1.s_sign': { shape: [4], data: Float32Array.from([1, 0.5, 1, -1]) } } };
  assert.throws(() => officialModel(sign, {}, 'tiny.pt'), /nf\.moduleslst\.2\.conv1x1\.s_sign holds values other than 1 and -1/);
});
