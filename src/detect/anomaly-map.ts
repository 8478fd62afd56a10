/**
 * The anomaly map of SPEC.md, compose(|z_k - T_k|) averaged over channels, computed in the
 * cheaper order: the channel mean first, then compose on one channel. compose (nearest
 * upsampling, blur, add) is linear and the same for every channel, so the two orders agree up
 * to float rounding, and this one composes 1 channel instead of C.
 */
import { type Tensor, meanAbsDiffOverChannels, timed } from '../tensor/index.js';
import { composePyramid } from '../flow/pyramid.js';

/** [N, 1, h, w]: the mean over channels of |z - t|, t [1, C, h, w] broadcast over the batch (a tensor op). */
export function meanAbsDiff(z: Tensor, t: Tensor): Tensor {
  const [, C, h, w] = z.shape as [number, number, number, number];
  if (t.size !== C * h * w) throw new Error(`anomaly map: template level ${t.shape.join('x')} does not match latents ${z.shape.join('x')}`);
  return meanAbsDiffOverChannels(z, t);
}

/** Anomaly maps [N, 1, H, W] of latents (evaluation mode) against the template. */
export function anomalyMap(latents: readonly Tensor[], template: readonly Tensor[]): Tensor {
  return timed('anomaly map', () => composePyramid(latents.map((z, k) => meanAbsDiff(z, template[k]!))));
}
