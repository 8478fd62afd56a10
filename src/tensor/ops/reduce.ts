/** Means over chosen axes (kept as size-1 dimensions, as PyTorch's keepdim=True). */
import { Tensor, recordOp, accumulateGrad } from '../tensor.js';
import { broadcastIndex, planes } from './elementwise.js';
import { allocFloats } from '../storage.js';
import { backend } from '../kernels/index.js';

export function meanOver(a: Tensor, dims: readonly number[]): Tensor {
  const rank = a.shape.length;
  const norm = dims.map((d) => (d < 0 ? d + rank : d));
  for (const d of norm) if (d < 0 || d >= rank) throw new Error(`meanOver: no axis ${d} in shape [${a.shape.join(', ')}]`);
  const outShape = a.shape.map((s, i) => (norm.includes(i) ? 1 : s));
  const count = norm.reduce((p, d) => p * a.shape[d]!, 1);
  const out = new Tensor(outShape);
  const pl = planes(a.shape, outShape);
  const idx = pl ? null : broadcastIndex(a.shape, outShape, 'meanOver');
  // Accumulate in float64: these means feed volume normalisation and the loss.
  const acc = new Float64Array(out.size);
  const x = a.data;
  if (pl) {
    const S = pl.size;
    for (let p = 0; p < pl.count; p++) {
      const o = p * S,
        bo = pl.offsets[p]!;
      if (pl.spatial) for (let i = 0; i < S; i++) acc[bo + i] += x[o + i]!;
      else {
        let sum = 0;
        for (let i = 0; i < S; i++) sum += x[o + i]!;
        acc[bo] += sum;
      }
    }
  } else if (idx) for (let i = 0; i < x.length; i++) acc[idx[i]!] += x[i]!;
  else for (let i = 0; i < x.length; i++) acc[i] += x[i]!;
  for (let i = 0; i < acc.length; i++) out.data[i] = acc[i]! / count;
  recordOp(out, [a], (g) => {
    const ga = allocFloats(a.size, false);
    const inv = 1 / count;
    if (pl) {
      const S = pl.size;
      for (let p = 0; p < pl.count; p++) {
        const o = p * S,
          bo = pl.offsets[p]!;
        if (pl.spatial) for (let i = 0; i < S; i++) ga[o + i] = g[bo + i]! * inv;
        else ga.fill(g[bo]! * inv, o, o + S);
      }
    } else if (idx) for (let i = 0; i < ga.length; i++) ga[i] = g[idx[i]!]! * inv;
    else for (let i = 0; i < ga.length; i++) ga[i] = g[i]! * inv;
    accumulateGrad(a, ga);
  });
  return out;
}

/** Mean of all elements, as a tensor of shape [1]. */
export function meanAll(a: Tensor): Tensor {
  let acc = 0;
  for (let i = 0; i < a.size; i++) acc += a.data[i]!;
  const out = Tensor.from([1], [acc / a.size]);
  recordOp(out, [a], (g) => {
    const ga = allocFloats(a.size, false).fill(g[0]! / a.size);
    accumulateGrad(a, ga);
  });
  return out;
}

/**
 * [N, 1, h, w]: the mean over channels of |z - t| for z [N, C, h, w] and t [1, C, h, w]
 * (broadcast over the batch), accumulated in float64 (the anomaly map's per-level term).
 * Differentiable: the gradient of |d| is sign(d), 0 at 0 (as PyTorch's abs).
 */
export function meanAbsDiffOverChannels(z: Tensor, t: Tensor): Tensor {
  if (z.shape.length !== 4) throw new Error(`meanAbsDiffOverChannels: expected z [N, C, h, w], got [${z.shape.join(', ')}]`);
  const [N, C, h, w] = z.shape as [number, number, number, number];
  if (t.size !== C * h * w) {
    throw new Error(`meanAbsDiffOverChannels: t [${t.shape.join(', ')}] does not match one item of z [${z.shape.join(', ')}]`);
  }
  const hw = h * w;
  const out = Tensor.uninitialized([N, 1, h, w]);
  const zd = z.data,
    td = t.data,
    od = out.data;
  const b = backend();
  if (b.channelDiffMean)
    b.channelDiffMean(
      'abs',
      zd,
      td,
      1,
      Array.from({ length: N }, (_, n) => [n, 0] as const),
      C,
      hw,
      od,
    );
  else absDiffMeanLoop(zd, td, N, C, hw, od);
  recordOp(out, [z, t], (g) => {
    const gz = z.requiresGrad ? allocFloats(z.size, false) : null;
    const gt = t.requiresGrad ? allocFloats(t.size) : null;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const zo = (n * C + c) * hw,
          to = c * hw;
        for (let i = 0; i < hw; i++) {
          const d = zd[zo + i]! - td[to + i]!;
          const v = d > 0 ? g[n * hw + i]! / C : d < 0 ? -g[n * hw + i]! / C : 0;
          if (gz) gz[zo + i] = v;
          if (gt) gt[to + i] -= v;
        }
      }
    }
    if (gz) accumulateGrad(z, gz);
    if (gt) accumulateGrad(t, gt);
  });
  return out;
}

/** meanAbsDiffOverChannels's forward in JS (the backend's channelDiffMean 'abs' gives the same bits). */
function absDiffMeanLoop(zd: Float32Array, td: Float32Array, N: number, C: number, hw: number, od: Float32Array): void {
  const acc = new Float64Array(hw);
  for (let n = 0; n < N; n++) {
    acc.fill(0);
    let c = 0;
    // four channels a pass (a quarter of the accumulator's loads and stores); the sums still add
    // the channels one by one, in order, so the result is that of one channel a pass
    for (; c + 3 < C; c += 4) {
      const z0 = (n * C + c) * hw,
        z1 = z0 + hw,
        z2 = z1 + hw,
        z3 = z2 + hw,
        t0 = c * hw,
        t1 = t0 + hw,
        t2 = t1 + hw,
        t3 = t2 + hw;
      for (let i = 0; i < hw; i++) {
        acc[i] =
          acc[i]! +
          Math.abs(zd[z0 + i]! - td[t0 + i]!) +
          Math.abs(zd[z1 + i]! - td[t1 + i]!) +
          Math.abs(zd[z2 + i]! - td[t2 + i]!) +
          Math.abs(zd[z3 + i]! - td[t3 + i]!);
      }
    }
    for (; c < C; c++) {
      const zo = (n * C + c) * hw,
        to = c * hw;
      for (let i = 0; i < hw; i++) acc[i] += Math.abs(zd[zo + i]! - td[to + i]!);
    }
    for (let i = 0; i < hw; i++) od[n * hw + i] = acc[i]! / C;
  }
}

/**
 * [P, 1, H, W]: for each pair (i, j), the mean over channels of (a[i] - a[j])^2, for a [N, C, H, W]:
 * meanOver(pairSquaredDiff(a, pairs), [1]) in one pass, without the [P, C, H, W] squares (the
 * loss's largest temporaries). Same arithmetic as the two ops, so the same bits: squares rounded
 * to float32, summed over channels in float64 in channel order; gradient 2 * (g / C) * (a[i] - a[j]).
 */
export function pairSquaredDiffMean(a: Tensor, pairs: readonly (readonly [number, number])[]): Tensor {
  if (a.shape.length !== 4) throw new Error(`pairSquaredDiffMean: expected [N, C, H, W], got [${a.shape.join(', ')}]`);
  const [N, C, H, W] = a.shape as [number, number, number, number];
  for (const [i, j] of pairs) if (i >= N || j >= N) throw new Error(`pairSquaredDiffMean: pair (${i}, ${j}) outside batch ${N}`);
  const hw = H * W,
    item = C * hw;
  const out = Tensor.uninitialized([pairs.length, 1, H, W]);
  const x = a.data,
    od = out.data;
  const b = backend();
  if (b.channelDiffMean) b.channelDiffMean('square', x, x, N, pairs, C, hw, od);
  else {
    const acc = new Float64Array(hw);
    pairs.forEach(([i, j], p) => {
      acc.fill(0);
      for (let c = 0; c < C; c++) {
        const oi = i * item + c * hw,
          oj = j * item + c * hw;
        for (let k = 0; k < hw; k++) {
          const d = x[oi + k]! - x[oj + k]!;
          acc[k] += Math.fround(d * d);
        }
      }
      for (let k = 0; k < hw; k++) od[p * hw + k] = acc[k]! / C;
    });
  }
  recordOp(out, [a], (g) => {
    const kb = backend();
    const ga = allocFloats(a.size, !kb.pairSquaredDiffMeanGrad);
    if (kb.pairSquaredDiffMeanGrad) kb.pairSquaredDiffMeanGrad(x, g, N, pairs, C, hw, ga);
    else {
      const inv = 1 / C;
      pairs.forEach(([i, j], p) => {
        for (let c = 0; c < C; c++) {
          const oi = i * item + c * hw,
            oj = j * item + c * hw;
          for (let k = 0; k < hw; k++) {
            const t = 2 * Math.fround(g[p * hw + k]! * inv) * (x[oi + k]! - x[oj + k]!);
            ga[oi + k] += t;
            ga[oj + k] -= t;
          }
        }
      });
    }
    accumulateGrad(a, ga);
  });
  return out;
}
