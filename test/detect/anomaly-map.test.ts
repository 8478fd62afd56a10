/**
 * The anomaly map computed channel mean first (src/detect/anomaly-map.ts) against SPEC.md's
 * order, compose(|z_k - T_k|) then the mean over channels, built from the tensor ops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, abs, sub, meanOver } from '../../src/tensor/index.js';
import { composePyramid } from '../../src/flow/pyramid.js';
import { anomalyMap, meanAbsDiff } from '../../src/detect/anomaly-map.js';
import { rng, randomArray, relErr } from '../tensor/kernels/helpers.js';

function pyramid(N: number, C: number, H: number, W: number, levels: number, next: () => number): Tensor[] {
  return Array.from({ length: levels }, (_, k) => {
    const h = H >> k,
      w = W >> k;
    return new Tensor([N, C, h, w], randomArray(N * C * h * w, next));
  });
}

test('anomaly map: channel mean first equals compose first (SPEC order), batch and odd sizes', () => {
  const next = rng(5);
  for (const [N, C, H, W, L] of [
    [2, 3, 16, 12, 3],
    [1, 16, 40, 24, 4],
    [3, 1, 8, 8, 2],
  ] as const) {
    const z = pyramid(N, C, H, W, L, next);
    const t = pyramid(1, C, H, W, L, next);
    const spec = meanOver(composePyramid(z.map((zk, k) => abs(sub(zk, t[k]!)))), [1]);
    const got = anomalyMap(z, t);
    assert.deepEqual(got.shape, [N, 1, H, W]);
    const e = relErr(spec.data, got.data);
    assert.ok(e < 1e-5, `[${N},${C},${H},${W}] L${L}: relative error ${e}`);
  }
});

test('anomaly map: zero where the latents are the template, per-level mean by hand', () => {
  const next = rng(6);
  const t = pyramid(1, 4, 8, 8, 3, next);
  const same = anomalyMap(t, t);
  assert.ok(same.data.every((v) => v === 0));
  // one level by hand: |z - t| averaged over the 4 channels at one pixel
  const z = pyramid(2, 4, 8, 8, 1, next)[0]!;
  const m = meanAbsDiff(z, t[0]!);
  const n = 1,
    i = 19;
  let want = 0;
  for (let c = 0; c < 4; c++) want += Math.abs(z.data[(n * 4 + c) * 64 + i]! - t[0]!.data[c * 64 + i]!) / 4;
  assert.ok(Math.abs(m.data[n * 64 + i]! - want) < 1e-6);
  assert.throws(() => meanAbsDiff(z, t[1]!), /template level 1x4x4x4 does not match latents 2x4x8x8/);
});
