/**
 * Fail closed, lose nothing (the library): `train` never replaces a file that is not a model, nor
 * a model unless told; it checks where it writes before any work and clears stale temporaries;
 * every image read has a pixel limit; `predict` goes on past an image that fails, hands each
 * result over as soon as it is done, keeps no maps unless asked, and never overwrites a file in
 * its picture folder that is not a PNG. A tiny model (32 x 32, 1 epoch) trains in about a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { synth, train, test as evaluateModel, predict, calibrate, type PredictResult, type TrainOptions, type TrainProgress } from '../../src/api/index.js';
import { defaultOf, optionsOf } from '../../src/api/options.js';
import { DEFAULT_MAX_PIXELS } from '../../src/data/decode.js';
import { Detector } from '../../src/detect/detector.js';
import { isModelFileHead } from '../../src/flow/model-file.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-hardening-'));
const data = join(dir, 'data');
const good = join(data, 'fabric', 'test', 'good');
const model = join(dir, 'm.pflow');
const opts: TrainOptions = { data, category: 'fabric', out: model, size: 32, channels: 4, kernel: 3, levels: 3, stacks: 1, epochs: 1, batch: 2, threads: 1 };
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-') || 'host';

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a training and records the kinds of its progress events. */
async function trainRecording(o: TrainOptions): Promise<{ kinds: string[]; error?: Error }> {
  const kinds: string[] = [];
  try {
    await train(o, (p: TrainProgress) => kinds.push(p.kind));
    return { kinds };
  } catch (error) {
    return { kinds, error: error as Error };
  }
}

test('setup: a tiny data set and model', async () => {
  await synth({ out: data, categories: ['fabric'], size: 32, train: 8, testGood: 3, testDefect: 2, seed: 5 });
  await train(opts);
  assert.ok(isModelFileHead(readFileSync(model)));
});

test('train never overwrites a file that is not a pyramidflow model, even with force, and says so before any work', async () => {
  const photo = join(dir, 'photo.png');
  copyFileSync(join(good, '000.png'), photo);
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'my notes\n');
  for (const file of [photo, text]) {
    const before = readFileSync(file);
    for (const force of [false, true]) {
      // a data folder that does not exist: the output is checked first, before the data set is opened
      const r = await trainRecording({ ...opts, data: join(dir, 'no-such-data'), out: file, force });
      assert.ok(r.error, `${file} force=${force}: refused`);
      assert.equal(r.error.message, `${file} exists and is not a pyramidflow model file; refusing to overwrite it (even with --force): choose another name`);
      assert.equal((r.error as { code?: string }).code, 'E_OUTPUT');
      assert.deepEqual(r.kinds, [], 'no work was done');
      assert.deepEqual(readFileSync(file), before, 'the file is untouched');
    }
  }
});

test('train refuses an existing model file unless resumed or forced; with force it replaces it', async () => {
  const copy = join(dir, 'copy.pflow');
  copyFileSync(model, copy);
  const before = readFileSync(copy);
  const r = await trainRecording({ ...opts, out: copy });
  assert.match(
    r.error?.message ?? '',
    /copy\.pflow exists \(a pyramidflow model file\); give --resume to continue its training, --force to replace it with a new one, or choose another --out$/,
  );
  assert.deepEqual(r.kinds, []);
  assert.deepEqual(readFileSync(copy), before);
  const forced = await train({ ...opts, out: copy, force: true });
  assert.equal(forced.modelFile, copy);
  assert.notDeepEqual(readFileSync(copy), before, 'replaced');
  assert.ok(isModelFileHead(readFileSync(copy)));
});

test('train checks before any work that --out is not a folder and that its folder can be written; a new folder is created', async () => {
  const folder = join(dir, 'a-folder');
  mkdirSync(folder);
  const missingData = join(dir, 'no-such-data');
  const asFolder = await trainRecording({ ...opts, data: missingData, out: folder, force: true });
  assert.equal(asFolder.error?.message, `${folder} is a folder: give the pyramidflow model file a file name`);
  assert.deepEqual(asFolder.kinds, []);

  // a file where a folder should be: not writable, whoever runs the tests (root included)
  const text = join(dir, 'plain.txt');
  writeFileSync(text, 'x');
  const under = await trainRecording({ ...opts, data: missingData, out: join(text, 'm.pflow') });
  assert.match(under.error?.message ?? '', /^cannot write .*plain\.txt[/\\]m\.pflow: /);

  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    const ro = await trainRecording({ ...opts, data: missingData, out: join(locked, 'm.pflow') });
    assert.equal(ro.error?.message, `cannot write ${join(locked, 'm.pflow')}: permission denied`);
  }

  // a folder that does not exist yet is created; the next error is the data set's
  const nested = join(dir, 'new', 'deeper', 'm.pflow');
  const fresh = await trainRecording({ ...opts, data: missingData, out: nested });
  assert.match(fresh.error?.message ?? '', /no-such-data/);
  assert.ok(statSync(join(dir, 'new', 'deeper')).isDirectory());
});

test('a training removes the stale temporary files of its output and says how many', async () => {
  const out = join(dir, 'stale', 's.pflow');
  mkdirSync(join(dir, 'stale'));
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const now = Date.now();
  const names = {
    deadHere: `.s.pflow.${HOST}.${gone}.${now}.tmp`,
    oldElsewhere: `.s.pflow.elsewhere.1.${now - 2 * 24 * 3600 * 1000}.tmp`,
    aliveHere: `.s.pflow.${HOST}.${process.pid}.${now}.tmp`, // a write in progress: kept
  };
  for (const name of Object.values(names)) writeFileSync(join(dir, 'stale', name), 'partial');
  const summary = await train({ ...opts, out });
  assert.ok(summary.notes.includes(`removed 2 stale temporary files of ${out} left by an interrupted write`), summary.notes.join('\n'));
  assert.deepEqual(readdirSync(join(dir, 'stale')).sort(), [names.aliveHere, 's.pflow'].sort());
});

test("--max-pixels: one default, the decoder's, for every command that reads images", () => {
  for (const command of ['train', 'test', 'predict', 'calibrate'] as const) {
    assert.ok(
      optionsOf(command).some((o) => o.name === 'maxPixels'),
      command,
    );
    assert.equal(defaultOf(command, 'maxPixels'), DEFAULT_MAX_PIXELS, command);
  }
});

test('the pixel limit reaches every image read: train (before the first epoch), test, calibrate and predict', async () => {
  const limit = 32 * 32 - 1; // the synthetic images are 32 x 32
  const size = /\.png is 32 x 32 = [\d.]+ MP, more than the limit of [\d.]+ MP \(--max-pixels\)/;
  const t = await trainRecording({ ...opts, out: join(dir, 'limited.pflow'), maxPixels: limit });
  assert.match(t.error?.message ?? '', size);
  assert.ok(!t.kinds.includes('start') && !t.kinds.includes('epoch'), `refused before the first epoch: ${t.kinds.join(',')}`);
  assert.equal(existsSync(join(dir, 'limited.pflow')), false);
  await assert.rejects(evaluateModel({ model, data, category: 'fabric', maxPixels: limit }), size);
  await assert.rejects(calibrate({ model, good, maxPixels: limit }), size);
  const results = await predict({ model, inputs: [good], maxPixels: limit });
  assert.equal(results.length, 3);
  for (const r of results) assert.equal(r.error?.code, 'E_TOO_MANY_PIXELS');
  await assert.rejects(predict({ model, inputs: [good], maxPixels: 0 }), /--max-pixels must be >= 1 \(got 0\)/);
  // and the limit lets them through when they fit
  assert.ok((await predict({ model, inputs: [good], maxPixels: 32 * 32 })).every((r) => !r.error));
});

test('predict: one truncated image fails alone; each result is handed over as soon as it is done; no maps unless asked', async () => {
  const imgs = join(dir, 'imgs');
  mkdirSync(imgs);
  for (const name of readdirSync(good)) copyFileSync(join(good, name), join(imgs, name));
  writeFileSync(join(imgs, '001b.png'), readFileSync(join(good, '001.png')).subarray(0, 300)); // truncated
  const out = join(dir, 'pictures');
  const seen: PredictResult[] = [];
  // One image a batch: then each result is handed over before the next image is judged (a batch's
  // results arrive together, in order: test/api/predict-batch.test.ts).
  const results = await predict({ model, inputs: [imgs], out, inferenceBatch: 1 }, (r) => {
    // streamed: when an image's result arrives, the next image's pictures are not written yet
    const index = seen.length;
    const next = ['000', '001', '001b', '002'][index + 1];
    if (next) assert.equal(existsSync(join(out, `${next}_heatmap.png`)), false, `result ${index} came before image ${index + 1} was done`);
    seen.push(r);
  });
  assert.equal(results.length, 4);
  assert.deepEqual(seen, results, 'every result, in input order');
  assert.deepEqual(
    results.map((r) => r.file),
    ['000.png', '001.png', '001b.png', '002.png'].map((f) => join(imgs, f)),
  );
  const failed = results[2]!;
  assert.equal(failed.error?.code, 'E_INPUT');
  assert.match(failed.error?.message ?? '', /001b\.png.*truncated or corrupt/);
  assert.equal('verdict' in failed, false, 'a failed image has no verdict');
  for (const r of [results[0]!, results[1]!, results[3]!]) {
    assert.ok(!r.error);
    assert.ok(r.verdict === 'good' || r.verdict === 'defect');
    assert.equal('map' in r, false, 'no map kept');
    assert.ok(r.pictures && existsSync(r.pictures.heatmap));
  }
  const kept = await predict({ model, inputs: [join(imgs, '000.png')], keepMaps: true });
  const first = kept[0]!;
  assert.ok(!first.error);
  assert.equal(first.map?.length, first.width * first.height);
});

test('predict: an image whose score is not finite is a failure (E_NOT_JUDGED), never good', async () => {
  const odd = join(dir, 'odd.png');
  await sharp({ create: { width: 40, height: 40, channels: 3, background: '#808080' } })
    .png()
    .toFile(odd);
  // The detector's one place where maps are made (a batch, or each image alone): the flat grey
  // image's map (every value of its first channel equal) is made NaN, as a diverged model's would be.
  type MapsSeam = { mapsEachOrAll(inputs: readonly Float32Array[]): Array<Float32Array | { error: unknown }> };
  const seam = Detector.prototype as unknown as MapsSeam;
  const original = seam.mapsEachOrAll;
  seam.mapsEachOrAll = function (this: Detector, inputs) {
    const maps = original.call(this, inputs);
    inputs.forEach((input, i) => {
      const plane = input.subarray(0, input.length / 3);
      if (plane.every((v) => v === plane[0])) (maps[i] as Float32Array).fill(NaN);
    });
    return maps;
  };
  try {
    const results = await predict({ model, inputs: [odd, join(good, '000.png')] });
    assert.equal(results[0]!.error?.code, 'E_NOT_JUDGED');
    assert.match(results[0]!.error?.message ?? '', /odd\.png: the anomaly score is (NaN|-?Infinity); the image could not be judged/);
    assert.ok(!results[1]!.error, 'the next image is still judged');
  } finally {
    seam.mapsEachOrAll = original;
  }
});

test('predict --out: never overwrites a file that is not a PNG, nor an input image; checked before any image is scored', async () => {
  const out = join(dir, 'pred-out');
  mkdirSync(out);
  const mine = join(out, '000_heatmap.png');
  writeFileSync(mine, 'not a picture: my notes\n');
  let called = 0;
  await assert.rejects(
    predict({ model, inputs: [good], out }, () => called++),
    { message: `${mine} exists and is not a PNG image; refusing to overwrite it: move it or choose another --out folder` },
  );
  assert.equal(called, 0, 'no image was scored');
  assert.equal(readFileSync(mine, 'utf8'), 'not a picture: my notes\n');
  assert.deepEqual(readdirSync(out), ['000_heatmap.png'], 'nothing written');

  // PNGs of an earlier run are replaced
  rmSync(mine);
  const first = await predict({ model, inputs: [good], out });
  const again = await predict({ model, inputs: [good], out });
  const heatmapOf = (r: PredictResult): Buffer => {
    assert.ok(!r.error && r.pictures, r.error?.message);
    return readFileSync(r.pictures.heatmap);
  };
  assert.ok(again.every((r) => !r.error));
  assert.deepEqual(heatmapOf(again[0]!), heatmapOf(first[0]!));

  // an input image named like a picture of another input
  const mixed = join(dir, 'mixed');
  mkdirSync(mixed);
  copyFileSync(join(good, '000.png'), join(mixed, 'a.png'));
  copyFileSync(join(good, '001.png'), join(mixed, 'a_heatmap.png'));
  await assert.rejects(predict({ model, inputs: [mixed], out: mixed }), /a_heatmap\.png is one of the input images; refusing to write a picture over it/);

  // --out naming a file
  const file = join(dir, 'out-file.txt');
  writeFileSync(file, 'x');
  await assert.rejects(predict({ model, inputs: [good], out: file }), { message: `${file} is not a folder: --out names the folder the pictures go to` });
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

test('a configuration that cannot fit in memory is refused before any image is read, naming what reduces it', async () => {
  const out = join(dir, 'huge.pflow');
  const t0 = Date.now();
  await assert.rejects(
    train({ ...opts, out, size: 16384, epochs: 1 }),
    (e: Error & { code?: string }) => e.code === 'E_MEMORY' && /needs about .* GB/.test(e.message) && /--size/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 10_000, 'refused at once');
  assert.equal(existsSync(out), false, 'nothing written');
});
