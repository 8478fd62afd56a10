/**
 * Reference kernels of the coupling's fused affine tail (see AffineShape in ../backend.ts):
 * plain loops with float64 Math.atan / Math.exp, float64 sums for the batch means. The oracle
 * of the wasm kernels' tests, and the JS backend's implementation.
 */
import { affineSizes, nearestIndex, type AffineShape } from '../backend.js';

const SOFT_CLAMP = 0.636;

/** scale[n, c] = exp(clamp * 0.636 * atan(raw[n, c] / clamp) - mean): into `scale` [N, C, h, w]. */
function scaleOf(raw: Float32Array, s: AffineShape, mean: Float32Array, scale: Float32Array): void {
  const { batch: N, channels: C, volumeNorm } = s;
  const { hw } = affineSizes(s);
  const cc = s.clamp * SOFT_CLAMP,
    inv = 1 / s.clamp;
  const scalar = mean.length === 1,
    cvn = volumeNorm === 'cvn';
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const ro = (n * 2 * C + c) * hw,
        so = (n * C + c) * hw;
      if (scalar || !cvn) {
        const m = mean[scalar ? 0 : c]!;
        for (let p = 0; p < hw; p++) scale[so + p] = Math.exp(Math.fround(cc * Math.atan(raw[ro + p]! * inv)) - m);
      } else for (let p = 0; p < hw; p++) scale[so + p] = Math.exp(Math.fround(cc * Math.atan(raw[ro + p]! * inv)) - mean[p]!);
    }
}

export function fusedAffineForwardRef(
  raw: Float32Array,
  x: Float32Array,
  s: AffineShape,
  runningMean: Float32Array | null,
  y: Float32Array,
  batchMean: Float32Array | null,
): void {
  const { batch: N, channels: C, height: h, width: w, outHeight: H, outWidth: W } = s;
  const { hw, HW, same, meanSize } = affineSizes(s);
  const C2 = 2 * C;
  const cc = s.clamp * SOFT_CLAMP,
    inv = 1 / s.clamp;
  const cvn = s.volumeNorm === 'cvn';
  let mean: Float32Array;
  if (runningMean === null) {
    if (!batchMean || batchMean.length < meanSize) throw new Error(`fusedAffineForward: training needs a batchMean of ${meanSize} values`);
    // Soft-clamped log-scale and its mean (float64 sums).
    const acc = new Float64Array(meanSize);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        const ro = (n * C2 + c) * hw;
        if (cvn) for (let p = 0; p < hw; p++) acc[p] += Math.fround(cc * Math.atan(raw[ro + p]! * inv));
        else {
          let sum = 0;
          for (let p = 0; p < hw; p++) sum += Math.fround(cc * Math.atan(raw[ro + p]! * inv));
          acc[c] += sum;
        }
      }
    const count = cvn ? N * C : N * hw;
    for (let i = 0; i < meanSize; i++) batchMean[i] = acc[i]! / count;
    mean = batchMean;
  } else {
    if (runningMean.length !== 1 && runningMean.length !== meanSize) {
      throw new Error(`fusedAffineForward: running mean of ${runningMean.length} values, expected 1 or ${meanSize}`);
    }
    mean = runningMean;
  }
  const scale = new Float32Array(N * C * hw);
  scaleOf(raw, s, mean, scale);

  // y = nearest(scale) * x + nearest(shift), or the inverse (y - nearest(shift)) / nearest(scale).
  const ri = same ? null : nearestIndex(H, h),
    ci = same ? null : nearestIndex(W, w);
  const inverse = s.inverse === true;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const xo = (n * C + c) * HW,
        so = (n * C + c) * hw,
        to = (n * C2 + C + c) * hw;
      for (let i = 0; i < H; i++) {
        const sr = same ? i * w : ri![i]! * w;
        for (let j = 0; j < W; j++) {
          const q = sr + (same ? j : ci![j]!),
            o = xo + i * W + j;
          y[o] = inverse ? Math.fround(x[o]! - raw[to + q]!) / scale[so + q]! : scale[so + q]! * x[o]! + raw[to + q]!;
        }
      }
    }
}

export function fusedAffineBackwardRef(
  gy: Float32Array,
  raw: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  s: AffineShape,
  training: boolean,
  gx: Float32Array | null,
  graw: Float32Array,
): void {
  const { batch: N, channels: C, height: h, width: w, outHeight: H, outWidth: W } = s;
  const { hw, HW, same, meanSize } = affineSizes(s);
  const C2 = 2 * C;
  const cvn = s.volumeNorm === 'cvn';
  if (mean.length !== 1 && mean.length !== meanSize) throw new Error(`fusedAffineBackward: mean of ${mean.length} values, expected 1 or ${meanSize}`);
  const scale = new Float32Array(N * C * hw);
  scaleOf(raw, s, mean, scale);
  const ri = same ? null : nearestIndex(H, h),
    ci = same ? null : nearestIndex(W, w);
  // Gradients with respect to scale (kept in gs) and shift (straight into graw), at the affine resolution.
  const gs = new Float32Array(N * C * hw);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const xo = (n * C + c) * HW,
        so = (n * C + c) * hw,
        to = (n * C2 + C + c) * hw;
      if (same) {
        for (let p = 0; p < HW; p++) {
          const g = gy[xo + p]!;
          if (gx) gx[xo + p] = g * scale[so + p]!;
          gs[so + p] = g * x[xo + p]!;
          graw[to + p] = g;
        }
        continue;
      }
      graw.fill(0, to, to + hw);
      for (let i = 0; i < H; i++) {
        const sr = ri![i]! * w;
        for (let j = 0; j < W; j++) {
          const q = sr + ci![j]!;
          const k = xo + i * W + j,
            g = gy[k]!;
          if (gx) gx[k] = g * scale[so + q]!;
          gs[so + q] += g * x[k]!;
          graw[to + q] += g;
        }
      }
    }
  // Through exp: d/ds' = gscale * scale.
  for (let i = 0; i < gs.length; i++) gs[i] = gs[i]! * scale[i]!;
  // Through the batch mean: s' = s - mean(s), so ds = ds' - mean(ds').
  if (training) {
    const gmean = new Float64Array(meanSize);
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
  const inv = 1 / s.clamp,
    d = s.clamp * SOFT_CLAMP * inv;
  for (let n = 0; n < N; n++) {
    const ro = n * C2 * hw,
      so = n * C * hw;
    for (let i = 0; i < C * hw; i++) {
      const u = raw[ro + i]! * inv;
      graw[ro + i] = (gs[so + i]! * d) / (1 + u * u);
    }
  }
}
