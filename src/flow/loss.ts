/**
 * The training loss: for every pair (i < j) of the batch, the squared latent differences of
 * each level are composed back to full resolution, averaged over channels, and the mean
 * modulus of their 2-D Fourier transform is taken (mean over pairs and pixels).
 */
import { type Tensor, pairSquaredDiffMean, fftAbsMean } from '../tensor/index.js';
import { composePyramid } from './pyramid.js';

export function allPairs(batch: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < batch; i++) for (let j = i + 1; j < batch; j++) pairs.push([i, j]);
  return pairs;
}

/**
 * The per-pair difference map [P, 1, H, W] whose spectrum is the loss: SPEC's
 * compose(d).mean(over channels), computed as compose(d.mean(over channels)). compose (nearest
 * upsampling, blur, add) is linear and the same for every channel, so the two agree up to
 * float rounding (far inside the conformance tolerances), and this one composes one channel
 * instead of C, forward and backward. The squares and their channel mean are one op
 * (pairSquaredDiffMean: the same bits as meanOver(pairSquaredDiff(z), [1]), no [P, C, H, W] temporary).
 */
export function pairDifference(latents: readonly Tensor[]): Tensor {
  const pairs = allPairs(latents[0]!.dim(0));
  return composePyramid(latents.map((z) => pairSquaredDiffMean(z, pairs)));
}

export function pyramidLoss(latents: readonly Tensor[]): Tensor {
  if (latents[0]!.dim(0) < 2) throw new Error('loss: a batch needs at least 2 images');
  return fftAbsMean(pairDifference(latents));
}
