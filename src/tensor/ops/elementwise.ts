/** Elementwise ops with gradients. Binary ops broadcast the second operand over the first. */
import { Tensor, recordOp, accumulateGrad, sameShape } from '../tensor.js';

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

function reduceToSmall(g: Float32Array, idx: Int32Array | null, smallSize: number): Float32Array {
  if (!idx) return g;
  const out = new Float32Array(smallSize);
  for (let i = 0; i < g.length; i++) out[idx[i]!] += g[i]!;
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  const idx = broadcastIndex(a.shape, b.shape, 'add');
  const out = new Tensor(a.shape);
  const o = out.data, x = a.data, y = b.data;
  if (idx) for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[idx[i]!]!;
  else for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[i]!;
  recordOp(out, [a, b], (g) => {
    accumulateGrad(a, g);
    if (b.requiresGrad) accumulateGrad(b, reduceToSmall(g, idx, b.size));
  });
  return out;
}

export function sub(a: Tensor, b: Tensor): Tensor {
  const idx = broadcastIndex(a.shape, b.shape, 'sub');
  const out = new Tensor(a.shape);
  const o = out.data, x = a.data, y = b.data;
  if (idx) for (let i = 0; i < o.length; i++) o[i] = x[i]! - y[idx[i]!]!;
  else for (let i = 0; i < o.length; i++) o[i] = x[i]! - y[i]!;
  recordOp(out, [a, b], (g) => {
    accumulateGrad(a, g);
    if (b.requiresGrad) {
      const r = reduceToSmall(g, idx, b.size);
      const neg = new Float32Array(r.length);
      for (let i = 0; i < r.length; i++) neg[i] = -r[i]!;
      accumulateGrad(b, neg);
    }
  });
  return out;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const idx = broadcastIndex(a.shape, b.shape, 'mul');
  const out = new Tensor(a.shape);
  const o = out.data, x = a.data, y = b.data;
  if (idx) for (let i = 0; i < o.length; i++) o[i] = x[i]! * y[idx[i]!]!;
  else for (let i = 0; i < o.length; i++) o[i] = x[i]! * y[i]!;
  recordOp(out, [a, b], (g) => {
    if (a.requiresGrad) {
      const ga = new Float32Array(g.length);
      if (idx) for (let i = 0; i < g.length; i++) ga[i] = g[i]! * y[idx[i]!]!;
      else for (let i = 0; i < g.length; i++) ga[i] = g[i]! * y[i]!;
      accumulateGrad(a, ga);
    }
    if (b.requiresGrad) {
      const gb = new Float32Array(g.length);
      for (let i = 0; i < g.length; i++) gb[i] = g[i]! * x[i]!;
      accumulateGrad(b, reduceToSmall(gb, idx, b.size));
    }
  });
  return out;
}

/** a * c for a constant c. */
export function scale(a: Tensor, c: number): Tensor {
  const out = new Tensor(a.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = a.data[i]! * c;
  recordOp(out, [a], (g) => {
    const ga = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) ga[i] = g[i]! * c;
    accumulateGrad(a, ga);
  });
  return out;
}

/** Unary op from a value function and its derivative expressed with input x and output y. */
function unary(a: Tensor, f: (x: number) => number, df: (x: number, y: number) => number): Tensor {
  const out = new Tensor(a.shape);
  const x = a.data, y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = f(x[i]!);
  recordOp(out, [a], (g) => {
    const ga = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) ga[i] = g[i]! * df(x[i]!, y[i]!);
    accumulateGrad(a, ga);
  });
  return out;
}

export function exp(a: Tensor): Tensor {
  return unary(a, Math.exp, (_x, y) => y);
}

export function atan(a: Tensor): Tensor {
  return unary(a, Math.atan, (x) => 1 / (1 + x * x));
}

export function square(a: Tensor): Tensor {
  return unary(a, (x) => x * x, (x) => 2 * x);
}

/** |x|, with gradient 0 at 0 (as PyTorch). */
export function abs(a: Tensor): Tensor {
  return unary(a, Math.abs, (x) => (x > 0 ? 1 : x < 0 ? -1 : 0));
}

export function leakyRelu(a: Tensor, slope = 0.01): Tensor {
  return unary(a, (x) => (x > 0 ? x : x * slope), (x) => (x > 0 ? 1 : slope));
}

/**
 * The affine block's soft clamp: clamp * 0.636 * atan(x / clamp). Fused because it runs on
 * every log-scale map. The constant 0.636 (about 2/pi) is the official code's.
 */
export function softClamp(a: Tensor, clamp: number): Tensor {
  const c = clamp * 0.636;
  return unary(
    a,
    (x) => c * Math.atan(x / clamp),
    (x) => {
      const u = x / clamp;
      return (c / clamp) / (1 + u * u);
    },
  );
}
