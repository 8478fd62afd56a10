import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveAugment } from '../../src/data/augment-mode.js';
import { checkMaskSizes, openDataset } from '../../src/data/datasets.js';
import { readImage, readMaskOriginal } from '../../src/data/image.js';
import { defectImage, synthCategorySpec, synthesize, SYNTH_CATEGORIES } from '../../src/data/synth.js';
import { canvasToRgb } from '../../src/data/synth/canvas.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';
import { makeTempDir, touch } from './helpers.js';

let tmp: ReturnType<typeof makeTempDir>;
before(() => {
  tmp = makeTempDir();
});
after(() => tmp.cleanup());

/** relative path -> sha256 of every file under dir. */
function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

const SMALL = { size: 64, train: 3, testGood: 2, testDefect: 4 };

describe('synthesize', () => {
  it('writes the MVTec layout with a marker, and is fast for a small category', async () => {
    const out = join(tmp.dir, 'a');
    const started = performance.now();
    const summary = await synthesize({ out, categories: ['fabric'], ...SMALL, seed: 3 });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1500, `took ${elapsed.toFixed(0)} ms`); // well under a second unloaded
    assert.deepEqual(summary.categories, [
      { name: 'fabric', kind: 'texture', train: 3, testGood: 2, testDefect: 4, defectTypes: ['hole', 'stain', 'thread', 'patch'] },
    ]);
    const ds = await openDataset({ data: out, category: 'fabric' });
    assert.equal(ds.train.length, 3);
    assert.deepEqual(ds.test.map((s) => s.type).sort(), ['good', 'good', 'hole', 'patch', 'stain', 'thread']);
    await checkMaskSizes(ds);
    const marker = JSON.parse(readFileSync(join(out, 'fabric', 'pyramidflow-synth.json'), 'utf8'));
    assert.equal(marker.augment, 'texture');
    assert.equal(resolveAugment('auto', 'fabric', out).mode, 'texture');
  });

  it('gives byte-identical files for the same seed and different good images for another', async () => {
    const opts = { categories: ['washer', 'grid'], ...SMALL };
    await synthesize({ out: join(tmp.dir, 's1'), ...opts, seed: 11 });
    await synthesize({ out: join(tmp.dir, 's2'), ...opts, seed: 11 });
    await synthesize({ out: join(tmp.dir, 's3'), ...opts, seed: 12 });
    const h1 = hashTree(join(tmp.dir, 's1'));
    assert.ok(h1.size > 20);
    assert.deepEqual(hashTree(join(tmp.dir, 's2')), h1);
    const h3 = hashTree(join(tmp.dir, 's3'));
    for (const file of ['washer/train/good/000.png', 'grid/train/good/000.png', 'grid/test/good/001.png']) {
      assert.notEqual(h3.get(file), h1.get(file), file);
    }
  });

  it('makes good images that differ from each other within a run', async () => {
    const out = join(tmp.dir, 'vary');
    await synthesize({ out, categories: ['stone'], ...SMALL, seed: 0 });
    const [a, b] = await Promise.all([0, 1].map((i) => readImage(join(out, 'stone', 'train', 'good', `00${i}.png`))));
    let diff = 0;
    a!.rgb.forEach((v, i) => (diff += Math.abs(v - b!.rgb[i]!)));
    assert.ok(diff / a!.rgb.length > 5, `mean difference ${diff / a!.rgb.length}`);
  });

  it('writes 0/255 masks, each non-empty', async () => {
    const out = join(tmp.dir, 'masks');
    await synthesize({ out, categories: ['wood'], ...SMALL, seed: 5 });
    const gt = join(out, 'wood', 'ground_truth');
    for (const type of readdirSync(gt)) {
      for (const file of readdirSync(join(gt, type))) {
        const raw = await readImage(join(gt, type, file));
        assert.ok(
          raw.rgb.every((v) => v === 0 || v === 255),
          `${type}/${file} is binary`,
        );
        const { mask } = await readMaskOriginal(join(gt, type, file));
        assert.ok(mask.includes(1), `${type}/${file} is not empty`);
      }
    }
  });

  it('replaces its own earlier output but never a folder it did not make', async () => {
    const out = join(tmp.dir, 'redo');
    await synthesize({ out, categories: ['grid'], size: 64, train: 4, testGood: 1, testDefect: 1, seed: 1 });
    await synthesize({ out, categories: ['grid'], size: 64, train: 2, testGood: 1, testDefect: 1, seed: 1 });
    assert.deepEqual(readdirSync(join(out, 'grid', 'train', 'good')), ['000.png', '001.png'], 'stale files are gone');
    touch(join(out, 'wood', 'mine.txt'), 'user data');
    await assert.rejects(synthesize({ out, categories: ['wood'], ...SMALL }), PyramidFlowError);
    assert.ok(existsSync(join(out, 'wood', 'mine.txt')));
  });

  it('rejects unknown categories (listing the available ones) and bad numbers', async () => {
    await assert.rejects(
      synthesize({ out: join(tmp.dir, 'x'), categories: ['lava'] }),
      (err: unknown) => err instanceof PyramidFlowError && err.message.includes(SYNTH_CATEGORIES.join(', ')),
    );
    await assert.rejects(synthesize({ out: join(tmp.dir, 'x'), size: 10 }), PyramidFlowError);
    await assert.rejects(synthesize({ out: join(tmp.dir, 'x'), train: 1.5 }), PyramidFlowError);
    const file = join(tmp.dir, 'a-file');
    touch(file, 'x');
    await assert.rejects(
      synthesize({ out: file, categories: ['grid'], ...SMALL }),
      (err: unknown) => err instanceof PyramidFlowError && err.message.includes(file),
    );
  });
});

describe('defects', () => {
  /** Per-pixel max channel difference between a defect image and its own good image. */
  function difference(category: string, type: Parameters<typeof defectImage>[1], seed: number) {
    const spec = synthCategorySpec(category);
    const good = canvasToRgb(spec.render(96, new Random(seed)).canvas);
    const { image, mask } = defectImage(spec, type, 96, seed);
    const diff = new Float32Array(mask.length);
    for (let i = 0; i < mask.length; i++) {
      for (let c = 0; c < 3; c++) diff[i] = Math.max(diff[i]!, Math.abs(image[i * 3 + c]! - good[i * 3 + c]!));
    }
    return { diff, mask };
  }

  for (const category of SYNTH_CATEGORIES) {
    it(`${category}: every defect kind is visible inside its mask and the mask covers what changed`, () => {
      for (const type of synthCategorySpec(category).defects) {
        for (const seed of [1, 2]) {
          const { diff, mask } = difference(category, type, seed);
          let inside = 0;
          let area = 0;
          let maxInside = 0;
          let maxOutside = 0;
          for (let i = 0; i < mask.length; i++) {
            if (mask[i]) {
              inside += diff[i]!;
              area++;
              maxInside = Math.max(maxInside, diff[i]!);
            } else maxOutside = Math.max(maxOutside, diff[i]!);
          }
          assert.ok(area >= 4, `${type}/${seed}: mask area ${area}`);
          // A cut-and-paste patch changes structure more than level: a lower bar for it.
          const minimum = type === 'patch' ? 4 : 8;
          assert.ok(inside / area >= minimum, `${type}/${seed}: mean change inside ${(inside / area).toFixed(1)}`);
          // The mask holds every pixel at least half covered by the defect: outside it,
          // changes stay below about half the strongest change (the anti-aliased fringe).
          assert.ok(maxOutside <= 0.6 * maxInside + 3, `${type}/${seed}: change ${maxOutside} outside vs ${maxInside} inside`);
        }
      }
    });
  }
});
