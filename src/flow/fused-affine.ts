/**
 * The coupling's elementwise tail as one op, because on the model's largest maps the unfused
 * chain (slice, slice, soft clamp, mean, subtract, exp, resize, multiply, add) dominated the step:
 *
 *   s     = clamp * 0.636 * atan(raw[:, :C] / clamp)          (soft clamp)
 *   s'    = s - mean(s over dims)   or   s - runningMean       (volume normalisation)
 *   scale = exp(s'),  shift = raw[:, C:]
 *   y     = nearest(scale) * x + nearest(shift)                (nearest only when sizes differ)
 *
 * It must equal the unfused chain (tested against it), and it returns the batch mean so the
 * caller can update the running mean.
 */
import { Tensor, recordOp, accumulateGrad, nearestIndex } from '../tensor/index.js';
import type { VolumeNorm } from '../api/types.js';

export interface FusedAffineOptions {
  clamp: number;
  volumeNorm: VolumeNorm;
  /** Training: normalise by the batch mean (returned); evaluation: by this running mean. */
  training: boolean;
  runningMean: Tensor;
}

export function fusedAffine(raw: Tensor, x: Tensor, o: FusedAffineOptions): { y: Tensor; batchMean: Tensor | null } {
  const [N, C2, h, w] = raw.shape as [number, number, number, number];
  const C = C2 / 2;
  const [xn, xc, H, W] = x.shape as [number, number, number, number];
  if (xn !== N || xc !== C) throw new Error(`fusedAffine: raw [${raw.shape.join(', ')}] does not match x [${x.shape.join(', ')}]`);
  const hw = h * w, HW = H * W;
  const cc = o.clamp * 0.636, inv = 1 / o.clamp;
  const r = raw.data, xd = x.data;

  // Soft-clamped log-scale and its mean.
  const s = new Float32Array(N * C * hw);
  for (let n = 0; n < N; n++) {
    const ro = n * C2 * hw, so = n * C * hw;
    for (let i = 0; i < C * hw; i++) s[so + i] = cc * Math.atan(r[ro + i]! * inv);
  }
  const cvn = o.volumeNorm === 'cvn';
  let mean: Float32Array;
  let batchMean: Tensor | null = null;
  if (o.training) {
    batchMean = new Tensor(cvn ? [1, 1, h, w] : [1, C, 1, 1]);
    mean = batchMean.data;
    const acc = new Float64Array(mean.length);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        const so = (n * C + c) * hw;
        if (cvn) for (let p = 0; p < hw; p++) acc[p] += s[so + p]!;
        else {
          let sum = 0;
          for (let p = 0; p < hw; p++) sum += s[so + p]!;
          acc[c] += sum;
        }
      }
    const count = cvn ? N * C : N * hw;
    for (let i = 0; i < acc.length; i++) mean[i] = acc[i]! / count;
  } else {
    mean = o.runningMean.data;
  }
  // scale = exp(s - mean), in place of s.
  const scalar = mean.length === 1;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const so = (n * C + c) * hw;
      if (scalar || !cvn) {
        const m = mean[scalar ? 0 : c]!;
        for (let p = 0; p < hw; p++) s[so + p] = Math.exp(s[so + p]! - m);
      } else for (let p = 0; p < hw; p++) s[so + p] = Math.exp(s[so + p]! - mean[p]!);
    }
  const scale = s;

  // y = nearest(scale) * x + nearest(shift).
  const same = H === h && W === w;
  const ri = same ? null : nearestIndex(H, h), ci = same ? null : nearestIndex(W, w);
  const y = new Tensor(x.shape);
  const yd = y.data;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const xo = (n * C + c) * HW, so = (n * C + c) * hw, to = (n * C2 + C + c) * hw;
      if (same) for (let p = 0; p < HW; p++) yd[xo + p] = scale[so + p]! * xd[xo + p]! + r[to + p]!;
      else
        for (let i = 0; i < H; i++) {
          const sr = ri![i]! * w;
          for (let j = 0; j < W; j++) {
            const q = sr + ci![j]!;
            yd[xo + i * W + j] = scale[so + q]! * xd[xo + i * W + j]! + r[to + q]!;
          }
        }
    }

  recordOp(y, [raw, x], (gy) => {
    const gx = x.requiresGrad ? new Float32Array(x.size) : null;
    const graw = new Float32Array(raw.size);
    // Gradients with respect to scale (kept in gs) and shift (straight into graw), at the affine resolution.
    const gs = new Float32Array(N * C * hw);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        const xo = (n * C + c) * HW, so = (n * C + c) * hw, to = (n * C2 + C + c) * hw;
        if (same) {
          for (let p = 0; p < HW; p++) {
            const g = gy[xo + p]!;
            if (gx) gx[xo + p] = g * scale[so + p]!;
            gs[so + p] = g * xd[xo + p]!;
            graw[to + p] = g;
          }
          continue;
        }
        for (let i = 0; i < H; i++) {
          const sr = ri![i]! * w;
          for (let j = 0; j < W; j++) {
            const q = sr + ci![j]!;
            const k = xo + i * W + j, g = gy[k]!;
            if (gx) gx[k] = g * scale[so + q]!;
            gs[so + q] += g * xd[k]!;
            graw[to + q] += g;
          }
        }
      }
    // Through exp: d/ds' = gscale * scale.
    for (let i = 0; i < gs.length; i++) gs[i] = gs[i]! * scale[i]!;
    // Through the batch mean: s' = s - mean(s), so ds = ds' - mean(ds').
    if (o.training) {
      const gmean = new Float64Array(mean.length);
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++) {
          const so = (n * C + c) * hw;
          if (cvn) for (let p = 0; p < hw; p++) gmean[p] += gs[so + p]!;
          else {
            let sum = 0;
            for (let p = 0; p < hw; p++) sum += gs[so + p]!;
            gmean[c] += sum;
          }
        }
      const count = cvn ? N * C : N * hw;
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++) {
          const so = (n * C + c) * hw;
          if (cvn) for (let p = 0; p < hw; p++) gs[so + p] = gs[so + p]! - gmean[p]! / count;
          else {
            const m = gmean[c]! / count;
            for (let p = 0; p < hw; p++) gs[so + p] = gs[so + p]! - m;
          }
        }
    }
    // Through the soft clamp.
    const d = cc * inv;
    for (let n = 0; n < N; n++) {
      const ro = n * C2 * hw, so = n * C * hw;
      for (let i = 0; i < C * hw; i++) {
        const u = r[ro + i]! * inv;
        graw[ro + i] = (gs[so + i]! * d) / (1 + u * u);
      }
    }
    if (gx) accumulateGrad(x, gx);
    accumulateGrad(raw, graw);
  });
  return { y, batchMean };
}
