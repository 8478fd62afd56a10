/**
 * Damaged files end in our own error, never a RangeError, a TypeError or a hang: random
 * truncations and byte flips of valid BMP, PNG, JPEG, TIFF and float-TIFF files through the
 * decoders that read users' files. (Model files: test/flow/model-file.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeBmp } from '../../src/data/bmp.js';
import { decodeImage, decodeFloatTiff, encodeFloatTiff } from '../../src/data/image.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';

/** Variants of `valid`: cut at a random length, or with 1-4 random bytes changed. */
export function* damaged(valid: Uint8Array, count: number, seed: number): Generator<Uint8Array> {
  const rng = new Random(seed);
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) {
      yield valid.slice(0, rng.int(valid.length));
    } else {
      const bytes = valid.slice();
      const flips = 1 + rng.int(4);
      // Headers hold the dangerous numbers: flip there more often than in the pixel data.
      for (let k = 0; k < flips; k++) bytes[rng.int(Math.min(bytes.length, k % 2 ? bytes.length : 64))] = rng.int(256);
      yield bytes;
    }
  }
}

/** Runs each case; collects the ones that threw anything but a PyramidFlowError. */
async function expectOnlyOurErrors(cases: Iterable<Uint8Array>, decode: (b: Uint8Array) => unknown): Promise<void> {
  const foreign: string[] = [];
  let n = 0;
  for (const bytes of cases) {
    n++;
    try {
      await decode(bytes);
    } catch (err) {
      if (!(err instanceof PyramidFlowError)) foreign.push(`${(err as Error).name}: ${(err as Error).message} (${bytes.length} bytes)`);
    }
  }
  assert.ok(n > 0);
  assert.deepEqual([...new Set(foreign)].slice(0, 5), []);
}

function bmp(width: number, height: number, bpp: 8 | 24 | 32, bitfields = false): Uint8Array {
  const palette = bpp === 8 ? 256 : 0;
  const maskBytes = bitfields ? 12 : 0;
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  const offset = 14 + 40 + maskBytes + palette * 4;
  const bytes = new Uint8Array(offset + rowBytes * height);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x42;
  bytes[1] = 0x4d;
  view.setUint32(2, bytes.length, true);
  view.setUint32(10, offset, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, bpp, true);
  view.setUint32(30, bitfields ? 3 : 0, true);
  view.setUint32(46, palette, true);
  if (bitfields) {
    view.setUint32(54, 0xff0000, true);
    view.setUint32(58, 0xff00, true);
    view.setUint32(62, 0xff, true);
  }
  for (let i = 0; i < palette; i++) bytes.fill(i, 54 + maskBytes + i * 4, 54 + maskBytes + i * 4 + 3);
  for (let i = offset; i < bytes.length; i++) bytes[i] = (i * 37) & 255;
  return bytes;
}

test('BMP decoder: 3000 damaged files, only our errors', async () => {
  const sources = [bmp(7, 5, 24), bmp(9, 4, 8), bmp(6, 3, 32, true)];
  await expectOnlyOurErrors(
    sources.flatMap((s, k) => [...damaged(s, 1000, 10 + k)]),
    (b) => decodeBmp(b, 'fuzz.bmp'),
  );
});

test('a 60-byte BITFIELDS BMP is refused in words', () => {
  const cut = bmp(6, 3, 32, true).slice(0, 60);
  assert.throws(
    () => decodeBmp(cut, 'tiny.bmp'),
    (e: Error) => e instanceof PyramidFlowError && /tiny\.bmp/.test(e.message),
  );
});

test('float TIFF decoder: 2000 damaged files, only our errors', async () => {
  const valid = encodeFloatTiff(
    Float32Array.from({ length: 48 }, (_, i) => i / 7),
    8,
    6,
  );
  await expectOnlyOurErrors(damaged(valid, 2000, 3), (b) => decodeFloatTiff(b, 'fuzz.tiff'));
});

test('PNG, JPEG and TIFF through the image decoder: 600 damaged files, only our errors', async () => {
  const raw = Uint8Array.from({ length: 12 * 10 * 3 }, (_, i) => (i * 29) & 255);
  const image = sharp(raw, { raw: { width: 12, height: 10, channels: 3 } });
  const sources = [await image.clone().png().toBuffer(), await image.clone().jpeg().toBuffer(), await image.clone().tiff().toBuffer()];
  await expectOnlyOurErrors(
    sources.flatMap((s, k) => [...damaged(new Uint8Array(s), 200, 20 + k)]),
    (b) => decodeImage(b, 'fuzz.img'),
  );
});

test('a small file that claims a huge size is refused from its header, with its size, before decoding', async () => {
  const big = await sharp({ create: { width: 9000, height: 5000, channels: 3, background: '#000' } })
    .png()
    .toBuffer();
  assert.ok(big.length < 200_000);
  const t0 = Date.now();
  await assert.rejects(
    decodeImage(new Uint8Array(big), 'huge.png'),
    (e: Error) => e instanceof PyramidFlowError && e.message === 'huge.png is 9000 x 5000 = 45 MP, more than the limit of 40 MP (--max-pixels)',
  );
  assert.ok(Date.now() - t0 < 5000);
  const small = await decodeImage(
    new Uint8Array(
      await sharp({ create: { width: 40, height: 30, channels: 3, background: '#000' } })
        .png()
        .toBuffer(),
    ),
    's.png',
    { maxPixels: 1200 },
  );
  assert.equal(small.width, 40);
  await assert.rejects(
    decodeImage(
      new Uint8Array(
        await sharp({ create: { width: 40, height: 31, channels: 3, background: '#000' } })
          .png()
          .toBuffer(),
      ),
      's.png',
      { maxPixels: 1200 },
    ),
    /s\.png is 40 x 31/,
  );
  const wideBmp = bmp(6, 3, 24);
  new DataView(wideBmp.buffer).setInt32(18, 100000, true);
  await assert.rejects(decodeImage(wideBmp, 'wide.bmp', { maxPixels: 1000 }), /wide\.bmp is 100000 x 3/);
});
