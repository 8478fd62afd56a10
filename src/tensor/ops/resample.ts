/**
 * Spatial resampling for the Laplacian pyramid: the 5x5 binomial blur, 2x2 max pooling and
 * nearest resizing (PyTorch's 'nearest': src = min(floor(dst * in / out), in - 1)).
 */
import { Tensor, recordOp, accumulateGrad } from '../tensor.js';
import { timed } from '../profile.js';
import { allocFloats } from '../storage.js';
import { backend } from '../kernels/index.js';
import { nearestIndex } from '../kernels/backend.js';

function nchw(t: Tensor, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) throw new Error(`${what}: expected an NCHW tensor, got shape [${t.shape.join(', ')}]`);
  return t.shape as unknown as [number, number, number, number];
}

/**
 * Separable [1 4 6 4 1]/16 blur of every plane with zero padding 2 (the backend's blur kernel).
 * Symmetric kernel and zero padding make it self-adjoint, so its gradient is the same blur.
 */
export function blur(a: Tensor): Tensor {
  const [N, C, H, W] = nchw(a, 'blur');
  const out = Tensor.uninitialized(a.shape);
  timed('pyramid (blur)', () => backend().blur(a.data, N * C, H, W, out.data));
  recordOp(out, [a], (g) => {
    const ga = allocFloats(a.size, false);
    timed('pyramid (blur)', () => backend().blur(g, N * C, H, W, ga));
    accumulateGrad(a, ga);
  });
  return out;
}

/** 2x2 max pooling, stride 2 (H and W even). Ties go to the first element, as PyTorch. */
export function maxPool2(a: Tensor): Tensor {
  const [N, C, H, W] = nchw(a, 'maxPool2');
  if (H % 2 || W % 2) throw new Error(`maxPool2: size ${H}x${W} is not even`);
  const out = Tensor.uninitialized([N, C, H / 2, W / 2]);
  timed('pyramid (max pool)', () => backend().maxPool2(a.data, N * C, H, W, out.data));
  recordOp(out, [a], (g) => {
    const ga = allocFloats(a.size, false);
    timed('pyramid (max pool)', () => backend().maxPool2Grad(a.data, g, N * C, H, W, ga));
    accumulateGrad(a, ga);
  });
  return out;
}

export { nearestIndex };

export function nearest(a: Tensor, outH: number, outW: number): Tensor {
  const [N, C, H, W] = nchw(a, 'nearest');
  if (outH === H && outW === W) return a;
  const out = Tensor.uninitialized([N, C, outH, outW]);
  timed('nearest resize', () => backend().nearest(a.data, N * C, H, W, outH, outW, out.data));
  recordOp(out, [a], (g) => {
    const ga = allocFloats(a.size, false);
    timed('nearest resize', () => backend().nearestGrad(g, N * C, H, W, outH, outW, ga));
    accumulateGrad(a, ga);
  });
  return out;
}
