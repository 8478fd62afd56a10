/**
 * Spatial resampling for the Laplacian pyramid: the 5x5 binomial blur, 2x2 max pooling and
 * nearest resizing (PyTorch's 'nearest': src = min(floor(dst * in / out), in - 1)).
 */
import { Tensor, recordOp, accumulateGrad } from '../tensor.js';
import { timed } from '../profile.js';

function nchw(t: Tensor, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) throw new Error(`${what}: expected an NCHW tensor, got shape [${t.shape.join(', ')}]`);
  return t.shape as unknown as [number, number, number, number];
}

const B0 = 1 / 16, B1 = 4 / 16, B2 = 6 / 16;

/**
 * Separable [1 4 6 4 1]/16 blur of every plane with zero padding 2: equal to the depthwise 5x5
 * cross-correlation with outer(b, b)/256. Symmetric kernel and zero padding make it self-adjoint,
 * so its gradient is the same blur.
 */
function blurPlanes(src: Float32Array, planes: number, H: number, W: number, dst: Float32Array): void {
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

export function blur(a: Tensor): Tensor {
  const [N, C, H, W] = nchw(a, 'blur');
  const out = new Tensor(a.shape);
  timed('pyramid (blur)', () => blurPlanes(a.data, N * C, H, W, out.data));
  recordOp(out, [a], (g) => {
    const ga = new Float32Array(a.size);
    timed('pyramid (blur)', () => blurPlanes(g, N * C, H, W, ga));
    accumulateGrad(a, ga);
  });
  return out;
}

/** 2x2 max pooling, stride 2 (H and W even). Ties go to the first element, as PyTorch. */
export function maxPool2(a: Tensor): Tensor {
  const [N, C, H, W] = nchw(a, 'maxPool2');
  if (H % 2 || W % 2) throw new Error(`maxPool2: size ${H}x${W} is not even`);
  const h2 = H / 2, w2 = W / 2;
  const out = new Tensor([N, C, h2, w2]);
  const arg = new Int32Array(out.size);
  const x = a.data;
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < h2; i++) {
      for (let j = 0; j < w2; j++) {
        const base = p * H * W + 2 * i * W + 2 * j;
        let best = base, bv = x[base]!;
        for (const off of [1, W, W + 1]) {
          const v = x[base + off]!;
          if (v > bv || Number.isNaN(v)) { bv = v; best = base + off; }
        }
        const o = p * h2 * w2 + i * w2 + j;
        out.data[o] = bv;
        arg[o] = best;
      }
    }
  }
  recordOp(out, [a], (g) => {
    const ga = new Float32Array(a.size);
    for (let o = 0; o < g.length; o++) ga[arg[o]!] += g[o]!;
    accumulateGrad(a, ga);
  });
  return out;
}

/** Source index of each destination index for PyTorch's legacy 'nearest' mode. */
export function nearestIndex(outSize: number, inSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const s = inSize / outSize;
  for (let d = 0; d < outSize; d++) idx[d] = Math.min(Math.floor(d * s), inSize - 1);
  return idx;
}

export function nearest(a: Tensor, outH: number, outW: number): Tensor {
  const [N, C, H, W] = nchw(a, 'nearest');
  if (outH === H && outW === W) return a;
  const ri = nearestIndex(outH, H), ci = nearestIndex(outW, W);
  const out = new Tensor([N, C, outH, outW]);
  const x = a.data, y = out.data;
  for (let p = 0; p < N * C; p++) {
    const ib = p * H * W, ob = p * outH * outW;
    for (let i = 0; i < outH; i++) {
      const r = ib + ri[i]! * W, o = ob + i * outW;
      for (let j = 0; j < outW; j++) y[o + j] = x[r + ci[j]!]!;
    }
  }
  recordOp(out, [a], (g) => {
    const ga = new Float32Array(a.size);
    for (let p = 0; p < N * C; p++) {
      const ib = p * H * W, ob = p * outH * outW;
      for (let i = 0; i < outH; i++) {
        const r = ib + ri[i]! * W, o = ob + i * outW;
        for (let j = 0; j < outW; j++) ga[r + ci[j]!] += g[o + j]!;
      }
    }
    accumulateGrad(a, ga);
  });
  return out;
}
