/**
 * `predict` on a folder in batches (`inferenceBatch`), against the independent truth of the
 * detector judging each decoded image alone: the same maps (to 1e-5), scores, verdicts and
 * regions, results in file order, and a file that cannot be read in the middle of a batch is
 * its own error without shifting or changing its neighbours' results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predict, type PredictResult } from '../../src/api/index.js';
import { imagesPerBatch } from '../../src/api/predict.js';
import type { PredictedImage } from '../../src/api/types.js';
import { saveModelFile } from '../../src/api/model-files.js';
import { ensureBackend } from '../../src/api/runtime.js';
import { encodePng, readImage } from '../../src/data/image.js';
import { planarToInterleaved } from '../../src/data/pixels.js';
import { randomImages, syntheticDetector } from '../export/onnx-fixture.js';

await ensureBackend(2);
const dir = mkdtempSync(join(tmpdir(), 'pf-predict-batch-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// A 7x7 network at 64 x 64 (its convolutions may take other FFT tiles in a batch than alone)
const detector = syntheticDetector({ size: 64, channels: 8, kernel: 7, levels: 3 }, 11);
const model = join(dir, 'm.pflow');
saveModelFile(model, detector.saved);
const folder = join(dir, 'images');
mkdirSync(folder);
const BROKEN = 3;
const files: string[] = [];
const images = [...randomImages(5, 64, 64, 5), ...randomImages(2, 48, 80, 6)];
for (const [i, img] of images.entries()) {
  const file = join(folder, `${String(i).padStart(2, '0')}.png`);
  const png = await encodePng({ width: img.width, height: img.height, channels: 3, data: planarToInterleaved(img) });
  // One file cut short, in the middle of the first batch of 4
  writeFileSync(file, i === BROKEN ? png.subarray(0, 60) : png);
  files.push(file);
}

/** The truth: each file decoded and judged alone by the detector. */
const alone = await Promise.all(
  files.map(async (file, i) =>
    i === BROKEN ? undefined : detector.predict(await readImage(file), { fileName: file, pixelThreshold: detector.thresholds.pixel * 0.5 }),
  ),
);

/** The cut file's error when it is read alone. */
const brokenAlone = await readImage(files[BROKEN]!).then(
  () => 'read',
  (e: Error) => e.message,
);

function assertAsAlone(results: PredictResult[], what: string): void {
  assert.deepEqual(
    results.map((r) => r.file),
    files,
    `${what}: results in file order`,
  );
  const broken = results[BROKEN]!;
  assert.ok(broken.error, `${what}: the cut file has a verdict`);
  assert.equal(broken.error.code, 'E_INPUT');
  assert.equal(broken.error.message, brokenAlone, `${what}: the cut file's error in its own words`);
  for (const [i, r] of results.entries()) {
    if (i === BROKEN) continue;
    const truth = alone[i]!;
    assert.equal(r.error, undefined, `${what} ${i}: ${r.error?.message}`);
    const got = r as PredictedImage;
    let d = 0;
    for (let p = 0; p < truth.map.length; p++) d = Math.max(d, Math.abs(got.map![p]! - truth.map[p]!));
    assert.ok(d <= 1e-5, `${what} ${i}: maps differ by ${d}`);
    assert.ok(Math.abs(got.score - truth.score) <= 1e-5, `${what} ${i}: score`);
    assert.equal(got.verdict, truth.verdict);
    assert.deepEqual(
      got.regions.map(({ peak, ...box }) => box),
      truth.regions.map(({ peak, ...box }) => box),
    );
  }
}

test('predict in batches of 4, 1 and auto: each image as judged alone, a cut file its own error', async () => {
  assert.ok(
    alone.some((p) => p && p.regions.length > 0),
    'some regions are found',
  );
  for (const inferenceBatch of [4, 1, 'auto'] as const) {
    const printed: PredictResult[] = [];
    const results = await predict(
      { model, inputs: [folder], inferenceBatch, keepMaps: true, pixelThreshold: detector.thresholds.pixel * 0.5, threads: 2 },
      (r) => printed.push(r),
    );
    assert.deepEqual(printed, results, 'onResult gets every result, in order');
    assertAsAlone(results, `batch ${inferenceBatch}`);
  }
});

test('predict in batches with pictures: written for every judged image, none for the cut file', async () => {
  const out = join(dir, 'pictures');
  const results = await predict({ model, inputs: [folder], inferenceBatch: 3, out, keepMaps: true, pixelThreshold: detector.thresholds.pixel * 0.5 });
  assertAsAlone(results, 'with pictures');
  for (const [i, r] of results.entries()) {
    const stem = join(out, `${String(i).padStart(2, '0')}`);
    for (const kind of ['heatmap', 'overlay', 'outline']) assert.equal(existsSync(`${stem}_${kind}.png`), i !== BROKEN, `${stem}_${kind}.png`);
    if (i !== BROKEN) assert.deepEqual((r as PredictedImage).pictures?.heatmap, `${stem}_heatmap.png`);
  }
});

test('predict: --batch is checked as the table says (a whole number >= 1, or auto)', async () => {
  await assert.rejects(predict({ model, inputs: [folder], inferenceBatch: 0 }), /--batch must be >= 1 \(got 0\)/);
  await assert.rejects(predict({ model, inputs: [folder], inferenceBatch: 2.5 }), /--batch must be a whole number/);
});

test('predict: batches of large photos are smaller (their decoded pixels and maps take memory), at least one image', () => {
  assert.equal(imagesPerBatch(8, 256 * 256), 8);
  assert.equal(imagesPerBatch(8, 2048 * 2048), 8);
  assert.equal(imagesPerBatch(8, 4000 * 3000), 3);
  assert.equal(imagesPerBatch(8, 40e6), 1);
  assert.equal(imagesPerBatch(1, 64), 1);
});
