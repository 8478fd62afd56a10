/** Ops that move data: reshape, concat and split along channels, batch selection. */
import { Tensor, recordOp, accumulateGrad, shapeSize } from '../tensor.js';
import { allocFloats } from '../storage.js';

export function reshape(a: Tensor, shape: readonly number[]): Tensor {
  if (shapeSize(shape) !== a.size) throw new Error(`reshape: [${a.shape.join(', ')}] cannot become [${shape.join(', ')}]`);
  const out = new Tensor(shape, a.data);
  recordOp(out, [a], (g) => accumulateGrad(a, g, false));
  return out;
}

function nchw(t: Tensor, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) throw new Error(`${what}: expected an NCHW tensor, got shape [${t.shape.join(', ')}]`);
  return t.shape as unknown as [number, number, number, number];
}

/** Concatenates NCHW tensors along channels. */
export function concatChannels(parts: readonly Tensor[]): Tensor {
  const [N, , H, W] = nchw(parts[0]!, 'concatChannels');
  for (const p of parts) {
    const [n, , h, w] = nchw(p, 'concatChannels');
    if (n !== N || h !== H || w !== W) throw new Error('concatChannels: batch and spatial sizes differ');
  }
  const C = parts.reduce((s, p) => s + p.dim(1), 0);
  const HW = H * W;
  const out = Tensor.uninitialized([N, C, H, W]);
  for (let n = 0; n < N; n++) {
    let c0 = 0;
    for (const p of parts) {
      const pc = p.dim(1);
      out.data.set(p.data.subarray(n * pc * HW, (n + 1) * pc * HW), (n * C + c0) * HW);
      c0 += pc;
    }
  }
  recordOp(out, parts, (g) => {
    let c0 = 0;
    for (const p of parts) {
      const pc = p.dim(1);
      if (p.requiresGrad) {
        const gp = allocFloats(p.size, false);
        for (let n = 0; n < N; n++) gp.set(g.subarray((n * C + c0) * HW, (n * C + c0 + pc) * HW), n * pc * HW);
        accumulateGrad(p, gp);
      }
      c0 += pc;
    }
  });
  return out;
}

/** Channels [from, from + count) of an NCHW tensor. */
export function sliceChannels(a: Tensor, from: number, count: number): Tensor {
  const [N, C, H, W] = nchw(a, 'sliceChannels');
  if (from < 0 || count < 0 || from + count > C) throw new Error(`sliceChannels: [${from}, ${from + count}) outside ${C} channels`);
  const HW = H * W;
  const out = Tensor.uninitialized([N, count, H, W]);
  for (let n = 0; n < N; n++) out.data.set(a.data.subarray((n * C + from) * HW, (n * C + from + count) * HW), n * count * HW);
  recordOp(out, [a], (g) => {
    const ga = allocFloats(a.size);
    for (let n = 0; n < N; n++) ga.set(g.subarray(n * count * HW, (n + 1) * count * HW), (n * C + from) * HW);
    accumulateGrad(a, ga);
  });
  return out;
}

/** Concatenates NCHW tensors along the batch dimension. */
export function concatBatch(parts: readonly Tensor[]): Tensor {
  const [, C, H, W] = nchw(parts[0]!, 'concatBatch');
  const N = parts.reduce((s, p) => s + p.dim(0), 0);
  const out = Tensor.uninitialized([N, C, H, W]);
  let off = 0;
  for (const p of parts) {
    if (p.dim(1) !== C || p.dim(2) !== H || p.dim(3) !== W) throw new Error('concatBatch: shapes differ');
    out.data.set(p.data, off);
    off += p.size;
  }
  recordOp(out, parts, (g) => {
    let o = 0;
    for (const p of parts) {
      if (p.requiresGrad) accumulateGrad(p, g.subarray(o, o + p.size), false);
      o += p.size;
    }
  });
  return out;
}

/** Squared differences of batch items for the given pairs: out[p] = (a[i] - a[j])^2. */
export function pairSquaredDiff(a: Tensor, pairs: readonly (readonly [number, number])[]): Tensor {
  const [N, C, H, W] = nchw(a, 'pairSquaredDiff');
  const item = C * H * W;
  const out = Tensor.uninitialized([pairs.length, C, H, W]);
  pairs.forEach(([i, j], p) => {
    if (i >= N || j >= N) throw new Error(`pairSquaredDiff: pair (${i}, ${j}) outside batch ${N}`);
    const o = out.data,
      x = a.data;
    for (let k = 0; k < item; k++) {
      const d = x[i * item + k]! - x[j * item + k]!;
      o[p * item + k] = d * d;
    }
  });
  recordOp(out, [a], (g) => {
    const ga = allocFloats(a.size);
    const x = a.data;
    pairs.forEach(([i, j], p) => {
      for (let k = 0; k < item; k++) {
        const t = 2 * g[p * item + k]! * (x[i * item + k]! - x[j * item + k]!);
        ga[i * item + k] += t;
        ga[j * item + k] -= t;
      }
    });
    accumulateGrad(a, ga);
  });
  return out;
}
