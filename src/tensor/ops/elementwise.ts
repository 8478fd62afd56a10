/** Elementwise ops with gradients. Binary ops broadcast the second operand over the first. */
import { Tensor, recordOp, accumulateGrad, sameShape } from '../tensor.js';
import { allocFloats, release } from '../storage.js';
import { backend } from '../kernels/index.js';
import { timed } from '../profile.js';

/**
 * Maps each index of `full` to the index of a tensor of shape `small` (same rank, each
 * dimension equal or 1). Returns null when the shapes are equal (the fast path).
 */
export function broadcastIndex(full: readonly number[], small: readonly number[], what: string): Int32Array | null {
  if (sameShape(full, small)) return null;
  if (full.length !== small.length || small.some((d, i) => d !== 1 && d !== full[i])) {
    throw new Error(`${what}: cannot broadcast [${small.join(', ')}] to [${full.join(', ')}]`);
  }
  const size = full.reduce((a, b) => a * b, 1);
  const idx = new Int32Array(size);
  const rank = full.length;
  const smallStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    smallStrides[d] = small[d] === 1 ? 0 : s;
    s *= small[d]!;
  }
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < size; i++) {
    idx[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      off += smallStrides[d]!;
      if (counter[d]! < full[d]!) break;
      off -= smallStrides[d]! * full[d]!;
      counter[d] = 0;
    }
  }
  return idx;
}

/**
 * NCHW broadcasting by planes: for each (n, c) plane of `full`, where the matching data of
 * `small` starts and whether it is a whole plane (small has H, W) or one value (small has 1, 1).
 * Covers every broadcast the model makes (per pixel, per channel) without index arrays.
 */
export interface Planes {
  count: number;
  size: number;
  offsets: Int32Array;
  spatial: boolean;
}

export function planes(full: readonly number[], small: readonly number[]): Planes | null {
  if (full.length !== 4 || small.length !== 4) return null;
  const [N, C, H, W] = full as [number, number, number, number];
  const [n1, c1, h1, w1] = small as [number, number, number, number];
  const spatial = h1 === H && w1 === W;
  if (!spatial && !(h1 === 1 && w1 === 1)) return null;
  if ((n1 !== N && n1 !== 1) || (c1 !== C && c1 !== 1)) return null;
  const size = H * W;
  const offsets = new Int32Array(N * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) offsets[n * C + c] = ((n1 === 1 ? 0 : n) * c1 + (c1 === 1 ? 0 : c)) * (spatial ? size : 1);
  return { count: N * C, size, offsets, spatial };
}

type BinaryKind = 'add' | 'sub' | 'mul';

/** Elements from which a same-shape binary op runs on the backend's kernels (vector, all threads). */
const KERNEL_ELEMS = 1 << 16;

/** out = a (op) broadcast(b). */
function binaryForward(kind: BinaryKind, a: Tensor, b: Tensor, out: Float32Array): void {
  const x = a.data,
    y = b.data;
  if (sameShape(a.shape, b.shape)) {
    if (out.length >= KERNEL_ELEMS) {
      backend().binary(kind, x, y, out.length, out);
      return;
    }
    if (kind === 'add') for (let i = 0; i < out.length; i++) out[i] = x[i]! + y[i]!;
    else if (kind === 'sub') for (let i = 0; i < out.length; i++) out[i] = x[i]! - y[i]!;
    else for (let i = 0; i < out.length; i++) out[i] = x[i]! * y[i]!;
    return;
  }
  const pl = planes(a.shape, b.shape);
  if (!pl) {
    const idx = broadcastIndex(a.shape, b.shape, kind)!;
    for (let i = 0; i < out.length; i++) out[i] = kind === 'add' ? x[i]! + y[idx[i]!]! : kind === 'sub' ? x[i]! - y[idx[i]!]! : x[i]! * y[idx[i]!]!;
    return;
  }
  const S = pl.size;
  for (let p = 0; p < pl.count; p++) {
    const o = p * S,
      bo = pl.offsets[p]!;
    if (pl.spatial) {
      if (kind === 'add') for (let i = 0; i < S; i++) out[o + i] = x[o + i]! + y[bo + i]!;
      else if (kind === 'sub') for (let i = 0; i < S; i++) out[o + i] = x[o + i]! - y[bo + i]!;
      else for (let i = 0; i < S; i++) out[o + i] = x[o + i]! * y[bo + i]!;
    } else {
      const v = y[bo]!;
      if (kind === 'add') for (let i = 0; i < S; i++) out[o + i] = x[o + i]! + v;
      else if (kind === 'sub') for (let i = 0; i < S; i++) out[o + i] = x[o + i]! - v;
      else for (let i = 0; i < S; i++) out[o + i] = x[o + i]! * v;
    }
  }
}

/** Sums a full-shape gradient down to the broadcast operand's shape. */
function reduceToSmall(g: Float32Array, full: readonly number[], small: readonly number[], smallSize: number): Float32Array {
  if (sameShape(full, small)) return g;
  const out = allocFloats(smallSize);
  const pl = planes(full, small);
  if (!pl) {
    const idx = broadcastIndex(full, small, 'reduce')!;
    for (let i = 0; i < g.length; i++) out[idx[i]!] += g[i]!;
    return out;
  }
  const S = pl.size;
  for (let p = 0; p < pl.count; p++) {
    const o = p * S,
      bo = pl.offsets[p]!;
    if (pl.spatial) for (let i = 0; i < S; i++) out[bo + i] += g[o + i]!;
    else {
      let acc = 0;
      for (let i = 0; i < S; i++) acc += g[o + i]!;
      out[bo] += acc;
    }
  }
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  broadcastCheck(a, b, 'add');
  const out = Tensor.uninitialized(a.shape);
  binaryForward('add', a, b, out.data);
  recordOp(out, [a, b], (g) => {
    accumulateGrad(a, g, false);
    if (b.requiresGrad) {
      const r = reduceToSmall(g, a.shape, b.shape, b.size);
      accumulateGrad(b, r, r !== g);
    }
  });
  return out;
}

export function sub(a: Tensor, b: Tensor): Tensor {
  broadcastCheck(a, b, 'sub');
  const out = Tensor.uninitialized(a.shape);
  binaryForward('sub', a, b, out.data);
  recordOp(out, [a, b], (g) => {
    accumulateGrad(a, g, false);
    if (b.requiresGrad) {
      const r = reduceToSmall(g, a.shape, b.shape, b.size);
      const neg = allocFloats(r.length, false);
      for (let i = 0; i < r.length; i++) neg[i] = -r[i]!;
      accumulateGrad(b, neg);
    }
  });
  return out;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  broadcastCheck(a, b, 'mul');
  const out = Tensor.uninitialized(a.shape);
  binaryForward('mul', a, b, out.data);
  recordOp(out, [a, b], (g) => {
    if (a.requiresGrad) {
      const ga = allocFloats(g.length, false);
      binaryForward('mul', new Tensor(a.shape, g), b, ga);
      accumulateGrad(a, ga);
    }
    if (b.requiresGrad) {
      const gb = allocFloats(g.length, false);
      const x = a.data;
      for (let i = 0; i < g.length; i++) gb[i] = g[i]! * x[i]!;
      const r = reduceToSmall(gb, a.shape, b.shape, b.size);
      if (r !== gb) release(gb);
      accumulateGrad(b, r);
    }
  });
  return out;
}

function broadcastCheck(a: Tensor, b: Tensor, what: string): void {
  if (sameShape(a.shape, b.shape)) return;
  if (a.shape.length !== b.shape.length || b.shape.some((d, i) => d !== 1 && d !== a.shape[i])) {
    throw new Error(`${what}: cannot broadcast [${b.shape.join(', ')}] to [${a.shape.join(', ')}]`);
  }
}

/**
 * a / b elementwise, same shapes (no broadcasting). Differentiable: d/da = 1/b, d/db = -out/b.
 * (The coupling's unfused inverse, (y - shift) / scale.)
 */
export function div(a: Tensor, b: Tensor): Tensor {
  if (!sameShape(a.shape, b.shape)) throw new Error(`div: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  const out = Tensor.uninitialized(a.shape);
  const x = a.data,
    y = b.data,
    o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = x[i]! / y[i]!;
  recordOp(out, [a, b], (g) => {
    if (a.requiresGrad) {
      const ga = allocFloats(g.length, false);
      for (let i = 0; i < g.length; i++) ga[i] = g[i]! / y[i]!;
      accumulateGrad(a, ga);
    }
    if (b.requiresGrad) {
      const gb = allocFloats(g.length, false);
      for (let i = 0; i < g.length; i++) gb[i] = (-g[i]! * o[i]!) / y[i]!;
      accumulateGrad(b, gb);
    }
  });
  return out;
}

/**
 * (1 - momentum) * prev + momentum * value, in float64 and rounded once: the update of a running
 * statistic (PyTorch's batch-norm running mean). `prev` has value's size, or is one number that
 * is broadcast (a running mean before its first update). The result is model state: on the
 * heap, never in a resident scope's memory (storage.ts), and not recorded on a tape.
 */
export function movingAverage(prev: Tensor, value: Tensor, momentum: number): Tensor {
  if (prev.size !== 1 && prev.size !== value.size) {
    throw new Error(`movingAverage: [${prev.shape.join(', ')}] does not match [${value.shape.join(', ')}]`);
  }
  const out = new Tensor(value.shape, new Float32Array(value.size));
  const p = prev.data,
    v = value.data,
    o = out.data;
  for (let i = 0; i < o.length; i++) {
    const q = p.length === 1 ? p[0]! : p[i]!;
    o[i] = (1 - momentum) * q + momentum * v[i]!;
  }
  return out;
}

/** a * c for a constant c. */
export function scale(a: Tensor, c: number): Tensor {
  const out = Tensor.uninitialized(a.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = a.data[i]! * c;
  recordOp(out, [a], (g) => {
    const ga = allocFloats(g.length, false);
    for (let i = 0; i < g.length; i++) ga[i] = g[i]! * c;
    accumulateGrad(a, ga);
  });
  return out;
}

/**
 * Unary ops are written out one loop each: a shared loop calling a function argument becomes
 * megamorphic in V8 and runs several times slower on the 4-million-element maps of the model.
 */
function unaryOut(a: Tensor): Tensor {
  return Tensor.uninitialized(a.shape);
}

function finish(a: Tensor, out: Tensor, grad: (g: Float32Array, ga: Float32Array) => void): Tensor {
  recordOp(out, [a], (g) => {
    const ga = allocFloats(g.length, false);
    grad(g, ga);
    accumulateGrad(a, ga);
  });
  return out;
}

/** exp by the backend's kernel: the same arithmetic as the fused affine tail's (the inverse path relies on it). */
export function exp(a: Tensor): Tensor {
  const out = unaryOut(a),
    x = a.data,
    y = out.data;
  timed('soft clamp / exp', () => backend().exp(x, y.length, y));
  return finish(a, out, (g, ga) => {
    for (let i = 0; i < g.length; i++) ga[i] = g[i]! * y[i]!;
  });
}

export function atan(a: Tensor): Tensor {
  const out = unaryOut(a),
    x = a.data,
    y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = Math.atan(x[i]!);
  return finish(a, out, (g, ga) => {
    for (let i = 0; i < g.length; i++) {
      const v = x[i]!;
      ga[i] = g[i]! / (1 + v * v);
    }
  });
}

export function square(a: Tensor): Tensor {
  const out = unaryOut(a),
    x = a.data,
    y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = x[i]! * x[i]!;
  return finish(a, out, (g, ga) => {
    for (let i = 0; i < g.length; i++) ga[i] = 2 * g[i]! * x[i]!;
  });
}

/** |x|, with gradient 0 at 0 (as PyTorch). */
export function abs(a: Tensor): Tensor {
  const out = unaryOut(a),
    x = a.data,
    y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = Math.abs(x[i]!);
  return finish(a, out, (g, ga) => {
    for (let i = 0; i < g.length; i++) {
      const v = x[i]!;
      ga[i] = v > 0 ? g[i]! : v < 0 ? -g[i]! : 0;
    }
  });
}

export function leakyRelu(a: Tensor, slope = 0.01): Tensor {
  const out = unaryOut(a),
    x = a.data,
    y = out.data;
  timed('leaky relu', () => backend().leakyRelu(x, slope, y.length, y));
  return finish(a, out, (g, ga) => timed('leaky relu', () => backend().leakyReluGrad(x, g, slope, g.length, ga)));
}

/**
 * The affine block's soft clamp: clamp * 0.636 * atan(x / clamp), by the backend's kernel (the
 * same arithmetic as the fused affine tail's). The constant 0.636 (about 2/pi) is the official code's.
 */
export function softClamp(a: Tensor, clamp: number): Tensor {
  const c = clamp * 0.636,
    inv = 1 / clamp,
    d = c / clamp;
  const out = unaryOut(a),
    x = a.data,
    y = out.data;
  timed('soft clamp / exp', () => backend().softClamp(x, clamp, y.length, y));
  return finish(a, out, (g, ga) => {
    for (let i = 0; i < g.length; i++) {
      const u = x[i]! * inv;
      ga[i] = (g[i]! * d) / (1 + u * u);
    }
  });
}
