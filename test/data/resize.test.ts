import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resizeImage } from '../../src/data/image.js';
import { pilResampleFloat, pilResampleUint8, resizePlane } from '../../src/data/resize.js';
import { lcgBytes, PIL_FLOAT_MASK, PIL_UINT8_CASES } from './pil-reference.js';

/** Independent bilinear reference: tent weights over every input pixel, clamped source coordinate. */
function bruteForceBilinear(src: Float32Array, h: number, w: number, outH: number, outW: number): Float64Array {
  const out = new Float64Array(outH * outW);
  const tent = (d: number): number => Math.max(0, 1 - Math.abs(d));
  for (let oy = 0; oy < outH; oy++) {
    const sy = Math.min(Math.max(((oy + 0.5) * h) / outH - 0.5, 0), h - 1);
    for (let ox = 0; ox < outW; ox++) {
      const sx = Math.min(Math.max(((ox + 0.5) * w) / outW - 0.5, 0), w - 1);
      let sum = 0;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) sum += tent(sy - y) * tent(sx - x) * src[y * w + x]!;
      out[oy * outW + ox] = sum;
    }
  }
  return out;
}

describe('resizePlane (half-pixel bilinear, no antialiasing)', () => {
  it('doubles [0, 1] to the hand-computed [0, .25, .75, 1]', () => {
    const out = resizePlane(Float32Array.from([0, 1]), 1, 2, 1, 4);
    assert.deepEqual([...out], [0, 0.25, 0.75, 1]);
  });

  it('halves [0, 1, 2, 3] by sampling between pixel pairs: [0.5, 2.5]', () => {
    assert.deepEqual([...resizePlane(Float32Array.from([0, 1, 2, 3]), 1, 4, 1, 2)], [0.5, 2.5]);
  });

  it('is the identity at the same size', () => {
    const src = Float32Array.from({ length: 12 }, (_, i) => i * 1.5 - 3);
    assert.deepEqual([...resizePlane(src, 3, 4, 3, 4)], [...src]);
  });

  it('agrees with a brute-force tent-filter reference on odd sizes, both ways', () => {
    const src = Float32Array.from(lcgBytes(7 * 5, 9), (v) => v / 7);
    for (const [outH, outW] of [
      [11, 3],
      [2, 13],
      [7, 5],
      [1, 1],
    ] as const) {
      const fast = resizePlane(src, 7, 5, outH, outW);
      const slow = bruteForceBilinear(src, 7, 5, outH, outW);
      fast.forEach((v, i) => assert.ok(Math.abs(v - slow[i]!) < 1e-4, `${outH}x${outW} at ${i}: ${v} vs ${slow[i]}`));
    }
  });

  it('rejects a length that does not match the size', () => {
    assert.throws(() => resizePlane(new Float32Array(5), 2, 3, 4, 4), RangeError);
  });
});

describe("Pillow-exact bilinear (the official code's resize)", () => {
  for (const [name, c] of Object.entries(PIL_UINT8_CASES)) {
    it(`matches Pillow 9.4 bit for bit: ${name} ${c.w}x${c.h} -> ${c.outW}x${c.outH}`, () => {
      const out = pilResampleUint8(lcgBytes(c.w * c.h * 3, c.seed), 3, c.h, c.w, c.outH, c.outW);
      assert.deepEqual([...out], c.out);
    });
  }

  it('matches Pillow mode F on a float mask', () => {
    const m = PIL_FLOAT_MASK;
    const out = pilResampleFloat(Float32Array.from(m.input), m.h, m.w, m.outH, m.outW);
    out.forEach((v, i) => assert.ok(Math.abs(v - m.out[i]!) <= 1e-7, `at ${i}: ${v} vs ${m.out[i]}`));
  });

  it('antialiases when shrinking, where classic bilinear aliases', () => {
    // Shrunk 4x, classic bilinear reads only columns 1-2 and 5-6 (all 255); Pillow's widened
    // triangle sees the whole period. Hand-computed for output 0: weights .625 .875 .875 .625
    // .375 .125 on columns 0-5, so 255 * 1.875 / 3.5 = 136.6.
    const stripes = Uint8Array.from([0, 255, 255, 0, 0, 255, 255, 0]);
    assert.deepEqual([...resizePlane(Float32Array.from(stripes), 1, 8, 1, 2)], [255, 255]);
    assert.equal(pilResampleUint8(stripes, 1, 1, 8, 1, 2)[0], 137);
  });

  it('equals classic bilinear (within rounding) when enlarging', () => {
    const src = lcgBytes(6 * 4, 3);
    const pil = pilResampleUint8(src, 1, 4, 6, 9, 14);
    const classic = resizePlane(Float32Array.from(src), 4, 6, 9, 14);
    pil.forEach((v, i) => assert.ok(Math.abs(v - classic[i]!) <= 1, `at ${i}: ${v} vs ${classic[i]}`));
  });
});

describe('resizeImage', () => {
  it('resizes all three planes to the requested height x width', () => {
    const c = PIL_UINT8_CASES.down!;
    const img = { width: c.w, height: c.h, rgb: lcgBytes(c.w * c.h * 3, c.seed) };
    const out = resizeImage(img, c.outH, c.outW);
    assert.equal(out.width, c.outW);
    assert.equal(out.height, c.outH);
    assert.deepEqual([...out.rgb], c.out);
  });

  it('returns a copy, not the same buffer, at the same size', () => {
    const img = { width: 2, height: 1, rgb: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    const out = resizeImage(img, 1, 2);
    assert.deepEqual([...out.rgb], [...img.rgb]);
    out.rgb[0] = 99;
    assert.equal(img.rgb[0], 1);
  });
});
