/**
 * The flow's input stage, in the shape of every other piece (src/flow/invertible.ts): an image
 * batch [N, 3, H, W], as a one-level pyramid [x], to the input pyramid, through the frozen 1x1
 * input convolution (3 -> C) and the Laplacian pyramid. It is not a bijection (C channels from
 * 3): its inverse composes the pyramid and applies the convolution's least-squares left
 * inverse, so inverse(forward([x])) = [x] up to float rounding, but not the other way round.
 * Frozen and untaped (images need no gradient): no parameters, and the model keeps it out of
 * the chain that memory saving re-runs.
 */
import { Tensor, channelMix, noGrad, keepingOnly } from '../tensor/index.js';
import { leftInverse } from '../tensor/linalg.js';
import type { Downsample } from './types.js';
import type { FlowMode, Invertible, Pyramid } from './invertible.js';
import { buildPyramid, composePyramid } from './pyramid.js';

export class InputPyramid implements Invertible {
  constructor(
    /** The frozen input convolution, [C, 3] (official `inconv.weight`, [C, 3, 1, 1]). */
    readonly weight: Tensor,
    readonly levels: number,
    readonly downsample: Downsample,
  ) {}

  get channels(): number {
    return this.weight.dim(0);
  }

  /** [x] (images [N, 3, H, W]) -> the L levels of the input pyramid, without a tape. */
  forward(z: Pyramid, _mode?: FlowMode): Tensor[] {
    const x = only(z, 'forward');
    return noGrad(() => keepingOnly(() => buildPyramid(channelMix(x, this.weight), this.levels, this.downsample)));
  }

  /** A pyramid -> [images], by compose and the input convolution's least-squares inverse (float64 on the host, C x 3). */
  inverse(z: Pyramid, _mode?: FlowMode): Tensor[] {
    const C = this.channels;
    const pinv = leftInverse(Float64Array.from(this.weight.values()), C, 3);
    return [channelMix(composePyramid(z), Tensor.fromHost([3, C], Float32Array.from(pinv)))];
  }

  namedParameters(): [string, Tensor][] {
    return [];
  }
}

function only(z: Pyramid, what: string): Tensor {
  if (z.length !== 1) throw new Error(`InputPyramid.${what}: expected one image tensor, got ${z.length} levels`);
  return z[0]!;
}
