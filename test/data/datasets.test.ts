import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  checkMaskSizes,
  DEFAULT_NORMAL_SPLIT_RATIO,
  detectFormat,
  listCategories,
  openDataset,
  splitNormalImages,
  type Dataset,
} from '../../src/data/datasets.js';
import { readImage, readMask } from '../../src/data/image.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { makeTempDir, touch, writeGreyPng } from './helpers.js';
import { sharedDir } from '../shared-folder.js';

let tmp: ReturnType<typeof makeTempDir>;
before(() => {
  tmp = makeTempDir();
});
after(() => tmp.cleanup());

function rejectsWith(promise: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<void> {
  return assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PyramidFlowError, `expected PyramidFlowError, got ${String(err)}`);
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
      else assert.match(err.message, part);
    }
    return true;
  });
}

/** An MVTec tree of empty files (listing never reads pixels). The root's name contains "test". */
function makeMvtec(root: string): void {
  for (const cat of ['bottle', 'tile']) {
    for (const name of ['b.png', 'a.PNG', 'c.JPG', 'notes.txt', '.hidden.png']) touch(join(root, cat, 'train', 'good', name));
    touch(join(root, cat, 'test', 'good', '000.png'));
    for (const name of ['001.png', '000.png']) {
      touch(join(root, cat, 'test', 'crack', name));
      touch(join(root, cat, 'ground_truth', 'crack', name.replace('.png', '_mask.png')));
    }
    touch(join(root, cat, 'test', 'test_stain', '000.png'));
    touch(join(root, cat, 'ground_truth', 'test_stain', '000_mask.png'));
  }
}

describe('MVTec layout', () => {
  let root: string;
  before(() => {
    root = join(tmp.dir, 'my_test_data');
    makeMvtec(root);
  });

  it('detects the format and lists categories', () => {
    assert.equal(detectFormat(root), 'mvtec');
    assert.deepEqual(listCategories(root), ['bottle', 'tile']);
  });

  it('lists train images sorted by name, image extensions only (any case), no hidden files', async () => {
    const ds = await openDataset({ data: root, category: 'tile' });
    assert.equal(ds.format, 'mvtec');
    assert.equal(ds.root, root);
    assert.equal(ds.category, 'tile');
    assert.deepEqual(
      ds.train.map((p) => basename(p)),
      ['a.PNG', 'b.png', 'c.JPG'],
    );
  });

  it('finds masks by path structure, even when folder names contain "test"', async () => {
    const ds = await openDataset({ data: root, category: 'tile' });
    const cat = join(root, 'tile');
    assert.deepEqual(ds.test, [
      { path: join(cat, 'test', 'crack', '000.png'), type: 'crack', label: 1, maskPath: join(cat, 'ground_truth', 'crack', '000_mask.png') },
      { path: join(cat, 'test', 'crack', '001.png'), type: 'crack', label: 1, maskPath: join(cat, 'ground_truth', 'crack', '001_mask.png') },
      { path: join(cat, 'test', 'good', '000.png'), type: 'good', label: 0, maskPath: null },
      { path: join(cat, 'test', 'test_stain', '000.png'), type: 'test_stain', label: 1, maskPath: join(cat, 'ground_truth', 'test_stain', '000_mask.png') },
    ]);
  });

  it('accepts a root that is itself a category folder', async () => {
    const ds = await openDataset({ data: join(root, 'bottle') });
    assert.equal(ds.category, 'bottle');
    assert.equal(ds.root, root);
    assert.equal(ds.train.length, 3);
    assert.deepEqual(listCategories(join(root, 'bottle')), ['bottle']);
  });

  it('asks for a category when there are several, and lists them for an unknown one', async () => {
    await rejectsWith(openDataset({ data: root }), 'bottle, tile', 'choose one');
    await rejectsWith(openDataset({ data: root, category: 'carpet' }), '"carpet"', 'categories found: bottle, tile');
  });

  it('names the defect image and the expected mask when a mask is missing', async () => {
    const r = join(tmp.dir, 'nomask');
    touch(join(r, 'cat', 'train', 'good', 'a.png'));
    touch(join(r, 'cat', 'test', 'hole', '007.png'));
    const expected = join(r, 'cat', 'ground_truth', 'hole', '007_mask.png');
    await rejectsWith(openDataset({ data: r, category: 'cat' }), join(r, 'cat', 'test', 'hole', '007.png'), expected);
  });

  it('reports an empty training folder and a missing data folder', async () => {
    const r = join(tmp.dir, 'empty-train');
    touch(join(r, 'cat', 'train', 'good', 'readme.txt'));
    await rejectsWith(openDataset({ data: r }), join(r, 'cat', 'train', 'good'), 'no images');
    await rejectsWith(openDataset({ data: join(tmp.dir, 'does-not-exist') }), 'does not exist');
  });

  it('keeps a category without test/ usable for training', async () => {
    const r = join(tmp.dir, 'train-only');
    touch(join(r, 'cat', 'train', 'good', 'a.png'));
    const ds = await openDataset({ data: r });
    assert.deepEqual(ds.test, []);
  });
});

describe('BTAD layout', () => {
  it('maps ok to good and finds ko masks as .png or .bmp', async () => {
    const root = join(tmp.dir, 'btad');
    for (const cat of ['01', '03']) {
      touch(join(root, cat, 'train', 'ok', '0000.bmp'));
      touch(join(root, cat, 'test', 'ok', '0001.bmp'));
      touch(join(root, cat, 'test', 'ko', '0002.bmp'));
      touch(join(root, cat, 'test', 'ko', '0003.png'));
      touch(join(root, cat, 'ground_truth', 'ko', '0002.png'));
      touch(join(root, cat, 'ground_truth', 'ko', '0003.bmp'));
    }
    assert.equal(detectFormat(root), 'btad');
    assert.deepEqual(listCategories(root), ['01', '03']);
    const ds = await openDataset({ data: root, category: '03' });
    assert.equal(ds.format, 'btad');
    assert.deepEqual(ds.train, [join(root, '03', 'train', 'ok', '0000.bmp')]);
    assert.deepEqual(
      ds.test.map((s) => [s.type, s.label, s.maskPath && basename(s.maskPath)]),
      [
        ['ko', 1, '0002.png'],
        ['ko', 1, '0003.bmp'],
        ['good', 0, null],
      ],
    );
    const direct = await openDataset({ data: join(root, '01') });
    assert.equal(direct.category, '01');
  });
});

describe('folder layout', () => {
  it('uses a flat folder of images as the training set', async () => {
    const root = join(tmp.dir, 'flat_parts');
    touch(join(root, 'x2.png'));
    touch(join(root, 'x1.jpeg'));
    assert.equal(detectFormat(root), 'folder');
    const ds = await openDataset({ data: root });
    assert.deepEqual(ds, { format: 'folder', root, category: 'flat_parts', train: [join(root, 'x1.jpeg'), join(root, 'x2.png')], test: [] });
  });

  it('reads good/, defect/ (flat or per type) and mask/ with matching stems', async () => {
    const root = join(tmp.dir, 'parts');
    touch(join(root, 'good', 'n1.png'));
    touch(join(root, 'defect', 'd1.png'));
    touch(join(root, 'defect', 'dent', 'd2.png'));
    touch(join(root, 'mask', 'd1.png'));
    touch(join(root, 'mask', 'dent', 'd2_mask.png'));
    touch(join(root, 'holdout', 'n9.png'));
    const ds = await openDataset({ data: root, format: 'folder', normalTestDir: 'holdout' });
    assert.deepEqual(ds.train, [join(root, 'good', 'n1.png')]);
    assert.deepEqual(
      ds.test.map((s) => [basename(s.path), s.type, s.label, s.maskPath && resolve(s.maskPath)]),
      [
        ['n9.png', 'good', 0, null],
        ['d1.png', 'defect', 1, join(root, 'mask', 'd1.png')],
        ['d2.png', 'dent', 1, join(root, 'mask', 'dent', 'd2_mask.png')],
      ],
    );
  });

  it('allows defects without masks when there is no mask folder, but not a missing mask in one', async () => {
    const root = join(tmp.dir, 'labels-only');
    touch(join(root, 'ok_imgs', 'n.png'));
    touch(join(root, 'bad_imgs', 'd.png'));
    const ds = await openDataset({ data: root, format: 'folder', normalDir: 'ok_imgs', abnormalDir: 'bad_imgs' });
    assert.deepEqual(
      ds.test.map((s) => s.maskPath),
      [null],
    );
    touch(join(root, 'masks', 'other.png'));
    await rejectsWith(
      openDataset({ data: root, format: 'folder', normalDir: 'ok_imgs', abnormalDir: 'bad_imgs', maskDir: 'masks' }),
      join(root, 'bad_imgs', 'd.png'),
      'no mask',
    );
    await rejectsWith(openDataset({ data: root, format: 'folder', normalDir: 'missing' }), join(root, 'missing'), 'does not exist');
  });

  it('without a normal test folder keeps a fixed share of good/ out of training to test on', async () => {
    const root = join(tmp.dir, 'split');
    for (let i = 0; i < 10; i++) touch(join(root, 'good', `n${i}.png`));
    touch(join(root, 'defect', 'd.png'));
    const ds = await openDataset({ data: root });
    const good = ds.test.filter((s) => s.label === 0);
    assert.equal(DEFAULT_NORMAL_SPLIT_RATIO, 0.2);
    assert.equal(good.length, 2);
    assert.equal(ds.train.length, 8);
    assert.deepEqual(
      [...ds.train, ...good.map((s) => s.path)].sort(),
      Array.from({ length: 10 }, (_, i) => join(root, 'good', `n${i}.png`)),
    );
    assert.deepEqual(ds.train, [...ds.train].sort(), 'training images stay sorted by name');
    assert.deepEqual(
      ds.test.map((s) => s.type),
      ['good', 'good', 'defect'],
    );
    assert.deepEqual(await openDataset({ data: root, format: 'folder' }), ds, 'the same split on every call');
    assert.equal((await openDataset({ data: root, normalSplitRatio: 0 })).train.length, 10, '0 keeps none');
    assert.equal((await openDataset({ data: root, normalSplitRatio: 0.5 })).train.length, 5);
    // a normal test folder replaces the split: all of good/ is trained on
    touch(join(root, 'good-test', 'x.png'));
    const withTest = await openDataset({ data: root, normalTestDir: 'good-test' });
    assert.equal(withTest.train.length, 10);
    assert.deepEqual(
      withTest.test.filter((s) => s.label === 0).map((s) => basename(s.path)),
      ['x.png'],
    );
    // a flat folder of good images is for training only: no split
    assert.equal((await openDataset({ data: join(root, 'good') })).train.length, 10);
  });

  it('splits by file name alone: any folder or order, nested ratios, at least one, never all', () => {
    const names = Array.from({ length: 40 }, (_, i) => `img_${String(i).padStart(3, '0')}.png`);
    const inA = names.map((n) => join('/a', n));
    const split = splitNormalImages(inA, 0.2);
    assert.equal(split.test.length, 8);
    assert.deepEqual([...split.train, ...split.test].sort(), inA);
    assert.deepEqual(
      split.train.filter((f) => split.test.includes(f)),
      [],
    );
    const inB = splitNormalImages(names.map((n) => join('/b/c', n)).reverse(), 0.2);
    assert.deepEqual(inB.test.map((f) => basename(f)).sort(), split.test.map((f) => basename(f)).sort(), 'the same names wherever they are');
    const larger = splitNormalImages(inA, 0.5);
    assert.ok(
      split.test.every((f) => larger.test.includes(f)),
      'a larger share holds the smaller one',
    );
    // not simply the first or every k-th name
    assert.notDeepEqual(split.test, inA.slice(0, 8));
    assert.equal(splitNormalImages(inA.slice(0, 2), 0.1).test.length, 1, 'at least one');
    assert.equal(splitNormalImages(inA.slice(0, 2), 0.9).train.length, 1, 'never all');
    assert.deepEqual(splitNormalImages(inA.slice(0, 1), 0.5), { train: [inA[0]], test: [] });
    assert.deepEqual(splitNormalImages(inA, 0), { train: inA, test: [] });
    for (const bad of [1, -0.1, Number.NaN]) assert.throws(() => splitNormalImages(inA, bad), /normal split ratio must be at least 0 and below 1/);
  });

  it('refuses the folder options for the MVTec and BTAD layouts', async () => {
    const root = join(tmp.dir, 'mvtec-with-folder-options');
    makeMvtec(root);
    await rejectsWith(
      openDataset({ data: root, category: 'tile', normalDir: 'good', normalSplitRatio: 0.1 }),
      '--normal-dir, --normal-split-ratio apply to the folder layout only',
      'mvtec layout',
    );
  });
});

describe('checkMaskSizes', () => {
  it('passes matching sizes and names both files on a mismatch', async () => {
    const root = join(tmp.dir, 'sizes');
    await writeGreyPng(join(root, 'c', 'train', 'good', 'a.png'), 8, 6);
    await writeGreyPng(join(root, 'c', 'test', 'cut', 'ok.png'), 8, 6);
    await writeGreyPng(join(root, 'c', 'ground_truth', 'cut', 'ok_mask.png'), 8, 6, 0);
    const ds = await openDataset({ data: root });
    await checkMaskSizes(ds);
    await writeGreyPng(join(root, 'c', 'test', 'cut', 'wide.png'), 9, 6);
    await writeGreyPng(join(root, 'c', 'ground_truth', 'cut', 'wide_mask.png'), 8, 6, 0);
    const bad = await openDataset({ data: root });
    await rejectsWith(checkMaskSizes(bad), join(root, 'c', 'test', 'cut', 'wide.png'), 'wide_mask.png', '8 x 6', '9 x 6');
  });
});

describe('real data: magnetic tiles (MVTec layout, grey PNGs of varying sizes)', () => {
  const dataRoot = join(sharedDir, 'data');
  const present = existsSync(join(dataRoot, 'magnetic_tile', 'train', 'good'));

  it('opens from the data root and from the category folder itself', { skip: !present && 'shared data not present' }, async () => {
    const a = await openDataset({ data: dataRoot, category: 'magnetic_tile' });
    const b = await openDataset({ data: join(dataRoot, 'magnetic_tile') });
    assert.deepEqual(b, a);
    assert.equal(a.category, 'magnetic_tile');
    assert.equal(a.train.length, 761);
    const count = (type: string): number => a.test.filter((s) => s.type === type).length;
    assert.deepEqual(['good', 'blowhole', 'break', 'crack', 'fray', 'uneven'].map(count), [191, 115, 85, 57, 32, 99]);
    assert.ok(a.test.every((s) => (s.label === 0) === (s.maskPath === null)));
  });

  it('reads grey images of odd sizes as RGB, masks matching them', { skip: !present && 'shared data not present' }, async () => {
    const ds = await openDataset({ data: dataRoot, category: 'magnetic_tile' });
    const defects = ds.test.filter((s) => s.label === 1);
    const sample: Dataset = { ...ds, test: [defects[0]!, defects[150]!, defects[300]!] };
    await checkMaskSizes(sample);
    const img = await readImage(sample.test[0]!.path);
    const n = img.width * img.height;
    assert.deepEqual([...img.rgb.subarray(0, 50)], [...img.rgb.subarray(n, n + 50)], 'grey replicated');
    const mask = await readMask(sample.test[0]!.maskPath!, 64, 64);
    assert.ok(mask.includes(1), 'the defect is visible in the resized mask');
  });
});
