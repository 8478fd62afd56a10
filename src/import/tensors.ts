/**
 * Tensors out of the files numpy and PyTorch write, read without Python: `.npy` arrays, `.npz`
 * archives (numpy's zip of `.npy` entries, pickled objects included), `torch.save` files (the zip
 * format: `<prefix>/data.pkl` + `<prefix>/data/<key>` storages; and the legacy format, which a
 * pickled tensor carries inside `torch.storage._load_from_bytes`). Pickles go through the
 * restricted reader of ./pickle.ts: only the globals named there are accepted.
 */
import { unzipSync } from 'fflate';
import type { NamedArray } from '../flow/state.js';
import { PyramidFlowError } from '../util/errors.js';
import { type GlobalHandlers, PyGlobal, type PyValue, unpickle } from './pickle.js';

function fail(what: string, message: string): never {
  throw new PyramidFlowError(`${what}: ${message}`, 'E_INPUT');
}

/** Element types this reader converts (to float32 for weights, to numbers for configuration). */
export type ElementType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const ELEMENT_SIZE: Record<ElementType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function elementSize(t: ElementType): number {
  return ELEMENT_SIZE[t];
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Little-endian values of `type` from bytes, as float64 numbers (count values from element `start`). */
export function readElements(bytes: Uint8Array, type: ElementType, start: number, count: number, what: string, littleEndian = true): Float64Array {
  const size = ELEMENT_SIZE[type];
  if ((start + count) * size > bytes.length) fail(what, `holds ${bytes.length} bytes, fewer than its ${start + count} ${type} values need`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(count);
  const le = littleEndian;
  for (let i = 0; i < count; i++) {
    const o = (start + i) * size;
    switch (type) {
      case 'float32':
        out[i] = view.getFloat32(o, le);
        break;
      case 'float64':
        out[i] = view.getFloat64(o, le);
        break;
      case 'float16':
        out[i] = half(view.getUint16(o, le));
        break;
      case 'bfloat16': {
        const b = new DataView(new ArrayBuffer(4));
        b.setUint32(0, view.getUint16(o, le) << 16);
        out[i] = b.getFloat32(0);
        break;
      }
      case 'int64':
        out[i] = Number(view.getBigInt64(o, le));
        break;
      case 'int32':
        out[i] = view.getInt32(o, le);
        break;
      case 'int16':
        out[i] = view.getInt16(o, le);
        break;
      case 'int8':
        out[i] = view.getInt8(o);
        break;
      case 'uint8':
      case 'bool':
        out[i] = view.getUint8(o);
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------- numpy

/** A numpy array: numbers (any numeric dtype, as float64), text, or objects (a pickled object array). */
export interface NpArray {
  kind: 'numpy';
  shape: number[];
  /** Numeric values in C order (null for object and text arrays). */
  values: Float64Array | null;
  /** Objects of an object array, text of a text array, in C order. */
  objects: PyValue[] | null;
  dtype: string;
}

/** numpy's `descr` ('<f4', '|O', '<U8', ...) as an element type, or null for objects and text. */
function numpyType(descr: string, what: string): { type: ElementType | null; little: boolean; text?: number } {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) fail(what, `numpy type ${descr} is not one this reader knows`);
  const little = m[1] !== '>';
  const kind = m[2]!;
  const n = Number(m[3] || 0);
  if (kind === 'O') return { type: null, little };
  if (kind === 'U') return { type: null, little, text: n };
  const table: Record<string, ElementType | undefined> = {
    f4: 'float32',
    f8: 'float64',
    f2: 'float16',
    i8: 'int64',
    i4: 'int32',
    i2: 'int16',
    i1: 'int8',
    u1: 'uint8',
    b1: 'bool',
  };
  const type = table[`${kind}${n}`];
  if (!type) fail(what, `numpy type ${descr} is not one this reader knows`);
  return { type, little };
}

interface NpDtype {
  kind: 'dtype';
  descr: string;
}

function numpyHandlers(): GlobalHandlers['call'] {
  return {
    'numpy.ndarray': undefined,
    'numpy.dtype': (args) => ({ kind: 'dtype', descr: String(args[0]) }) satisfies NpDtype,
    'numpy.core.multiarray._reconstruct': () => ({ kind: 'numpy', shape: [], values: null, objects: null, dtype: '' }) satisfies NpArray,
    'numpy._core.multiarray._reconstruct': () => ({ kind: 'numpy', shape: [], values: null, objects: null, dtype: '' }) satisfies NpArray,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

/** BUILD of the objects numpy and PyTorch pickle: arrays, dtypes, ordered dicts (their attributes are dropped). */
function build(what: string): (obj: PyValue, state: PyValue) => PyValue {
  return (obj, state) => {
    if (obj instanceof Map) return obj; // OrderedDict's attributes (a state dict's _metadata)
    if (isRecord(obj) && obj.kind === 'dtype') {
      const d = obj as unknown as NpDtype;
      const endian = Array.isArray(state) ? state[1] : undefined;
      if (endian === '>' && !d.descr.startsWith('>')) d.descr = `>${d.descr}`;
      return d;
    }
    if (isRecord(obj) && obj.kind === 'numpy' && Array.isArray(state)) {
      const a = obj as unknown as NpArray;
      const [, shape, dtype, fortran, raw] = state as [unknown, number[], NpDtype, boolean, unknown];
      if (fortran) fail(what, 'holds a Fortran-ordered array (not written by this code path)');
      a.shape = shape.map(Number);
      a.dtype = dtype.descr;
      const { type, little } = numpyType(dtype.descr, what);
      const count = a.shape.reduce((x, y) => x * y, 1);
      if (type === null) {
        if (!Array.isArray(raw)) fail(what, `an array of type ${dtype.descr} holds no list of objects`);
        a.objects = raw;
      } else {
        const bytes = raw instanceof Uint8Array ? raw : typeof raw === 'string' ? Uint8Array.from(raw, (c) => c.charCodeAt(0)) : null;
        if (!bytes) fail(what, 'an array holds no bytes');
        a.values = readElements(bytes, type, 0, count, what, little);
      }
      return a;
    }
    fail(what, 'the pickle sets the state of an object that is not a numpy array, dtype or ordered dict');
  };
}

/** One `.npy` file: its header, then raw values or (object arrays) a pickle. */
export function readNpy(bytes: Uint8Array, what: string): NpArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) fail(what, 'not a .npy array (no \\x93NUMPY header)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.length) fail(what, 'the .npy header runs past the end of the file');
  const header = new TextDecoder(major >= 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(what, `the .npy header is not one this reader knows: ${header.trim()}`);
  if (fortran === 'True') fail(what, 'holds a Fortran-ordered array, which this reader does not take');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start + headerLength);
  const { type, little, text } = numpyType(descr, what);
  if (type !== null) return { kind: 'numpy', shape, dtype: descr, values: readElements(body, type, 0, count, what, little), objects: null };
  if (text !== undefined) {
    const objects: string[] = [];
    const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let i = 0; i < count; i++) {
      let s = '';
      for (let c = 0; c < text; c++) {
        const code = v.getUint32((i * text + c) * 4, little);
        if (code === 0) break;
        s += String.fromCodePoint(code);
      }
      objects.push(s);
    }
    return { kind: 'numpy', shape, dtype: descr, values: null, objects };
  }
  // An object array: a pickle of the array (numpy's _reconstruct + BUILD with the objects).
  const value = unpickle(body, { call: { ...numpyHandlers(), ...torchHandlers(what) }, build: build(what) }, what).value;
  if (!isRecord(value) || value.kind !== 'numpy') fail(what, 'the pickled object array is not a numpy array');
  return value as unknown as NpArray;
}

/** The entries of a zip archive (`.npz`, `torch.save`), by name. */
export function readZip(bytes: Uint8Array, what: string): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes);
  } catch (e) {
    fail(what, `not a readable zip archive (${(e as Error).message})`);
  }
}

/** A `.npz` archive: its arrays by name (without `.npy`). */
export function readNpz(bytes: Uint8Array, what: string): Record<string, NpArray> {
  const out: Record<string, NpArray> = {};
  for (const [name, entry] of Object.entries(readZip(bytes, what))) {
    if (!name.endsWith('.npy')) continue;
    const key = name.slice(0, -4);
    out[key] = readNpy(entry, `${what} (${key})`);
  }
  return out;
}

// ---------------------------------------------------------------- PyTorch

const STORAGE_TYPES: Record<string, ElementType> = {
  'torch.FloatStorage': 'float32',
  'torch.DoubleStorage': 'float64',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
};

/** A PyTorch storage: its element type and bytes (filled in later by the legacy format). */
export interface TorchStorage {
  kind: 'storage';
  type: ElementType;
  key: string;
  bytes: Uint8Array | null;
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage. */
export interface TorchTensor {
  kind: 'tensor';
  storage: TorchStorage;
  offset: number;
  shape: number[];
  stride: number[];
}

function storageFromPid(pid: PyValue, what: string, lookup: (key: string, type: ElementType) => TorchStorage): TorchStorage {
  if (!Array.isArray(pid) || pid[0] !== 'storage') fail(what, 'a persistent id is not a PyTorch storage');
  const [, cls, key] = pid as [string, PyValue, PyValue];
  if (!(cls instanceof PyGlobal)) fail(what, 'a storage has no type');
  const type = STORAGE_TYPES[cls.qualified];
  if (!type) fail(what, `storages of ${cls.qualified} are not taken (floating-point tensors only)`);
  if (pid.length > 5 && pid[5] !== null && pid[5] !== undefined) fail(what, 'a storage is a view of another (an old PyTorch format this reader does not take)');
  return lookup(String(key), type);
}

function torchHandlers(what: string): GlobalHandlers['call'] {
  return {
    'collections.OrderedDict': (args) => new Map(Array.isArray(args[0]) ? (args[0] as [PyValue, PyValue][]) : []),
    'torch.FloatStorage': undefined,
    'torch.DoubleStorage': undefined,
    'torch.HalfStorage': undefined,
    'torch.BFloat16Storage': undefined,
    'torch._utils._rebuild_tensor_v2': (args) => {
      const [storage, offset, shape, stride] = args as [TorchStorage, number, number[], number[]];
      if (!isRecord(storage) || storage.kind !== 'storage') fail(what, 'a tensor is rebuilt from something that is not a storage');
      if (!Array.isArray(shape) || !Array.isArray(stride) || shape.length !== stride.length) fail(what, 'a tensor has a malformed shape or stride');
      return { kind: 'tensor', storage, offset: Number(offset), shape: shape.map(Number), stride: stride.map(Number) } satisfies TorchTensor;
    },
    'torch._utils._rebuild_parameter': (args) => args[0],
    'torch.storage._load_from_bytes': (args) => {
      if (!(args[0] instanceof Uint8Array)) fail(what, '_load_from_bytes is given something that is not bytes');
      return readLegacyTorch(args[0], `${what} (a pickled storage)`);
    },
  };
}

/** The values of a tensor in C order, from its storage's strided view. */
export function tensorValues(t: TorchTensor, what: string): Float64Array {
  const { storage, shape, stride, offset } = t;
  if (!storage.bytes) fail(what, `storage ${storage.key} has no data`);
  const count = shape.reduce((a, b) => a * b, 1);
  const size = elementSize(storage.type);
  const all = readElements(storage.bytes, storage.type, 0, Math.floor(storage.bytes.length / size), what);
  const out = new Float64Array(count);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let o = offset;
    for (let d = 0; d < shape.length; d++) o += idx[d]! * stride[d]!;
    if (o < 0 || o >= all.length) fail(what, 'a tensor reaches past the end of its storage');
    out[i] = all[o]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** PyTorch's legacy (pre-zip) format: magic, protocol, system info, the object, storage keys, raw storages. */
export function readLegacyTorch(bytes: Uint8Array, what: string): PyValue {
  const plain: GlobalHandlers = { call: {} };
  const magic = unpickle(bytes, plain, what, 0);
  if (magic.value !== LEGACY_MAGIC) fail(what, 'not a PyTorch file (no magic number)');
  const protocol = unpickle(bytes, plain, what, magic.end);
  if (protocol.value !== 1001) fail(what, `PyTorch legacy protocol ${String(protocol.value)} is not 1001`);
  const info = unpickle(bytes, plain, what, protocol.end);
  if (info.value instanceof Map && info.value.get('little_endian') === false) fail(what, 'was written on a big-endian machine');
  const storages = new Map<string, TorchStorage>();
  const lookup = (key: string, type: ElementType): TorchStorage => {
    let s = storages.get(key);
    if (!s) {
      s = { kind: 'storage', type, key, bytes: null };
      storages.set(key, s);
    }
    return s;
  };
  const main = unpickle(bytes, { call: torchHandlers(what), build: build(what), persistentLoad: (pid) => storageFromPid(pid, what, lookup) }, what, info.end);
  const keys = unpickle(bytes, plain, what, main.end);
  if (!Array.isArray(keys.value)) fail(what, 'the storage keys are not a list');
  let pos = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys.value) {
    const s = storages.get(String(key));
    if (!s) fail(what, `storage ${String(key)} is listed but never used`);
    if (pos + 8 > bytes.length) fail(what, 'the storages end early (truncated file?)');
    const count = Number(view.getBigInt64(pos, true));
    pos += 8;
    const n = count * elementSize(s.type);
    if (pos + n > bytes.length) fail(what, 'the storages end early (truncated file?)');
    s.bytes = bytes.subarray(pos, pos + n);
    pos += n;
  }
  return main.value;
}

/** A `torch.save` zip: `<prefix>/data.pkl` and the storages `<prefix>/data/<key>`. */
export function readTorchZip(entries: Record<string, Uint8Array>, what: string): PyValue {
  const pkl = Object.keys(entries).filter((n) => n.endsWith('data.pkl') && n.split('/').length === 2);
  if (pkl.length !== 1) fail(what, 'not a torch.save archive (no single <name>/data.pkl)');
  const prefix = pkl[0]!.slice(0, -'data.pkl'.length);
  const order = entries[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() === 'big') fail(what, 'was written on a big-endian machine');
  const lookup = (key: string, type: ElementType): TorchStorage => {
    const bytes = entries[`${prefix}data/${key}`];
    if (!bytes) fail(what, `storage ${key} is missing from the archive`);
    return { kind: 'storage', type, key, bytes };
  };
  return unpickle(entries[pkl[0]!]!, { call: torchHandlers(what), build: build(what), persistentLoad: (pid) => storageFromPid(pid, what, lookup) }, what).value;
}

/** A tensor-like value (PyTorch tensor or numeric numpy array) as float32, or null for anything else. */
export function asNamedArray(v: PyValue, what: string): NamedArray | null {
  if (isRecord(v) && v.kind === 'tensor') {
    const t = v as unknown as TorchTensor;
    return { shape: [...t.shape], data: Float32Array.from(tensorValues(t, what)) };
  }
  if (isRecord(v) && v.kind === 'numpy') {
    const a = v as unknown as NpArray;
    if (!a.values) return null;
    return { shape: [...a.shape], data: Float32Array.from(a.values) };
  }
  return null;
}

/** A state dict (a dict or OrderedDict of tensors) as named float32 arrays; `what` names the file. */
export function stateDictOf(v: PyValue, what: string): Record<string, NamedArray> {
  if (!(v instanceof Map)) fail(what, 'does not hold a state dict (a dict of tensors)');
  const out: Record<string, NamedArray> = {};
  for (const [k, t] of v) {
    if (typeof k !== 'string') fail(what, 'a state dict key is not text');
    const a = asNamedArray(t, `${what} (${k})`);
    if (!a) fail(what, `${k} is not a tensor`);
    out[k] = a;
  }
  return out;
}
