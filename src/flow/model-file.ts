/**
 * The model file: one self-describing binary file holding the configuration, weights, buffers,
 * template, thresholds and (while training) the state needed to resume.
 *
 *   "PYRFLOW\0" | format version (u32 LE) | header length (u32 LE) | header (JSON, UTF-8)
 *   | zero padding to 4 bytes | float32 arrays back to back | SHA-256 of everything before it
 *
 * The header is the content as JSON with every Float32Array replaced by {"$f32": index, "n": length}.
 * A truncated or altered file fails the checksum and is refused with a clear error. Bytes in,
 * bytes out: no file access here, and the hash is pure JavaScript by default, so a browser reads the
 * same files (Node installs its native SHA-256 through useSha256: the same digests, ~10x faster).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { PyramidFlowError } from '../util/errors.js';

export const FORMAT_VERSION = 1;
const MAGIC = 'PYRFLOW\0';
const HASH_BYTES = 32;

/** The SHA-256 in use: @noble/hashes' pure JavaScript unless a host installed a native one. */
let hashBytes: (bytes: Uint8Array) => Uint8Array = sha256;

/** Installs a native SHA-256 (Node's node:crypto); it must give the standard digest, as a test checks. */
export function useSha256(fn: (bytes: Uint8Array) => Uint8Array): void {
  hashBytes = fn;
}

/** Whether a file's first bytes are a pyramidflow model file's (finished or a checkpoint). */
export function isModelFileHead(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && [...MAGIC].every((c, i) => head[i] === c.charCodeAt(0));
}

export function encodeModelFile(content: unknown): Uint8Array {
  const blobs: Float32Array[] = [];
  const header = JSON.stringify(content, (_key, value: unknown) => {
    if (value instanceof Float32Array) {
      blobs.push(value);
      return { $f32: blobs.length - 1, n: value.length };
    }
    if (value instanceof Float64Array || value instanceof Uint8Array || value instanceof Int32Array) {
      throw new Error('encodeModelFile: only Float32Array binary data is supported');
    }
    return value;
  });
  const headerBytes = new TextEncoder().encode(header);
  const headerEnd = 16 + headerBytes.length;
  const dataStart = (headerEnd + 3) & ~3;
  const dataBytes = blobs.reduce((s, b) => s + b.length * 4, 0);
  const out = new Uint8Array(dataStart + dataBytes + HASH_BYTES);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  out.set(headerBytes, 16);
  let off = dataStart;
  for (const b of blobs) {
    out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), off);
    off += b.byteLength;
  }
  out.set(hashBytes(out.subarray(0, off)), off);
  return out;
}

export function decodeModelFile<T>(bytes: Uint8Array, name: string): { version: number; content: T } {
  const bad = (why: string): never => {
    throw new PyramidFlowError(`${name}: not a valid pyramidflow model file (${why})`, 'E_MODEL_FILE');
  };
  if (bytes.length < 16 + HASH_BYTES) bad('too short: the file is truncated or empty');
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) bad('wrong magic bytes: this is not a model file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version > FORMAT_VERSION) bad(`format version ${version} is newer than this program understands (${FORMAT_VERSION}); upgrade pyramidflow`);
  const body = bytes.subarray(0, bytes.length - HASH_BYTES);
  const digest = hashBytes(body);
  const stored = bytes.subarray(bytes.length - HASH_BYTES);
  if (digest.some((b, i) => b !== stored[i])) bad('checksum mismatch: the file is truncated or was altered');
  const headerLen = view.getUint32(12, true);
  if (16 + headerLen > body.length) bad('header runs past the end');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLen)));
  } catch {
    return bad('header is not valid JSON');
  }
  // Collect the blob sizes in index order, then copy them out (aligned copies, independent of `bytes`).
  // Indices and sizes come from the file: each is checked before it sizes anything.
  const sizes: number[] = [];
  const maxBlobs = Math.floor(body.length / 4) + 1;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('$f32' in o) {
        const index = o.$f32,
          n = o.n;
        if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= maxBlobs || sizes[index as number] !== undefined)
          bad('an array reference in the header is invalid');
        if (!Number.isInteger(n) || (n as number) < 0 || (n as number) * 4 > body.length) bad('an array length in the header is invalid');
        sizes[index as number] = n as number;
      } else Object.values(o).forEach(visit);
    }
  };
  visit(header);
  const blobs: Float32Array[] = [];
  let off = (16 + headerLen + 3) & ~3;
  for (let i = 0; i < sizes.length; i++) {
    const n = sizes[i];
    if (n === undefined || off + n * 4 > body.length) bad('array data runs past the end');
    const copy = new Uint8Array(n! * 4);
    copy.set(body.subarray(off, off + n! * 4));
    blobs.push(new Float32Array(copy.buffer));
    off += n! * 4;
  }
  if (off !== body.length) bad('unexpected bytes after the array data');
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$f32 === 'number') return blobs[o.$f32];
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
    }
    return v;
  };
  return { version, content: revive(header) as T };
}
