/**
 * Gradient clipping by total L2 norm and Adam with classic (L2) weight decay, as PyTorch's
 * clip_grad_norm_ and torch.optim.Adam. The norm and the updates are computed in float64 (the
 * updates stored in float32) by the backend's kernels where it has them (the wasm backend: all
 * threads, the same bits as the loops here, which are the reference and the fallback). The
 * training loop clips inside the update (Adam.step's gradScale): the same bits as clipping the
 * gradients first, without a pass over them.
 */
import { backend, type Tensor } from '../tensor/index.js';
import { type AdamArrays, SUM_OF_SQUARES_CHUNK } from '../tensor/kernels/backend.js';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const OFFICIAL_ADAM: AdamOptions = { lr: 2e-4, beta1: 0.5, beta2: 0.9, eps: 1e-4, weightDecay: 1e-5 };
export const MAX_GRAD_NORM = 1.0;

/**
 * The total L2 norm of all gradients (missing gradients count as zero): the gradients' squares
 * in float64, summed in chunks of SUM_OF_SQUARES_CHUNK values (of all gradients in order, as one
 * sequence), then the chunks' sums in order (KernelBackend.sumOfSquares, the same bits).
 */
export function gradNorm(params: readonly Tensor[]): number {
  const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
  const kernel = backend().sumOfSquares;
  if (kernel) return Math.sqrt(kernel.call(backend(), grads));
  let total = 0,
    part = 0,
    inChunk = 0;
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) {
      part += g[i]! * g[i]!;
      if (++inChunk === SUM_OF_SQUARES_CHUNK) {
        total += part;
        part = 0;
        inChunk = 0;
      }
    }
  }
  return Math.sqrt(total + part);
}

/** The factor clip_grad_norm_ scales gradients by, given their norm: at most 1. */
export function clipScale(norm: number, maxNorm = MAX_GRAD_NORM): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/** Scales gradients so their total norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[], maxNorm = MAX_GRAD_NORM): number {
  const norm = gradNorm(params);
  const coef = clipScale(norm, maxNorm);
  if (coef < 1) {
    for (const p of params) {
      const g = p.grad;
      if (!g) continue;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
    }
  }
  return norm;
}

export interface AdamState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  state: AdamState;

  constructor(
    readonly params: readonly Tensor[],
    readonly opts: AdamOptions = OFFICIAL_ADAM,
  ) {
    this.state = { step: 0, m: params.map((p) => new Float32Array(p.size)), v: params.map((p) => new Float32Array(p.size)) };
  }

  /**
   * One update of every parameter that has a gradient, clipped first by `gradScale` (clipScale
   * of their norm; 1: as they are) as clipGradNorm would store them: fround(g * gradScale).
   * Parameters are model state on the host: the update goes through Tensor.updateHost, the
   * explicit in-place host path (a backend with device memory would sync around it), in float64
   * arithmetic stored to float32, as before.
   */
  step(gradScale = 1): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.opts;
    const t = ++this.state.step;
    const bc1 = 1 - beta1 ** t;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    const stepSize = lr / bc1;
    const kernel = backend().adamStep;
    if (kernel) {
      // One call for all parameters, made inside every parameter's updateHost (nested), so
      // that each host array is used only while its update is open.
      const groups: AdamArrays[] = [];
      const open = (k: number): void => {
        const p = this.params[k];
        if (!p) kernel.call(backend(), groups, { stepSize, bc2Sqrt, beta1, beta2, eps, weightDecay, gradScale });
        else if (!p.grad) open(k + 1);
        else {
          const g = p.grad;
          p.updateHost((w) => {
            groups.push({ w, g, m: this.state.m[k]!, v: this.state.v[k]! });
            open(k + 1);
          });
        }
      };
      open(0);
      return;
    }
    this.params.forEach((p, k) => {
      const g = p.grad;
      if (!g) return;
      const m = this.state.m[k]!,
        v = this.state.v[k]!;
      p.updateHost((w) => {
        for (let i = 0; i < w.length; i++) {
          const gi = Math.fround(g[i]! * gradScale) + weightDecay * w[i]!;
          const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * gi);
          const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi);
          w[i] = w[i]! - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
        }
      });
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}
