/**
 * Reading safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON (`{name: {dtype, shape, data_offsets: [begin, end]}}` and an
 * optional `__metadata__` of text values), then the tensors' raw little-endian bytes. No code in
 * it can run: it is data only. The writer is src/export/safetensors.ts.
 */
import type { NamedArray } from '../flow/state.js';
import { PyramidFlowError } from '../util/errors.js';
import { type ElementType, readElements } from './tensors.js';

function fail(what: string, message: string): never {
  throw new PyramidFlowError(`${what}: ${message}`, 'E_INPUT');
}

const DTYPES: Record<string, ElementType> = { F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32' };

export interface SafetensorsContent {
  tensors: Record<string, NamedArray>;
  metadata: Record<string, string>;
}

/** Whether bytes start like a safetensors file (a sane header length, then `{`). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  return n > 1n && n <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}

/** A safetensors file's tensors (as float32) and metadata; `what` (the file) starts every error. */
export function readSafetensors(bytes: Uint8Array, what: string): SafetensorsContent {
  if (bytes.length < 8) fail(what, 'too short for a safetensors file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8) || n > 100_000_000n) fail(what, 'not a safetensors file (its header length is past the end)');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(n)))) as Record<string, unknown>;
  } catch (e) {
    fail(what, `not a safetensors file (its header is not JSON: ${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(what, 'not a safetensors file (its header is not an object)');
  const data = bytes.subarray(8 + Number(n));
  const tensors: Record<string, NamedArray> = {};
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) fail(what, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') fail(what, `__metadata__ entry ${k} is not text`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const type = typeof e.dtype === 'string' ? DTYPES[e.dtype] : undefined;
    if (!type) fail(what, `${name} has dtype ${String(e.dtype)}; floating-point tensors (F32, F64, F16, BF16) are taken`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(what, `${name} has no valid shape`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0))
      fail(what, `${name} has no valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    const shape = e.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > data.length) fail(what, `${name}'s data_offsets run past the end of the file`);
    const size = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4 }[type as 'float32'];
    if (end - begin !== count * size) fail(what, `${name} has ${end - begin} bytes for its shape [${shape.join(', ')}] of ${e.dtype}`);
    tensors[name] = { shape: [...shape], data: Float32Array.from(readElements(data.subarray(begin, end), type, 0, count, `${what} (${name})`)) };
  }
  return { tensors, metadata };
}
