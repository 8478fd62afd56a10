import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { encodePng, writePng } from '../../src/data/image.js';
import { makeTempDir } from './helpers.js';
import { lcgBytes } from './pil-reference.js';

let tmp: ReturnType<typeof makeTempDir>;
before(() => {
  tmp = makeTempDir();
});
after(() => tmp.cleanup());

describe('encodePng / writePng', () => {
  for (const channels of [1, 3, 4] as const) {
    it(`round-trips ${channels}-channel pixels through an independent decoder (libpng via sharp)`, async () => {
      const data = lcgBytes(5 * 3 * channels, channels);
      const png = await encodePng({ width: 5, height: 3, channels, data });
      assert.equal((await sharp(png).metadata()).channels, channels, 'stored with this many channels');
      // sharp widens grey to sRGB on output unless asked to keep it grey.
      const decoder = channels === 1 ? sharp(png).toColourspace('b-w') : sharp(png);
      const { data: decoded, info } = await decoder.raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, channels);
      assert.deepEqual([...decoded], [...data]);
    });
  }

  it('gives identical bytes for identical pixels', async () => {
    const img = { width: 16, height: 16, channels: 3 as const, data: lcgBytes(16 * 16 * 3, 42) };
    assert.deepEqual(await encodePng(img), await encodePng(img));
  });

  it('writes atomically: the file appears whole, no temporary file is left', async () => {
    const path = join(tmp.dir, 'sub', 'out.png');
    const img = { width: 2, height: 2, channels: 1 as const, data: Uint8Array.from([0, 85, 170, 255]) };
    await writePng(path, img);
    assert.deepEqual(readFileSync(path), await encodePng(img));
    assert.deepEqual(readdirSync(join(tmp.dir, 'sub')), ['out.png']);
  });

  it('rejects a buffer that does not match the size', async () => {
    await assert.rejects(encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }), RangeError);
  });
});
