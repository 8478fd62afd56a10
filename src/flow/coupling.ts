/**
 * The three coupling blocks. Each transforms one pyramid level (its target) with an affine map
 * whose scale and shift come from neighbouring levels, which pass through unchanged; so each
 * block is invertible given the levels it reads.
 *   up(s):     target s,   parameters from level s+1 resized up to level s
 *   down(s):   target s+1, parameters from level s, computed at s and resized down
 *   middle(s): target s+1, parameters from levels s and s+2 resized to s+1 and concatenated
 */
import { Tensor, add, mul, sub, nearest, concatChannels, recordOp, accumulateGrad, allocFloats, isRecording } from '../tensor/index.js';
import type { BlockSpec } from './config.js';
import { AffineParams, type AffineMode } from './affine.js';
import { InvConv1x1 } from './invconv.js';

export class CouplingBlock {
  constructor(
    readonly spec: BlockSpec,
    readonly affine: AffineParams,
    readonly conv: InvConv1x1,
  ) {}

  /** Index of the level this block changes. */
  get target(): number {
    return this.spec.kind === 'up' ? this.spec.start : this.spec.start + 1;
  }

  /** Indices of the levels the affine parameters are computed from. */
  get sources(): number[] {
    const s = this.spec.start;
    if (this.spec.kind === 'up') return [s + 1];
    if (this.spec.kind === 'down') return [s];
    return [s, s + 2];
  }

  /** What the affine block reads: for down blocks at the source's own resolution, else at the target's. */
  private affineInput(levels: readonly Tensor[]): Tensor {
    const s = this.spec.start;
    const tgt = levels[this.target]!;
    const h = tgt.dim(2), w = tgt.dim(3);
    if (this.spec.kind === 'up') return nearest(levels[s + 1]!, h, w);
    if (this.spec.kind === 'middle') return concatChannels([nearest(levels[s]!, h, w), nearest(levels[s + 2]!, h, w)]);
    return levels[s]!;
  }

  /** Scale and shift at the target's resolution (the unfused path, used by the inverse). */
  params(levels: readonly Tensor[], mode: AffineMode): { scale: Tensor; shift: Tensor } {
    return this.paramsFromRaw(this.raw(levels), levels[this.target]!, mode);
  }

  private paramsFromRaw(raw: Tensor, target: Tensor, mode: AffineMode): { scale: Tensor; shift: Tensor } {
    const { scale, shift } = this.affine.scaleShift(raw, mode);
    return { scale: nearest(scale, target.dim(2), target.dim(3)), shift: nearest(shift, target.dim(2), target.dim(3)) };
  }

  /**
   * The affine block's convolutions on the source levels: what both directions need. Memory
   * saving computes it once per block for the inverse and the re-run forward (inverseFromRaw,
   * forwardFromRaw), instead of twice.
   */
  raw(levels: readonly Tensor[]): Tensor {
    return this.affine.raw(this.affineInput(levels));
  }

  /** The new value of the target level. */
  forward(levels: readonly Tensor[], mode: AffineMode): Tensor {
    return this.forwardFromRaw(this.raw(levels), levels[this.target]!, mode);
  }

  /** The new value of target level x, given raw(levels). */
  forwardFromRaw(raw: Tensor, x: Tensor, mode: AffineMode): Tensor {
    return this.conv.forward(this.affine.coupleRaw(raw, x, mode));
  }

  /**
   * The target level before this block from its value y after it, given raw(levels) (no
   * running-mean update): one fused kernel, or the unfused differentiable ops under a tape.
   */
  inverseFromRaw(raw: Tensor, y: Tensor, mode: AffineMode): Tensor {
    const m = { ...mode, updateStats: false };
    if (!isRecording()) return this.affine.uncoupleRaw(raw, this.conv.inverse(y), m);
    return this.inverseUnfused(raw, y, m);
  }

  /** The same through the unfused ops (differentiable; the fused kernel's test oracle). */
  inverseUnfused(raw: Tensor, y: Tensor, mode: AffineMode): Tensor {
    const { scale, shift } = this.paramsFromRaw(raw, y, { ...mode, updateStats: false });
    return divide(sub(this.conv.inverse(y), shift), scale);
  }

  /** The same through the unfused ops (the fused op's test oracle). */
  forwardUnfused(levels: readonly Tensor[], mode: AffineMode): Tensor {
    const { scale, shift } = this.params(levels, mode);
    return this.conv.forward(add(mul(levels[this.target]!, scale), shift));
  }

  /** The target level's value before this block, given the levels after it (no running-mean update). */
  inverse(levels: readonly Tensor[], mode: AffineMode): Tensor {
    return this.inverseFromRaw(this.raw(levels), levels[this.target]!, mode);
  }
}

/** a / b elementwise (same shape); only used on the inverse path, but differentiable anyway. */
function divide(a: Tensor, b: Tensor): Tensor {
  const out = Tensor.uninitialized(a.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = a.data[i]! / b.data[i]!;
  recordOp(out, [a, b], (g) => {
    const ga = allocFloats(g.length, false), gb = allocFloats(g.length, false);
    for (let i = 0; i < g.length; i++) {
      ga[i] = g[i]! / b.data[i]!;
      gb[i] = -g[i]! * out.data[i]! / b.data[i]!;
    }
    accumulateGrad(a, ga);
    accumulateGrad(b, gb);
  });
  return out;
}

/** Replaces one level, keeping the others (the same tensor objects). */
export function withLevel(levels: readonly Tensor[], index: number, value: Tensor): Tensor[] {
  const out = [...levels];
  out[index] = value;
  return out;
}
