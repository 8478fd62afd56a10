import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readImage, resizeImage } from '../../src/data/image.js';
import { loadResized } from '../../src/data/loader.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { makeTempDir, writeTestPng } from './helpers.js';
import { lcgBytes } from './pil-reference.js';

let tmp: ReturnType<typeof makeTempDir>;
let paths: string[];
before(async () => {
  tmp = makeTempDir();
  paths = [];
  for (const [i, [w, h]] of [
    [20, 10],
    [7, 13],
    [16, 16],
    [5, 5],
    [30, 9],
  ].entries()) {
    const path = join(tmp.dir, `img${i}.png`);
    await writeTestPng(path, w!, h!, 3, lcgBytes(w! * h! * 3, i + 1));
    paths.push(path);
  }
});
after(() => tmp.cleanup());

describe('loadResized', () => {
  it('decodes and resizes every image, in input order, equal to readImage + resizeImage', async () => {
    const images = await loadResized(paths, 8, 12);
    assert.equal(images.length, paths.length);
    for (const [i, img] of images.entries()) {
      assert.equal(img.width, 12);
      assert.equal(img.height, 8);
      assert.deepEqual(img, resizeImage(await readImage(paths[i]!), 8, 12));
    }
  });

  it('reports progress once per image, counting up to the total', async () => {
    const seen: number[] = [];
    await loadResized(paths, 4, 4, (done, total) => {
      assert.equal(total, paths.length);
      seen.push(done);
    });
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  it('fails naming the unreadable file', async () => {
    const missing = join(tmp.dir, 'gone.png');
    await assert.rejects(loadResized([paths[0]!, missing], 4, 4), (err: unknown) => err instanceof PyramidFlowError && err.message.includes(missing));
  });
});
