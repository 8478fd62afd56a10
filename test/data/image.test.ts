import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage, normalizeImage, readImage } from '../../src/data/image.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { makeTempDir, writeTestPng } from './helpers.js';

let tmp: ReturnType<typeof makeTempDir>;
before(() => {
  tmp = makeTempDir();
});
after(() => tmp.cleanup());

/** Planar [R..., G..., B...] from interleaved RGB triples. */
function planar(triples: number[][]): number[] {
  return [0, 1, 2].flatMap((c) => triples.map((t) => t[c]!));
}

function rejectsNaming(promise: Promise<unknown>, name: string, reason: RegExp): Promise<void> {
  return assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PyramidFlowError, `expected PyramidFlowError, got ${String(err)}`);
    assert.ok(err.message.includes(name), `message should name ${name}: ${err.message}`);
    assert.match(err.message, reason);
    return true;
  });
}

describe('readImage / decodeImage', () => {
  it('reads RGB PNG into planar R, G, B planes', async () => {
    const path = join(tmp.dir, 'rgb.png');
    await writeTestPng(path, 2, 1, 3, Uint8Array.from([1, 2, 3, 4, 5, 6]));
    const img = await readImage(path);
    assert.equal(img.width, 2);
    assert.equal(img.height, 1);
    assert.deepEqual(
      [...img.rgb],
      planar([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    );
  });

  it('replicates grey into R, G and B (1-channel PNG)', async () => {
    const path = join(tmp.dir, 'grey.png');
    await writeTestPng(path, 3, 1, 1, Uint8Array.from([0, 127, 255]));
    assert.equal((await sharp(path).metadata()).channels, 1, 'the fixture really is one-channel');
    assert.deepEqual([...(await readImage(path)).rgb], [0, 127, 255, 0, 127, 255, 0, 127, 255]);
  });

  it('drops alpha without compositing (grey+alpha, RGBA)', async () => {
    const ga = join(tmp.dir, 'ga.png');
    await writeTestPng(ga, 2, 1, 2, Uint8Array.from([50, 0, 200, 128]));
    assert.deepEqual([...(await readImage(ga)).rgb], [50, 200, 50, 200, 50, 200]);
    const rgba = join(tmp.dir, 'rgba.png');
    await writeTestPng(rgba, 1, 1, 4, Uint8Array.from([9, 8, 7, 0]));
    assert.deepEqual([...(await readImage(rgba)).rgb], [9, 8, 7]);
  });

  it('expands palette PNGs', async () => {
    const bytes = await sharp(Uint8Array.from([255, 0, 0, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 3 } })
      .png({ palette: true })
      .toBuffer();
    assert.equal((await sharp(bytes).metadata()).isPalette, true);
    assert.deepEqual(
      [...(await decodeImage(bytes, 'pal.png')).rgb],
      planar([
        [255, 0, 0],
        [0, 0, 255],
      ]),
    );
  });

  it('scales 16-bit grey and RGB to 8 bits (not clipped)', async () => {
    const values = [0, 25700, 65535, 32896, 1000];
    const grey16 = await sharp(Uint16Array.from(values), { raw: { width: 5, height: 1, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    assert.equal((await sharp(grey16).metadata()).depth, 'ushort');
    const img = await decodeImage(grey16, 'g16.png');
    values.forEach((v, i) => assert.ok(Math.abs(img.rgb[i]! - v / 257) < 1, `${v} -> ${img.rgb[i]}`));
    const rgb16 = await sharp(Uint16Array.from([65535, 0, 32896]), { raw: { width: 1, height: 1, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    assert.deepEqual([...(await decodeImage(rgb16, 'c16.png')).rgb], [255, 0, 128]);
  });

  it('reads JPEG (lossy: close) and TIFF (lossless: exact)', async () => {
    const flat = new Uint8Array(8 * 8 * 3).fill(100);
    const jpeg = await sharp(flat, { raw: { width: 8, height: 8, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const fromJpeg = await decodeImage(jpeg, 'a.jpg');
    assert.equal(fromJpeg.width, 8);
    for (const v of fromJpeg.rgb) assert.ok(Math.abs(v - 100) <= 2);
    const tiff = await sharp(Uint8Array.from([1, 2, 3, 4, 5, 6]), { raw: { width: 2, height: 1, channels: 3 } })
      .tiff({ compression: 'lzw' })
      .toBuffer();
    assert.deepEqual(
      [...(await decodeImage(tiff, 'a.tif')).rgb],
      planar([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    );
  });

  it('reads BMP files through its own decoder, by content not by extension', async () => {
    // 1 x 1 24-bit BMP holding (r, g, b) = (11, 22, 33), saved under a .png name.
    const bmp = Uint8Array.from([
      0x42,
      0x4d,
      58,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      54,
      0,
      0,
      0,
      40,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      1,
      0,
      24,
      0,
      ...new Array(24).fill(0),
      33,
      22,
      11,
      0,
    ]);
    const path = join(tmp.dir, 'really-a-bmp.png');
    writeFileSync(path, bmp);
    assert.deepEqual([...(await readImage(path)).rgb], [11, 22, 33]);
  });

  it('gives a truncated PNG or JPEG the same words every time, whatever the decoder says, also when many are decoded at once', async () => {
    const raw = { raw: { width: 64, height: 64, channels: 3 as const } };
    const pixels = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) % 251);
    const png = await sharp(pixels, raw).png().toBuffer();
    const jpeg = await sharp(pixels, raw).jpeg().toBuffer();
    for (const [bytes, why] of [
      [png.subarray(0, png.length - 30), 'no IEND chunk at its end'],
      [jpeg.subarray(0, jpeg.length - 30), 'no end-of-image marker'],
    ] as const) {
      const messages = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          decodeImage(bytes, `cut-${i}`).then(
            () => 'decoded',
            (e: Error) => e.message.replace(`cut-${i}`, 'cut'),
          ),
        ),
      );
      assert.deepEqual(new Set(messages), new Set([`Cannot read image "cut": the file is truncated or corrupt (${why}).`]));
    }
  });

  it('names the file and the problem for bad input', async () => {
    const png = await sharp(new Uint8Array(16 * 16 * 3).fill(7), { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toBuffer();
    const truncated = join(tmp.dir, 'truncated.png');
    writeFileSync(truncated, png.subarray(0, png.length - 30));
    await rejectsNaming(readImage(truncated), truncated, /truncated|corrupt/);

    const empty = join(tmp.dir, 'empty.png');
    writeFileSync(empty, '');
    await rejectsNaming(readImage(empty), empty, /empty/);

    const text = join(tmp.dir, 'notes.png');
    writeFileSync(text, 'not an image at all');
    await rejectsNaming(readImage(text), text, /not a supported image format/);

    const gif = await sharp(new Uint8Array(4 * 4 * 3), { raw: { width: 4, height: 4, channels: 3 } })
      .gif()
      .toBuffer();
    await rejectsNaming(decodeImage(gif, 'upload.gif'), 'upload.gif', /"gif" is not supported/);

    const missing = join(tmp.dir, 'nope.png');
    await rejectsNaming(readImage(missing), missing, /no such file/);

    const folder = join(tmp.dir, 'a-folder.png');
    mkdirSync(folder);
    await rejectsNaming(readImage(folder), folder, /folder/);
  });
});

describe('normalizeImage', () => {
  it('divides by 255 then applies ImageNet mean and std per channel (hand-computed)', () => {
    const img = { width: 2, height: 1, rgb: Uint8Array.from([0, 255, 0, 255, 0, 255]) };
    const out = normalizeImage(img);
    const expected = [-0.485 / 0.229, (1 - 0.485) / 0.229, -0.456 / 0.224, (1 - 0.456) / 0.224, -0.406 / 0.225, (1 - 0.406) / 0.225];
    assert.equal(out.length, 6);
    out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${i}: ${v} vs ${expected[i]}`));
  });

  it('is computed in float32 steps like torchvision (128 in the green channel)', () => {
    const f = Math.fround;
    const img = { width: 1, height: 1, rgb: Uint8Array.from([0, 128, 0]) };
    assert.equal(normalizeImage(img)[1], f(f(f(128 / 255) - f(0.456)) / f(0.224)));
  });
});
