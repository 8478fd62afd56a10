/**
 * A restricted reader of Python's pickle format (protocols 0 to 5), enough for the state dicts of
 * tensors that numpy and PyTorch write. Pickle can name any Python function and call it while
 * loading; this reader executes nothing: every global a pickle names must be on a short allow list
 * of the constructors a state dict needs (the caller gives their JavaScript meaning), and any other
 * global (`os.system`, `builtins.eval`, ...) is refused by name before anything is built.
 */
import { PyramidFlowError } from '../util/errors.js';

/** A Python global, by module and name, as the pickle names it. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A value a pickle builds: null, booleans, numbers (bigint when large), text, bytes, arrays (lists and tuples), Maps (dicts), Sets, or what a handler made. */
export type PyValue = unknown;

/** What a caller gives for an allowed global: how to call it, and how BUILD sets an object's state. */
export interface GlobalHandlers {
  /** Allowed globals by qualified name: called with REDUCE/NEWOBJ arguments (undefined: the global may be named, not called). */
  call: Record<string, ((args: PyValue[]) => PyValue) | undefined>;
  /** BUILD: sets the state of an object a handler made (default: refused for anything but a dict). */
  build?: (obj: PyValue, state: PyValue) => PyValue;
  /** PERSID/BINPERSID: what a persistent id stands for (PyTorch's storages); absent: refused. */
  persistentLoad?: (pid: PyValue) => PyValue;
}

/**
 * Every global any reader here allows: the constructors of numpy arrays, ordered dicts and
 * PyTorch tensors, storages and parameters. Nothing else is ever named, let alone called.
 */
export const ALLOWED_GLOBALS: readonly string[] = [
  'collections.OrderedDict',
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.ndarray',
  'numpy.dtype',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch.storage._load_from_bytes',
  'torch.FloatStorage',
  'torch.DoubleStorage',
  'torch.HalfStorage',
  'torch.BFloat16Storage',
];

export interface UnpickleResult {
  value: PyValue;
  /** The offset just after the STOP opcode (PyTorch's legacy format puts pickles back to back). */
  end: number;
}

function fail(what: string, message: string): never {
  throw new PyramidFlowError(`${what}: ${message}`, 'E_INPUT');
}

/** Decodes Python's `repr`-style quoted text of protocol 0 (STRING): quotes and backslash escapes. */
function protocol0String(text: string, what: string): string {
  const t = text.trim();
  const q = t[0];
  if ((q !== "'" && q !== '"') || t[t.length - 1] !== q) fail(what, 'a protocol-0 string is not quoted');
  return t.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[e] ?? e;
  });
}

/**
 * Reads one pickle from `bytes` at `offset`. `what` (the file and entry) starts every error.
 * Globals outside {@link ALLOWED_GLOBALS} or without a handler are refused by name.
 */
export function unpickle(bytes: Uint8Array, handlers: GlobalHandlers, what: string, offset = 0): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  const latin1 = new TextDecoder('latin1');
  let pos = offset;
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();

  const need = (n: number): void => {
    if (pos + n > bytes.length) fail(what, 'the pickle ends early (truncated file?)');
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(what, 'a length is too large');
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(what, 'the pickle ends early (a text line has no end)');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail(what, 'the pickle pops an empty stack (not a valid pickle)');
    return stack.pop();
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail(what, 'the pickle reads an empty stack (not a valid pickle)');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) fail(what, 'the pickle has no mark to pop to (not a valid pickle)');
    const items = stack.splice(m);
    return items;
  };
  const longFrom = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.includes(q) || !(q in handlers.call)) {
      fail(
        what,
        `refusing the Python global ${q}: a checkpoint may only name the few constructors a state dict of tensors needs (${ALLOWED_GLOBALS.join(', ')}); pickle can run code, so nothing else is loaded`,
      );
    }
    return new PyGlobal(module, name);
  };
  const call = (fn: PyValue, args: PyValue): PyValue => {
    if (!(fn instanceof PyGlobal)) fail(what, 'the pickle calls something that is not an allowed global');
    const impl = handlers.call[fn.qualified];
    if (!impl) fail(what, `refusing to call the Python global ${fn.qualified}: it may only be named, not called`);
    if (!Array.isArray(args)) fail(what, `the arguments of ${fn.qualified} are not a tuple`);
    return impl(args);
  };
  const setItems = (d: PyValue, items: PyValue[]): void => {
    if (!(d instanceof Map)) fail(what, 'the pickle sets items of something that is not a dict');
    if (items.length % 2 !== 0) fail(what, 'the pickle sets dict items from an odd count of values');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length > 0 && marks[marks.length - 1] === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x49: {
        // INT (text; 01/00 are the booleans of protocol 0)
        const s = line().trim();
        if (s === '01' || s === '00') stack.push(s === '01');
        else {
          const v = Number.parseInt(s, 10);
          if (Number.isNaN(v)) fail(what, `the pickle has a bad integer ${JSON.stringify(s)}`);
          stack.push(v);
        }
        break;
      }
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4c: {
        // LONG (text)
        const s = line().trim().replace(/L$/, '');
        const v = BigInt(s);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x8a: // LONG1
        stack.push(longFrom(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail(what, 'the pickle has a negative length');
        stack.push(longFrom(take(n)));
        break;
      }
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x53: // STRING
        stack.push(protocol0String(line(), what));
        break;
      case 0x54: {
        // BINSTRING
        const n = i32();
        if (n < 0) fail(what, 'the pickle has a negative length');
        stack.push(latin1.decode(take(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text)
        stack.push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail(what, 'the pickle appends to something that is not a list');
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail(what, 'the pickle appends to something that is not a list');
        l.push(...items);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(what, 'the pickle adds items to something that is not a set');
        for (const v of items) s.add(v);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x67: {
        // GET
        const k = Number.parseInt(line(), 10);
        if (!memo.has(k)) fail(what, `the pickle reads memo ${k}, never stored`);
        stack.push(memo.get(k));
        break;
      }
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(what, `the pickle reads memo ${k}, never stored`);
        stack.push(memo.get(k));
        break;
      }
      case 0x70: // PUT
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(what, 'the pickle names a global with values that are not text');
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (kwargs instanceof Map && kwargs.size > 0) fail(what, 'the pickle constructs an object with keyword arguments (not a state dict)');
        stack.push(call(cls, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = pop();
        if (handlers.build) stack.push(handlers.build(obj, state));
        else fail(what, 'the pickle sets the state of an object (not a state dict of tensors)');
        break;
      }
      case 0x50: // PERSID
      case 0x51: {
        // BINPERSID
        const pid = op === 0x50 ? line() : pop();
        if (!handlers.persistentLoad) fail(what, 'the pickle refers to outside data (persistent id) where none is expected');
        stack.push(handlers.persistentLoad(pid));
        break;
      }
      case 0x69: // INST
      case 0x6f: // OBJ
        fail(what, `refusing the pickle opcode ${op === 0x69 ? 'INST' : 'OBJ'}: it builds arbitrary class instances`);
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        fail(what, 'refusing the pickle opcode EXT (the copyreg extension registry names arbitrary globals)');
        break;
      default:
        fail(what, `not a pickle this reader accepts (opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1})`);
    }
    if (stack.length > 10_000_000) fail(what, 'the pickle grows too large');
  }
}
