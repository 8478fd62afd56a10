/** Reference resampling kernels (see ../backend.ts): the 5-tap binomial blur, 2x2 max pooling and nearest resizing. */
import { nearestIndex } from '../backend.js';

const B0 = 1 / 16,
  B1 = 4 / 16,
  B2 = 6 / 16;

/**
 * Separable [1 4 6 4 1]/16 blur of every plane with zero padding 2: equal to the depthwise 5x5
 * cross-correlation with outer(b, b)/256. Symmetric kernel and zero padding make it self-adjoint.
 */
export function blurRef(src: Float32Array, planes: number, H: number, W: number, dst: Float32Array): void {
  const tmp = new Float32Array(H * W);
  for (let p = 0; p < planes; p++) {
    const o = p * H * W;
    for (let h = 0; h < H; h++) {
      const r = o + h * W;
      for (let w = 0; w < W; w++) {
        let s = B2 * src[r + w]!;
        if (w >= 1) s += B1 * src[r + w - 1]!;
        if (w >= 2) s += B0 * src[r + w - 2]!;
        if (w + 1 < W) s += B1 * src[r + w + 1]!;
        if (w + 2 < W) s += B0 * src[r + w + 2]!;
        tmp[h * W + w] = s;
      }
    }
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        const i = h * W + w;
        let s = B2 * tmp[i]!;
        if (h >= 1) s += B1 * tmp[i - W]!;
        if (h >= 2) s += B0 * tmp[i - 2 * W]!;
        if (h + 1 < H) s += B1 * tmp[i + W]!;
        if (h + 2 < H) s += B0 * tmp[i + 2 * W]!;
        dst[o + i] = s;
      }
    }
  }
}

export function nearestRef(x: Float32Array, planes: number, H: number, W: number, outH: number, outW: number, y: Float32Array): void {
  const ri = nearestIndex(outH, H),
    ci = nearestIndex(outW, W);
  for (let p = 0; p < planes; p++) {
    const ib = p * H * W,
      ob = p * outH * outW;
    for (let i = 0; i < outH; i++) {
      const r = ib + ri[i]! * W,
        o = ob + i * outW;
      for (let j = 0; j < outW; j++) y[o + j] = x[r + ci[j]!]!;
    }
  }
}

export function nearestGradRef(gy: Float32Array, planes: number, H: number, W: number, outH: number, outW: number, gx: Float32Array): void {
  const ri = nearestIndex(outH, H),
    ci = nearestIndex(outW, W);
  gx.fill(0, 0, planes * H * W);
  for (let p = 0; p < planes; p++) {
    const ib = p * H * W,
      ob = p * outH * outW;
    for (let i = 0; i < outH; i++) {
      const r = ib + ri[i]! * W,
        o = ob + i * outW;
      for (let j = 0; j < outW; j++) gx[r + ci[j]!] += gy[o + j]!;
    }
  }
}

/** Index (0..3: (0,0), (0,1), (1,0), (1,1)) of the window element maxPool2 takes at offset `base`. */
function argMax2(x: Float32Array, base: number, W: number): number {
  let best = 0,
    bv = x[base]!;
  let v = x[base + 1]!;
  if (v > bv || Number.isNaN(v)) {
    bv = v;
    best = 1;
  }
  v = x[base + W]!;
  if (v > bv || Number.isNaN(v)) {
    bv = v;
    best = 2;
  }
  v = x[base + W + 1]!;
  if (v > bv || Number.isNaN(v)) best = 3;
  return best;
}

export function maxPool2Ref(x: Float32Array, planes: number, H: number, W: number, y: Float32Array): void {
  const h2 = H >> 1,
    w2 = W >> 1;
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < h2; i++)
      for (let j = 0; j < w2; j++) {
        const base = p * H * W + 2 * i * W + 2 * j;
        const k = argMax2(x, base, W);
        y[p * h2 * w2 + i * w2 + j] = x[base + (k >> 1) * W + (k & 1)]!;
      }
}

export function maxPool2GradRef(x: Float32Array, gy: Float32Array, planes: number, H: number, W: number, gx: Float32Array): void {
  const h2 = H >> 1,
    w2 = W >> 1;
  gx.fill(0, 0, planes * H * W);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < h2; i++)
      for (let j = 0; j < w2; j++) {
        const base = p * H * W + 2 * i * W + 2 * j;
        const k = argMax2(x, base, W);
        gx[base + (k >> 1) * W + (k & 1)] = gy[p * h2 * w2 + i * w2 + j]!;
      }
}
