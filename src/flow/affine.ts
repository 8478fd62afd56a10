/**
 * The affine parameter block: conv_k -> LeakyReLU -> conv_k (last one zero-initialised), split
 * into log-scale and shift, soft clamp of the log-scale, then volume normalisation so that the
 * coupling preserves volume on average (CVN: per pixel, SVN: per channel).
 */
import {
  Tensor,
  conv2d,
  conv2dLeaky,
  sliceChannels,
  softClamp,
  meanOver,
  sub,
  exp,
  fusedAffine,
  fusedAffineInverse,
  fusedAffineKnown,
  movingAverage,
} from '../tensor/index.js';
import type { VolumeNorm } from './types.js';
import type { FlowMode } from './invertible.js';

export const CLAMP = 2;
export const LEAKY_SLOPE = 0.01;
const MOMENTUM = 0.1;

/** Training normalises with the batch mean, evaluation with the running mean; updateStats: whether a training forward updates it. */
export type AffineMode = FlowMode;

export class AffineParams {
  /** Running mean of the log-scale: shape [1] until the first training forward, then the batch mean's. */
  runningMean: Tensor = Tensor.from([1, 1, 1, 1], [0]);

  constructor(
    readonly conv0: Tensor, // [hidden, in, k, k]
    readonly conv2: Tensor, // [out, hidden, k, k], out = 2 * C
    readonly volumeNorm: VolumeNorm,
    /** The official 0.01; tests use a larger slope so finite differences are not dominated by kinks. */
    readonly leakySlope = LEAKY_SLOPE,
  ) {}

  get outChannels(): number {
    return this.conv0.dim(0) === 0 ? 0 : this.conv2.dim(0) / 2;
  }

  /**
   * The two convolutions: raw log-scale (first half of the channels) and shift (second half).
   * The LeakyReLU between them is fused into the first (conv2dLeaky: same bits as leakyRelu(conv2d)).
   */
  raw(input: Tensor): Tensor {
    return conv2d(conv2dLeaky(input, this.conv0, this.leakySlope), this.conv2);
  }

  /** raw(input) under a tape when its values are known (memory saving kept them): the second convolution is recorded, not run. */
  rawKnown(input: Tensor, known: Float32Array): Tensor {
    return conv2d(conv2dLeaky(input, this.conv0, this.leakySlope), this.conv2, known);
  }

  /**
   * scale * x + shift for the target level x (resized by nearest when its size differs), from
   * the convolutions' output `raw`: the fused path.
   */
  coupleRaw(raw: Tensor, x: Tensor, mode: AffineMode): Tensor {
    const { y, batchMean } = fusedAffine(raw, x, this.tailOptions(mode));
    if (batchMean && mode.updateStats) this.updateRunningMean(batchMean);
    return y;
  }

  /**
   * The inverse of coupleRaw: x from y = scale * x + shift, one fused kernel (not
   * differentiable); in training also the batch mean it normalised with (coupleKnown's).
   */
  uncoupleRaw(raw: Tensor, y: Tensor, mode: AffineMode): { x: Tensor; batchMean: Tensor | null } {
    return fusedAffineInverse(raw, y, this.tailOptions(mode));
  }

  /**
   * coupleRaw's op under a tape when its output y is known (memory saving's rebuild: x and the
   * batch mean came from uncoupleRaw(raw, y)): records its backward without recomputing y.
   * Never updates the running mean.
   */
  coupleKnown(raw: Tensor, x: Tensor, y: Tensor, batchMean: Tensor | null, mode: AffineMode): Tensor {
    return fusedAffineKnown(raw, x, y, batchMean, this.tailOptions(mode));
  }

  private tailOptions(mode: AffineMode) {
    return { clamp: CLAMP, volumeNorm: this.volumeNorm, training: mode.training, runningMean: this.runningMean };
  }

  /** exp(s) and t from the convolutions' output `o`, each with half of its channels (the unfused path). */
  scaleShift(o: Tensor, mode: AffineMode): { scale: Tensor; shift: Tensor } {
    const c = this.conv2.dim(0) / 2;
    let s = softClamp(sliceChannels(o, 0, c), CLAMP);
    const shift = sliceChannels(o, c, c);
    if (mode.training) {
      const mean = meanOver(s, this.volumeNorm === 'cvn' ? [0, 1] : [0, 2, 3]);
      if (mode.updateStats) this.updateRunningMean(mean);
      s = sub(s, mean);
    } else {
      s = sub(s, this.runningMean);
    }
    return { scale: exp(s), shift };
  }

  private updateRunningMean(batchMean: Tensor): void {
    // Before the first update the running mean is the scalar 0 and takes the batch mean's shape.
    // The result is model state, on the heap (src/tensor/storage.ts).
    this.runningMean = movingAverage(this.runningMean, batchMean, MOMENTUM);
  }
}
