/**
 * Batched inference (Detector.predictBatch, anomalyMaps with a batch) against the independent
 * truth of one image at a time: every image's map, score, verdict and regions are those it gets
 * alone (to 1e-5; the kernels may pick other FFT tiles for another batch size), and an image
 * that cannot be judged fails alone, wherever it sits in the batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBackend } from '../../src/api/runtime.js';
import { anomalyMaps, autoInferenceBatch, AUTO_BATCH_MAX, maxOf } from '../../src/detect/inference.js';
import type { Detector } from '../../src/detect/detector.js';
import type { ImagePrediction } from '../../src/detect/types.js';
import { normalizeImage, type DecodedImage } from '../../src/data/pixels.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import type { Tensor } from '../../src/tensor/index.js';
import { randomImages, syntheticDetector } from '../export/onnx-fixture.js';

await ensureBackend(2); // the WebAssembly kernels on two threads: batches split their work otherwise than single images

/** Two networks: a small 3x3 one, and a 7x7 one at 64 x 64 whose convolutions may go by FFT tiles (chosen per batch size). */
const DETECTORS: Array<[string, () => Detector]> = [
  ['k3 L3 32x32', () => syntheticDetector({ size: 32, channels: 4, kernel: 3, levels: 3 })],
  ['k7 L3 64x64', () => syntheticDetector({ size: 64, channels: 8, kernel: 7, levels: 3 }, 11)],
];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** The prediction a batch gave equals the one the image gets alone (maps and scores to 1e-5). */
function assertSamePrediction(got: ImagePrediction, alone: ImagePrediction, what: string): void {
  const d = maxAbsDiff(got.map, alone.map);
  assert.ok(d <= 1e-5, `${what}: maps differ by ${d}`);
  assert.ok(Math.abs(got.score - alone.score) <= 1e-5, `${what}: score ${got.score} alone ${alone.score}`);
  assert.equal(got.verdict, alone.verdict, what);
  // region boxes exactly, their peaks (map values) to 1e-5
  const boxes = (p: ImagePrediction) => p.regions.map(({ peak, ...box }) => box);
  assert.deepEqual(boxes(got), boxes(alone), what);
  got.regions.forEach((r, k) => assert.ok(Math.abs(r.peak - alone.regions[k]!.peak) <= 1e-5, `${what}: region ${k} peak`));
  assert.deepEqual([got.file, got.width, got.height], [alone.file, alone.width, alone.height], what);
}

/** Images of the model's size and two of other sizes (resized as training images are). */
function mixedImages(size: number, seed: number): DecodedImage[] {
  const own = randomImages(5, size, size, seed);
  return [own[0]!, own[1]!, ...randomImages(1, size + 8, size - 8, seed + 1), own[2]!, ...randomImages(1, size / 2, size, seed + 2), own[3]!, own[4]!];
}

for (const [name, make] of DETECTORS) {
  test(`predictBatch: every image gets the prediction it gets alone (${name})`, () => {
    const detector = make();
    const size = detector.config.height;
    const images = mixedImages(size, 3);
    const opts = images.map((_, i) => ({ fileName: `img${i}.png`, minArea: 1, pixelThreshold: detector.thresholds.pixel * 0.5 }));
    const alone = images.map((img, i) => detector.predict(img, opts[i]));
    const outcomes = detector.predictBatch(images, opts);
    assert.equal(outcomes.length, images.length);
    outcomes.forEach((o, i) => {
      assert.equal(o.error, undefined, `image ${i}: ${String(o.error)}`);
      assertSamePrediction(o.prediction!, alone[i]!, `${name} image ${i}`);
    });
    // Not a vacuous check: the images' maps differ from each other, and some regions are found
    assert.ok(maxAbsDiff(alone[0]!.map, alone[1]!.map) > 1e-3);
    assert.ok(
      alone.some((p) => p.regions.length > 0),
      'no regions at half the pixel threshold',
    );
  });

  test(`predictBatch: an image that cannot be judged fails alone, in the middle of a batch (${name})`, () => {
    const detector = make();
    const size = detector.config.height;
    const good = randomImages(4, size, size, 21);
    const broken: DecodedImage = { width: size, height: size, rgb: new Uint8Array(size * size) }; // one plane of three
    const images = [good[0]!, good[1]!, broken, good[2]!, good[3]!];
    const opts = images.map((_, i) => ({ fileName: `part-${i}.png` }));
    const outcomes = detector.predictBatch(images, opts);
    const error = outcomes[2]!.error;
    assert.ok(error instanceof PyramidFlowError && error.code === 'E_NOT_JUDGED', `the broken image: ${String(error)}`);
    assert.match((error as Error).message, /^part-2\.png: /);
    assert.equal(outcomes[2]!.prediction, undefined);
    for (const i of [0, 1, 3, 4]) {
      assert.equal(outcomes[i]!.error, undefined);
      assertSamePrediction(outcomes[i]!.prediction!, detector.predict(images[i]!, opts[i]), `${name} neighbour ${i}`);
    }
  });

  test(`anomalyMaps: an image of NaN in a batch spoils its own map only (${name})`, () => {
    const detector = make();
    const size = detector.config.height;
    const inputs = randomImages(3, size, size, 31).map(normalizeImage);
    inputs.splice(1, 0, new Float32Array(3 * size * size).fill(Number.NaN));
    const batched = anomalyMaps(detector.model, detector.template as Tensor[], inputs, inputs.length);
    assert.ok(Number.isNaN(maxOf(batched[1]!)), 'the NaN image has a score');
    for (const i of [0, 2, 3]) {
      const alone = anomalyMaps(detector.model, detector.template as Tensor[], [inputs[i]!], 1)[0]!;
      assert.ok(Number.isFinite(maxOf(batched[i]!)), `neighbour ${i} is not finite`);
      const d = maxAbsDiff(batched[i]!, alone);
      assert.ok(d <= 1e-5, `neighbour ${i}: maps differ by ${d}`);
    }
  });
}

test('predictBatch: a batch that fails as a whole (out of memory) is judged one image at a time', () => {
  const detector = DETECTORS[1]![1]();
  const images = randomImages(3, 64, 64, 41);
  const alone = images.map((img) => detector.predict(img));
  const forward = detector.model.forward.bind(detector.model);
  let refused = 0;
  detector.model.forward = (x: Tensor): Tensor[] => {
    if (x.dim(0) > 1) {
      refused++;
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    }
    return forward(x);
  };
  const outcomes = detector.predictBatch(images);
  assert.equal(refused, 1);
  outcomes.forEach((o, i) => assertSamePrediction(o.prediction!, alone[i]!, `image ${i}`));
});

test('maxOf: a map with a NaN pixel has no score (NaN), not the maximum of the others', () => {
  assert.ok(Number.isNaN(maxOf(Float32Array.of(0.5, Number.NaN, 0.7))));
  assert.ok(Number.isNaN(maxOf(Float32Array.of(Number.NaN, 0.5))));
  assert.equal(maxOf(Float32Array.of(0.5, 0.7, -1)), Float32Array.of(0.7)[0]);
  assert.equal(maxOf(new Float32Array(0)), -Infinity);
});

test('autoInferenceBatch: by memory, 1 to AUTO_BATCH_MAX images, fewer for larger models', () => {
  const at = (size: number, channels = 16): number => autoInferenceBatch({ channels, height: size, width: size });
  assert.equal(at(256), AUTO_BATCH_MAX);
  assert.equal(at(32), AUTO_BATCH_MAX);
  assert.equal(at(512), 2);
  assert.equal(at(1024), 1);
  assert.equal(at(4096), 1);
  assert.ok(at(256, 64) < at(256, 16));
});
