import type { ConvShape, KernelBackend } from '../backend.js';

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

export class JsBackend implements KernelBackend {
  readonly name = 'js';
  conv2d(x: Float32Array, w: Float32Array, s: ConvShape, y: Float32Array): void {
    conv2dRef(x, w, s, y);
  }
  conv2dGradInput(dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array): void {
    conv2dGradInputRef(dy, w, s, dx);
  }
  conv2dGradWeight(x: Float32Array, dy: Float32Array, s: ConvShape, dw: Float32Array): void {
    conv2dGradWeightRef(x, dy, s, dw);
  }
  dispose(): void {}
}
