/**
 * The Laplacian pyramid: build splits a feature map into L band-pass levels (level 0 finest),
 * compose adds them back; compose(build(x)) = x exactly (up to float rounding).
 */
import { type Tensor, blur, maxPool2, nearest, sub, add } from '../tensor/index.js';
import type { Downsample } from './types.js';

export function down(x: Tensor, mode: Downsample = 'maxpool'): Tensor {
  const b = blur(x);
  return mode === 'maxpool' ? maxPool2(b) : nearest(b, x.dim(2) / 2, x.dim(3) / 2);
}

export function up(x: Tensor, height: number, width: number): Tensor {
  return blur(nearest(x, height, width));
}

export function buildPyramid(feat: Tensor, levels: number, mode: Downsample = 'maxpool'): Tensor[] {
  const g = [feat];
  for (let k = 1; k < levels; k++) g.push(down(g[k - 1]!, mode));
  const lp: Tensor[] = [];
  for (let k = 0; k < levels - 1; k++) lp.push(sub(g[k]!, up(g[k + 1]!, g[k]!.dim(2), g[k]!.dim(3))));
  lp.push(g[levels - 1]!);
  return lp;
}

export function composePyramid(lp: readonly Tensor[]): Tensor {
  let r = lp[lp.length - 1]!;
  for (let k = lp.length - 2; k >= 0; k--) r = add(up(r, lp[k]!.dim(2), lp[k]!.dim(3)), lp[k]!);
  return r;
}
