import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { maskFromImage, readMask, readMaskOriginal } from '../../src/data/image.js';
import { makeTempDir, writeTestPng } from './helpers.js';
import { PIL_FLOAT_MASK } from './pil-reference.js';

let tmp: ReturnType<typeof makeTempDir>;
before(() => {
  tmp = makeTempDir();
});
after(() => tmp.cleanup());

describe('readMaskOriginal', () => {
  it('turns grey/255 into {0, 1} by rounding at its own size (127 -> 0, 128 -> 1)', async () => {
    const path = join(tmp.dir, 'm.png');
    await writeTestPng(path, 4, 1, 1, Uint8Array.from([0, 127, 128, 255]));
    assert.deepEqual(await readMaskOriginal(path).then((m) => ({ ...m, mask: [...m.mask] })), { width: 4, height: 1, mask: [0, 0, 1, 1] });
  });

  it('uses PIL luma for colour masks (pure red 255 -> luma 76 -> 0; white -> 1)', async () => {
    const path = join(tmp.dir, 'rgb-mask.png');
    await writeTestPng(path, 2, 1, 3, Uint8Array.from([255, 0, 0, 255, 255, 255]));
    assert.deepEqual([...(await readMaskOriginal(path)).mask], [0, 1]);
  });
});

describe('readMask', () => {
  it('matches the official pipeline (Pillow float resize, then round) on a reference mask', async () => {
    const m = PIL_FLOAT_MASK;
    const path = join(tmp.dir, 'ref.png');
    await writeTestPng(
      path,
      m.w,
      m.h,
      1,
      Uint8Array.from(m.input, (v) => v * 255),
    );
    const mask = await readMask(path, m.outH, m.outW);
    // Reference values are never exactly .5 here, so plain rounding gives the truth.
    assert.deepEqual(
      [...mask],
      m.out.map((v) => Math.round(v)),
    );
    assert.ok(mask.some((v) => v === 1) && mask.some((v) => v === 0));
  });

  it('rounds an exact half down to 0, like torch.round (half to even)', () => {
    // 2 x 1 -> 1 x 1: Pillow weights .5 / .5, so the value is exactly 0.5.
    for (const pair of [
      [0, 255],
      [255, 0],
    ]) {
      const img = { width: 2, height: 1, rgb: Uint8Array.from([...pair, ...pair, ...pair]) };
      assert.deepEqual([...maskFromImage(img, 1, 1)], [0]);
    }
  });

  it('keeps a mask at the same size unchanged', () => {
    const bits = [1, 0, 0, 1, 1, 0];
    const grey = bits.map((b) => b * 255);
    const img = { width: 3, height: 2, rgb: Uint8Array.from([...grey, ...grey, ...grey]) };
    assert.deepEqual([...maskFromImage(img, 2, 3)], bits);
  });
});
