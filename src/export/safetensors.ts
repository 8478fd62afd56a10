/**
 * A model's parameters and buffers as a safetensors file (https://huggingface.co/docs/safetensors),
 * under the official PyTorch code's names, so that its `PyramidFlow(...).load_state_dict(...)`
 * takes them (`safetensors.torch.load_file`). The configuration goes into `__metadata__` (text
 * values, as the format requires), with the official code's names (channel, ksize, num_layer,
 * num_stack, vn_dims, resnetX) and ours (height, width, downsample).
 */
import type { SavedModel } from '../flow/saved-model.js';
import type { NamedArray, StateDict } from '../flow/state.js';

/** The configuration a safetensors file of a model carries, as text. */
export function safetensorsMetadata(saved: SavedModel): Record<string, string> {
  const c = saved.config;
  return {
    format: 'pt',
    program: saved.program ? `${saved.program.name} ${saved.program.version}` : 'pyramidflow',
    channel: String(c.channels),
    ksize: String(c.kernel),
    num_layer: String(c.levels),
    num_stack: String(c.stacks),
    vn_dims: c.volumeNorm === 'svn' ? '[0, 2, 3]' : '[0, 1]',
    resnetX: '0',
    height: String(c.height),
    width: String(c.width),
    downsample: c.downsample,
  };
}

/**
 * The buffers the official module has besides ours: the 1x1 convolutions' masks (`u_mask`,
 * `l_mask`, `l_eye`), constants a `load_state_dict(strict=True)` expects.
 */
function officialMasks(buffers: StateDict): StateDict {
  const out: StateDict = {};
  for (const [name, t] of Object.entries(buffers)) {
    if (!name.endsWith('.conv1x1.w_p')) continue;
    const C = t.shape[0]!;
    const p = name.slice(0, -'w_p'.length);
    const mask = (f: (i: number, j: number) => boolean): NamedArray => {
      const data = new Float32Array(C * C);
      for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) data[i * C + j] = f(i, j) ? 1 : 0;
      return { shape: [C, C], data };
    };
    out[`${p}u_mask`] = mask((i, j) => j > i);
    out[`${p}l_mask`] = mask((i, j) => j < i);
    out[`${p}l_eye`] = mask((i, j) => i === j);
  }
  return out;
}

/** Every tensor written: parameters, buffers and the official masks, by official name. */
export function safetensorsTensors(saved: SavedModel): StateDict {
  return { ...saved.params, ...saved.buffers, ...officialMasks(saved.buffers) };
}

/** The safetensors file's bytes: float32 tensors in name order, header padded to 8 bytes. */
export function exportSafetensors(saved: SavedModel): Uint8Array {
  const tensors = safetensorsTensors(saved);
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: safetensorsMetadata(saved) };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const size = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const text = new TextEncoder().encode(JSON.stringify(header));
  // Spaces pad the header so that the data starts 8-byte aligned (as the reference writer does).
  const head = new Uint8Array(text.length + ((8 - (text.length % 8)) % 8)).fill(0x20);
  head.set(text);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    for (let i = 0; i < d.length; i++, pos += 4) view.setFloat32(pos, d[i]!, true);
  }
  return out;
}

/**
 * Whether a file's first bytes (up to a few KiB) are a safetensors file's: an 8-byte header
 * length within reason, then the JSON header's `{`. For the output rule (src/util/output-file.ts):
 * an existing safetensors file may be replaced with --force, any other file never.
 */
export function isSafetensorsHead(head: Uint8Array): boolean {
  if (head.length < 10 || head[8] !== 0x7b) return false;
  const n = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
  return n >= 2n && n <= 100_000_000n;
}
