import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeFloatTiff, encodeFloatTiff, readFloatTiff, writeFloatTiff } from '../../src/data/image.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { makeTempDir } from './helpers.js';

let tmp: ReturnType<typeof makeTempDir>;
before(() => {
  tmp = makeTempDir();
});
after(() => tmp.cleanup());

const VALUES = Float32Array.from([0.5, -1.25, 3.75e-3, 1e6, 0, 1, 2, Math.PI, -0, 1e-30, 123.456, 7]);

describe('float32 TIFF', () => {
  it('round-trips exactly through our reader', async () => {
    const path = join(tmp.dir, 'map.tiff');
    await writeFloatTiff(path, VALUES, 4, 3);
    const back = await readFloatTiff(path);
    assert.equal(back.width, 4);
    assert.equal(back.height, 3);
    assert.deepEqual([...back.data], [...VALUES]);
  });

  it('is read as one float channel with the same values by libtiff (sharp)', async () => {
    const path = join(tmp.dir, 'map2.tiff');
    await writeFloatTiff(path, VALUES, 4, 3);
    const meta = await sharp(path).metadata();
    assert.equal(meta.channels, 1);
    assert.equal(meta.depth, 'float');
    const { data, info } = await sharp(path).raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
    const floats = new Float32Array(data.buffer, data.byteOffset, data.length / 4);
    // sharp replicates the grey channel to RGB on output: take every info.channels-th value.
    const grey = [...VALUES].map((_, i) => floats[i * info.channels]!);
    assert.deepEqual(grey, [...VALUES]);
  });

  it('writes the baseline tags a TIFF reader needs (hand-checked header)', () => {
    const bytes = encodeFloatTiff(Float32Array.from([1, 2]), 2, 1);
    const view = new DataView(bytes.buffer);
    assert.equal(String.fromCharCode(bytes[0]!, bytes[1]!), 'II');
    assert.equal(view.getUint16(2, true), 42);
    const ifd = view.getUint32(4, true);
    const tags = new Map<number, number>();
    for (let i = 0; i < view.getUint16(ifd, true); i++) {
      const at = ifd + 2 + i * 12;
      const type = view.getUint16(at + 2, true);
      tags.set(view.getUint16(at, true), type === 3 ? view.getUint16(at + 8, true) : view.getUint32(at + 8, true));
    }
    assert.equal(tags.get(258), 32); // BitsPerSample
    assert.equal(tags.get(259), 1); // no compression
    assert.equal(tags.get(277), 1); // one sample per pixel
    assert.equal(tags.get(339), 3); // SampleFormat = IEEE float
    assert.equal(view.getFloat32(tags.get(273)!, true), 1);
    assert.equal(view.getFloat32(tags.get(273)! + 4, true), 2);
  });

  it('reads big-endian files too', () => {
    const little = encodeFloatTiff(Float32Array.from([1.5, -2]), 2, 1);
    // Rebuild as big-endian by hand: same layout, every field byte-swapped.
    const big = new Uint8Array(little.length);
    const lv = new DataView(little.buffer);
    const bv = new DataView(big.buffer);
    big[0] = 0x4d;
    big[1] = 0x4d;
    bv.setUint16(2, 42);
    const ifd = lv.getUint32(4, true);
    bv.setUint32(4, ifd);
    const count = lv.getUint16(ifd, true);
    bv.setUint16(ifd, count);
    for (let i = 0; i < count; i++) {
      const at = ifd + 2 + i * 12;
      const type = lv.getUint16(at + 2, true);
      bv.setUint16(at, lv.getUint16(at, true));
      bv.setUint16(at + 2, type);
      bv.setUint32(at + 4, lv.getUint32(at + 4, true));
      if (type === 3) bv.setUint16(at + 8, lv.getUint16(at + 8, true));
      else bv.setUint32(at + 8, lv.getUint32(at + 8, true));
    }
    const dataAt = little.length - 8;
    bv.setFloat32(dataAt, 1.5);
    bv.setFloat32(dataAt + 4, -2);
    assert.deepEqual([...decodeFloatTiff(big, 'big.tif').data], [1.5, -2]);
  });

  it('refuses what it cannot read, naming the file', async () => {
    const path = join(tmp.dir, 'rgb.tiff');
    writeFileSync(
      path,
      await sharp(new Uint8Array(12), { raw: { width: 2, height: 2, channels: 3 } })
        .tiff()
        .toBuffer(),
    );
    await assert.rejects(readFloatTiff(path), (err: unknown) => err instanceof PyramidFlowError && err.message.includes(path));
    assert.throws(() => decodeFloatTiff(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 'x.tif'), /not a TIFF/);
    const ok = readFileSync(join(tmp.dir, 'map.tiff'));
    assert.throws(() => decodeFloatTiff(ok.subarray(0, ok.length - 4), 'cut.tif'), /truncated/);
  });
});
