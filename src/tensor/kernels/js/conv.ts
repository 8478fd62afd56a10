import { convOutputSize, type AffineShape, type BinaryOp, type ConvShape, type KernelBackend } from '../backend.js';
import { fusedAffineForwardRef, fusedAffineBackwardRef } from './affine.js';
import { softClampRef, expRef, leakyReluRef, leakyReluGradRef, addIntoRef, binaryRef } from './elementwise.js';
import { blurRef, nearestRef, nearestGradRef, maxPool2Ref, maxPool2GradRef } from './resample.js';

/**
 * Reference kernels in plain TypeScript: straightforward loops, the oracle for the fast
 * backends' tests. Accumulates in float32 like the fast kernels (float64 would hide
 * differences the tests should see only as rounding).
 */
export function conv2dRef(x: Float32Array, w: Float32Array, s: ConvShape, y: Float32Array): void {
  const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
  const p = (K - 1) >> 1;
  const HW = H * W;
  y.fill(0, 0, N * O * HW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const yo = (n * O + o) * HW;
      for (let c = 0; c < C; c++) {
        const xc = (n * C + c) * HW;
        const wc = (o * C + c) * K * K;
        for (let a = 0; a < K; a++) {
          for (let b = 0; b < K; b++) {
            const wv = w[wc + a * K + b]!;
            if (wv === 0) continue;
            const dyo = a - p;
            const dxo = b - p;
            const h0 = Math.max(0, -dyo);
            const h1 = Math.min(H, H - dyo);
            const w0 = Math.max(0, -dxo);
            const w1 = Math.min(W, W - dxo);
            for (let h = h0; h < h1; h++) {
              const yr = yo + h * W;
              const xr = xc + (h + dyo) * W + dxo;
              for (let q = w0; q < w1; q++) y[yr + q] += wv * x[xr + q]!;
            }
          }
        }
      }
    }
  }
}

export function conv2dGradInputRef(dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array): void {
  const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
  const p = (K - 1) >> 1;
  const HW = H * W;
  dx.fill(0, 0, N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const go = (n * O + o) * HW;
      for (let c = 0; c < C; c++) {
        const xc = (n * C + c) * HW;
        const wc = (o * C + c) * K * K;
        for (let a = 0; a < K; a++) {
          for (let b = 0; b < K; b++) {
            const wv = w[wc + a * K + b]!;
            if (wv === 0) continue;
            const dyo = a - p;
            const dxo = b - p;
            const h0 = Math.max(0, -dyo);
            const h1 = Math.min(H, H - dyo);
            const w0 = Math.max(0, -dxo);
            const w1 = Math.min(W, W - dxo);
            for (let h = h0; h < h1; h++) {
              const gr = go + h * W;
              const xr = xc + (h + dyo) * W + dxo;
              for (let q = w0; q < w1; q++) dx[xr + q] += wv * dy[gr + q]!;
            }
          }
        }
      }
    }
  }
}

export function conv2dGradWeightRef(x: Float32Array, dy: Float32Array, s: ConvShape, dw: Float32Array): void {
  const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
  const p = (K - 1) >> 1;
  const HW = H * W;
  dw.fill(0, 0, O * C * K * K);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const go = (n * O + o) * HW;
      for (let c = 0; c < C; c++) {
        const xc = (n * C + c) * HW;
        const wc = (o * C + c) * K * K;
        for (let a = 0; a < K; a++) {
          for (let b = 0; b < K; b++) {
            const dyo = a - p;
            const dxo = b - p;
            const h0 = Math.max(0, -dyo);
            const h1 = Math.min(H, H - dyo);
            const w0 = Math.max(0, -dxo);
            const w1 = Math.min(W, W - dxo);
            let acc = 0;
            for (let h = h0; h < h1; h++) {
              const gr = go + h * W;
              const xr = xc + (h + dyo) * W + dxo;
              for (let q = w0; q < w1; q++) acc += dy[gr + q]! * x[xr + q]!;
            }
            dw[wc + a * K + b] += acc;
          }
        }
      }
    }
  }
}

/** The reference backend: these convolution loops and those of affine.ts, elementwise.ts, resample.ts. */
export class JsBackend implements KernelBackend {
  readonly name = 'js';
  conv2d(x: Float32Array, w: Float32Array, s: ConvShape, y: Float32Array, leakySlope?: number): void {
    conv2dRef(x, w, s, y);
    if (leakySlope !== undefined) leakyReluRef(y, leakySlope, convOutputSize(s), y);
  }
  conv2dGradInput(dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array): void {
    conv2dGradInputRef(dy, w, s, dx);
  }
  conv2dGradWeight(x: Float32Array, dy: Float32Array, s: ConvShape, dw: Float32Array): void {
    conv2dGradWeightRef(x, dy, s, dw);
  }
  fusedAffineForward(
    raw: Float32Array,
    x: Float32Array,
    s: AffineShape,
    runningMean: Float32Array | null,
    y: Float32Array,
    batchMean: Float32Array | null,
  ): void {
    fusedAffineForwardRef(raw, x, s, runningMean, y, batchMean);
  }
  fusedAffineBackward(
    gy: Float32Array,
    raw: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    s: AffineShape,
    training: boolean,
    gx: Float32Array | null,
    graw: Float32Array,
  ): void {
    fusedAffineBackwardRef(gy, raw, x, mean, s, training, gx, graw);
  }
  softClamp(x: Float32Array, clamp: number, n: number, y: Float32Array): void {
    softClampRef(x, clamp, n, y);
  }
  exp(x: Float32Array, n: number, y: Float32Array): void {
    expRef(x, n, y);
  }
  leakyRelu(x: Float32Array, slope: number, n: number, y: Float32Array): void {
    leakyReluRef(x, slope, n, y);
  }
  leakyReluGrad(x: Float32Array, gy: Float32Array, slope: number, n: number, gx: Float32Array): void {
    leakyReluGradRef(x, gy, slope, n, gx);
  }
  addInto(acc: Float32Array, x: Float32Array, n: number): void {
    addIntoRef(acc, x, n);
  }
  binary(op: BinaryOp, a: Float32Array, b: Float32Array, n: number, out: Float32Array): void {
    binaryRef(op, a, b, n, out);
  }
  blur(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void {
    blurRef(x, planes, height, width, y);
  }
  nearest(x: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, y: Float32Array): void {
    nearestRef(x, planes, height, width, outHeight, outWidth, y);
  }
  nearestGrad(gy: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, gx: Float32Array): void {
    nearestGradRef(gy, planes, height, width, outHeight, outWidth, gx);
  }
  maxPool2(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void {
    maxPool2Ref(x, planes, height, width, y);
  }
  maxPool2Grad(x: Float32Array, gy: Float32Array, planes: number, height: number, width: number, gx: Float32Array): void {
    maxPool2GradRef(x, gy, planes, height, width, gx);
  }
  dispose(): void {}
}
