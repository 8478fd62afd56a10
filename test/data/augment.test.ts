import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { augmentTexture, flipHorizontal, flipVertical, rotate90 } from '../../src/data/augment.js';
import { resolveAugment, SYNTH_MARKER_FILE } from '../../src/data/augment-mode.js';
import type { DecodedImage } from '../../src/data/image.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';
import { makeTempDir, touch } from './helpers.js';

let tmp: ReturnType<typeof makeTempDir>;
before(() => {
  tmp = makeTempDir();
});
after(() => tmp.cleanup());

/**
 * 2 rows x 3 columns, R plane 1..6, G = R + 10, B = R + 20:
 *   1 2 3
 *   4 5 6
 */
const IMG: DecodedImage = { width: 3, height: 2, rgb: Uint8Array.from([1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16, 21, 22, 23, 24, 25, 26]) };

function redRows(img: DecodedImage): number[][] {
  return Array.from({ length: img.height }, (_, y) => [...img.rgb.subarray(y * img.width, (y + 1) * img.width)]);
}

function same(a: DecodedImage, b: DecodedImage): boolean {
  return a.width === b.width && a.height === b.height && a.rgb.every((v, i) => v === b.rgb[i]);
}

describe('flips and quarter turns (hand-computed)', () => {
  it('flips left-right and top-bottom in every plane', () => {
    assert.deepEqual(redRows(flipHorizontal(IMG)), [
      [3, 2, 1],
      [6, 5, 4],
    ]);
    assert.deepEqual(redRows(flipVertical(IMG)), [
      [4, 5, 6],
      [1, 2, 3],
    ]);
    assert.deepEqual([...flipHorizontal(IMG).rgb.subarray(12)], [23, 22, 21, 26, 25, 24]);
  });

  it('turns counter-clockwise like np.rot90, swapping width and height on odd turns', () => {
    const one = rotate90(IMG, 1);
    assert.equal(one.width, 2);
    assert.equal(one.height, 3);
    assert.deepEqual(redRows(one), [
      [3, 6],
      [2, 5],
      [1, 4],
    ]);
    assert.deepEqual(redRows(rotate90(IMG, 2)), [
      [6, 5, 4],
      [3, 2, 1],
    ]);
    assert.deepEqual(redRows(rotate90(IMG, 3)), [
      [4, 1],
      [5, 2],
      [6, 3],
    ]);
    assert.deepEqual([...rotate90(IMG, 1).rgb.subarray(6, 12)], [13, 16, 12, 15, 11, 14]);
  });

  it('composes: four quarter turns are the identity, two are both flips', () => {
    assert.ok(same(rotate90(rotate90(rotate90(rotate90(IMG, 1), 1), 1), 1), IMG));
    assert.ok(same(rotate90(IMG, 2), flipVertical(flipHorizontal(IMG))));
  });
});

describe('augmentTexture', () => {
  it('draws flip-h, flip-v, rotate? and then k, in that order (predicted from a copy of the generator)', () => {
    const rng = new Random(7);
    for (let trial = 0; trial < 50; trial++) {
      const twin = new Random(0);
      twin.setState(rng.getState());
      let expected = IMG;
      if (twin.next() < 0.5) expected = flipHorizontal(expected);
      if (twin.next() < 0.5) expected = flipVertical(expected);
      if (twin.next() < 0.5) expected = rotate90(expected, twin.int(4));
      assert.ok(same(augmentTexture(IMG, rng), expected), `trial ${trial}`);
      assert.deepEqual(rng.getState(), twin.getState(), 'consumes the same draws');
    }
  });

  it('flips each way half the time and rotates (k != 0) 3/8 of the time', () => {
    const square: DecodedImage = { width: 2, height: 2, rgb: Uint8Array.from({ length: 12 }, (_, i) => i) };
    const rng = new Random(123);
    const outcomes = new Map<string, number>();
    const trials = 4000;
    for (let i = 0; i < trials; i++) {
      const key = [...augmentTexture(square, rng).rgb.subarray(0, 4)].join(',');
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    // The 8 symmetries of a square; identity = no flip and k in {0} or both flips + k = 2, etc.
    assert.equal(outcomes.size, 8, 'every symmetry of the square occurs');
    const identity = (outcomes.get('0,1,2,3') ?? 0) / trials;
    // P(identity) = P(no flips) P(no turn) + P(both flips) P(k = 2) = .25 * .625 + .25 * .125 = .1875
    assert.ok(Math.abs(identity - 0.1875) < 0.03, `identity share ${identity}`);
  });
});

describe('resolveAugment', () => {
  it('passes explicit choices through', () => {
    assert.deepEqual(resolveAugment('texture', 'bottle'), { mode: 'texture' });
    assert.deepEqual(resolveAugment('none', 'carpet'), { mode: 'none' });
  });

  it('auto: the official texture categories get texture augmentation', () => {
    for (const name of ['carpet', 'grid', 'leather', 'tile', 'wood']) assert.equal(resolveAugment('auto', name).mode, 'texture');
  });

  it('auto: honours the synthetic marker file', () => {
    touch(join(tmp.dir, 'fabric', SYNTH_MARKER_FILE), JSON.stringify({ augment: 'texture' }));
    touch(join(tmp.dir, 'grid', SYNTH_MARKER_FILE), JSON.stringify({ augment: 'none' }));
    assert.equal(resolveAugment('auto', 'fabric', tmp.dir).mode, 'texture');
    assert.equal(resolveAugment('auto', 'grid', tmp.dir).mode, 'none', 'the marker wins over the name');
  });

  it('auto: anything else gets none, with a note on how to turn it on', () => {
    const r = resolveAugment('auto', 'magnetic_tile', tmp.dir);
    assert.equal(r.mode, 'none');
    assert.match(r.note ?? '', /--augment texture/);
  });

  it('reports a broken marker file', () => {
    touch(join(tmp.dir, 'broken', SYNTH_MARKER_FILE));
    writeFileSync(join(tmp.dir, 'broken', SYNTH_MARKER_FILE), '{not json');
    assert.throws(() => resolveAugment('auto', 'broken', tmp.dir), PyramidFlowError);
  });
});
