/**
 * The README's own layout, `good/ defect/ mask/`, through the command line with the real library:
 * `train` then `test --report`. Without a normal test folder a fixed share of good/ is kept out of
 * training and tested on, so image AUROC is a number and good images are counted; no image is both
 * trained on (or calibrated with) and tested; the report is written by the library, once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { synth, test as evaluateModel } from '../../src/api/index.js';
import { openDataset } from '../../src/data/datasets.js';
import { readModelFile } from '../../src/api/model-files.js';
import { runCli } from '../../src/cli/program.js';
import { defaultContext } from '../../src/cli/context.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { argv, textBuffer } from '../cli/fake-context.js';

let dir: string;
let root: string; // the README's layout: good/, defect/<type>/, mask/<type>/
let model: string;

/** The CLI with the real library, printing into buffers. */
function realContext(): ReturnType<typeof defaultContext> & { stdout: ReturnType<typeof textBuffer>; stderr: ReturnType<typeof textBuffer> } {
  return { ...defaultContext(), stdout: textBuffer(), stderr: textBuffer() };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pf-folder-'));
  const synthetic = join(dir, 'synth');
  await synth({ out: synthetic, categories: ['fabric'], size: 32, train: 12, testGood: 3, testDefect: 6, seed: 5 });
  const cat = join(synthetic, 'fabric');
  root = join(dir, 'my-parts');
  const copyAll = (from: string, to: string, rename = (n: string) => n): void => {
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(from)) copyFileSync(join(from, name), join(to, rename(name)));
  };
  copyAll(join(cat, 'train', 'good'), join(root, 'good'));
  copyAll(join(cat, 'test', 'good'), join(root, 'good'), (n) => `t${n}`);
  for (const type of readdirSync(join(cat, 'test')).filter((t) => t !== 'good')) {
    copyAll(join(cat, 'test', type), join(root, 'defect', type));
    copyAll(join(cat, 'ground_truth', type), join(root, 'mask', type));
  }
  model = join(dir, 'my-parts.pflow');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the data layer keeps a fixed fifth of good/ out of training, for train and test alike', async () => {
  const a = await openDataset({ data: root });
  const b = await openDataset({ data: root, format: 'folder' });
  assert.deepEqual(b, a, 'the same split on every call');
  assert.equal(a.format, 'folder');
  const good = readdirSync(join(root, 'good'))
    .map((n) => join(root, 'good', n))
    .sort();
  const goodTest = a.test.filter((s) => s.label === 0).map((s) => s.path);
  assert.equal(good.length, 15);
  assert.equal(goodTest.length, 3, '0.2 of 15');
  assert.equal(a.train.length, 12);
  assert.deepEqual([...a.train, ...goodTest].sort(), good, 'every good image on exactly one side');
  assert.ok(
    a.test.filter((s) => s.label === 1).every((s) => s.maskPath !== null && existsSync(s.maskPath)),
    'defects found with their masks',
  );
});

test('README layout: train, then test --report, gives a real image AUROC and counts good images; nothing trained on is tested', async () => {
  const trainCtx = realContext();
  const trainArgs = [
    '--data',
    root,
    '--format',
    'folder',
    '--out',
    model,
    '--size',
    '32',
    '--channels',
    '4',
    '--kernel',
    '3',
    '--levels',
    '3',
    '--stack',
    '1',
    '--epochs',
    '2',
    '--batch',
    '2',
    '--threads',
    '1',
  ];
  assert.equal(await runCli(argv('train', ...trainArgs, '--json'), trainCtx), 0, trainCtx.stderr.text);

  // What the model was trained and calibrated on: the training side of the split, and nothing else.
  const training = readModelFile(model).training;
  const used = [...training.trainFiles, ...training.holdoutFiles].map((f) => resolve(f));
  const dataset = await openDataset({ data: root });
  assert.deepEqual([...used].sort(), [...dataset.train].sort());
  assert.ok(training.holdoutFiles.length >= 1, 'the holdout for the thresholds comes out of the training side');

  const report = join(dir, 'report');
  const testCtx = realContext();
  assert.equal(await runCli(argv('test', '--model', model, '--data', root, '--report', report, '--json'), testCtx), 0, testCtx.stderr.text);
  const json = JSON.parse(testCtx.stdout.text) as {
    image_auroc: number;
    pixel_auroc: number;
    images: number;
    confusion: { goodImages: number; defectImages: number };
    report: string;
  };
  assert.equal(typeof json.image_auroc, 'number');
  assert.ok(Number.isFinite(json.image_auroc) && json.image_auroc >= 0 && json.image_auroc <= 1, `image AUROC ${json.image_auroc}`);
  assert.ok(Number.isFinite(json.pixel_auroc));
  assert.equal(json.confusion.goodImages, 3);
  assert.equal(json.confusion.defectImages, 6);
  assert.equal(json.report, join(report, 'index.html'));
  assert.match(readFileSync(json.report, 'utf8'), /<svg id="chart-image-roc"/);

  // The table of the plain output: a number in the image AUROC column, not "-".
  const table = realContext();
  assert.equal(await runCli(argv('test', '--model', model, '--data', root), table), 0, table.stderr.text);
  const overall = table.stdout.text.split('\n').find((l) => l.startsWith('overall'));
  assert.match(overall ?? '', /^overall\s+9\s+\d+\.\d\s+\d+\.\d/, table.stdout.text);
  assert.match(table.stdout.text, /good images rejected\s+\d+ of 3 /);

  // No test image was trained on or calibrated with.
  const result = await evaluateModel({ model, data: root });
  const tested = result.images.map((i) => resolve(dirname(root), i.file));
  assert.equal(tested.length, 9);
  assert.deepEqual(
    tested.filter((f) => used.includes(f)),
    [],
  );
  assert.equal(result.notes, undefined);
  assert.equal(result.reportFile, undefined, 'no report unless asked for');
});

test('test({ report }) from the library writes the report and says where', async () => {
  const report = join(dir, 'lib-report');
  const result = await evaluateModel({ model, data: root, report, galleryCount: 4 });
  assert.equal(result.reportFile, join(report, 'index.html'));
  const html = readFileSync(result.reportFile!, 'utf8');
  assert.equal((html.match(/class="gallery-item/g) ?? []).length, 4);
});

test('test leaves out good images the model was trained on when the split differs, and says so', async () => {
  // A larger test share than train used: the extra images were trained on.
  const result = await evaluateModel({ model, data: root, normalSplitRatio: 0.6 });
  const good = result.images.filter((i) => i.label === 0);
  assert.equal(good.length, 3, 'only the images train kept out');
  assert.match(result.notes?.[0] ?? '', /^6 test image\(s\) left out: the model was trained or calibrated on them/);
  // good/ as its own normal test folder: the 12 trained on are left out, the 3 kept out remain.
  const same = await evaluateModel({ model, data: root, normalTestDir: 'good' });
  assert.equal(same.images.filter((i) => i.label === 0).length, 3);
  assert.match(same.notes?.[0] ?? '', /^12 test image\(s\) left out/);
  await assert.rejects(evaluateModel({ model, data: root, abnormalDir: 'nothing-here' }), /Defect-image folder .*nothing-here.* does not exist/);
});

test('the folder options are checked by the table and refused for other layouts', async () => {
  await assert.rejects(evaluateModel({ model, data: root, normalSplitRatio: 1 }), (err: unknown) => {
    assert.ok(err instanceof PyramidFlowError);
    assert.equal(err.code, 'E_USAGE');
    assert.equal(err.message, '--normal-split-ratio must be < 1 (got 1)');
    return true;
  });
  const synthetic = join(dir, 'synth');
  await assert.rejects(openDataset({ data: synthetic, normalDir: 'good' }), /--normal-dir applies to the folder layout only; .* is in the mvtec layout/);
  assert.equal(basename(root), 'my-parts');
});
