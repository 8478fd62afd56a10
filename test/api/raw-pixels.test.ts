/**
 * ImageDetector.predictImage takes raw pixel buffers as camera software hands them over
 * (`{ width, height, channels: 1 | 3 | 4, data }`, interleaved, 8-bit) as well as encoded files:
 * the same pixels give the same map and score through a real tiny model; bad buffers are refused
 * in words.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDetector, synth, train, type ImageDetector, type RawImage } from '../../src/api/index.js';
import { encodePng } from '../../src/data/png.js';
import { PyramidFlowError } from '../../src/util/errors.js';

let dir: string;
let detector: ImageDetector;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pf-raw-'));
  const data = join(dir, 'data');
  await synth({ out: data, categories: ['fabric'], size: 32, train: 8, testGood: 1, testDefect: 1, seed: 9 });
  const model = join(dir, 'm.pflow');
  await train({ data, category: 'fabric', out: model, size: 32, channels: 4, kernel: 3, levels: 3, stacks: 1, epochs: 1, batch: 2, threads: 1 });
  detector = await loadDetector(model, { threads: 1 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Seeded pixels with some structure (not square, not the model's size: the resize runs too). */
function pixels(width: number, height: number, channels: number, seed: number): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s >>> 24) ^ ((i / channels) % width);
  }
  return data;
}

async function samePrediction(raw: RawImage, encoded: Uint8Array): Promise<void> {
  const a = await detector.predictImage(raw);
  const b = await detector.predictImage(encoded);
  assert.equal(a.width, raw.width);
  assert.equal(a.height, raw.height);
  assert.equal(a.score, b.score);
  assert.equal(a.verdict, b.verdict);
  assert.deepEqual(a.regions, b.regions);
  assert.deepEqual(a.map, b.map);
}

test('a raw RGB buffer and the PNG of the same pixels give identical maps and scores', async () => {
  const raw: RawImage = { width: 45, height: 29, channels: 3, data: pixels(45, 29, 3, 1) };
  await samePrediction(raw, await encodePng(raw));
  // A Node Buffer is raw too when it comes with its size: only a bare Uint8Array is a file's bytes.
  const again = await detector.predictImage({ ...raw, data: Buffer.from(raw.data) });
  assert.deepEqual(again.map, (await detector.predictImage(raw)).map);
});

test('grey and RGBA buffers: grey replicated, alpha dropped as the decoder does', async () => {
  const grey: RawImage = { width: 33, height: 40, channels: 1, data: pixels(33, 40, 1, 2) };
  await samePrediction(grey, await encodePng(grey));
  const rgba: RawImage = { width: 20, height: 24, channels: 4, data: pixels(20, 24, 4, 3) };
  await samePrediction(rgba, await encodePng(rgba));
  const rgb = new Uint8Array(20 * 24 * 3);
  for (let i = 0; i < 20 * 24; i++) rgb.set(rgba.data.subarray(4 * i, 4 * i + 3), 3 * i);
  assert.deepEqual((await detector.predictImage(rgba)).map, (await detector.predictImage({ width: 20, height: 24, channels: 3, data: rgb })).map);
  const named = await detector.predictImage(grey, { fileName: 'camera-1' });
  assert.equal(named.file, 'camera-1');
});

test('bad raw buffers are refused in words: size mismatch, channels, sizes, data type', async () => {
  const refused = async (input: unknown, message: RegExp, fileName?: string): Promise<void> => {
    await assert.rejects(detector.predictImage(input as RawImage, { fileName }), (err: unknown) => {
      assert.ok(err instanceof PyramidFlowError, String(err));
      assert.match(err.message, message);
      return true;
    });
  };
  await refused(
    { width: 4, height: 3, channels: 3, data: new Uint8Array(35) },
    /^raw image: 4 x 3 pixels of 3 channel\(s\) take 36 bytes, but data holds 35 \(interleaved 8-bit values, rows without padding\)$/,
  );
  await refused({ width: 4, height: 3, channels: 3, data: new Uint8Array(48) }, /^cam0: .*take 36 bytes, but data holds 48/, 'cam0');
  await refused({ width: 4, height: 3, channels: 2, data: new Uint8Array(24) }, /channels must be 1 \(grey\), 3 \(RGB\) or 4 \(RGBA\) \(got 2\)/);
  await refused({ width: 0, height: 3, channels: 1, data: new Uint8Array(0) }, /width must be a whole number of pixels, at least 1 \(got 0\)/);
  await refused({ width: 4, height: 2.5, channels: 1, data: new Uint8Array(10) }, /height must be a whole number/);
  await refused({ width: 4, height: 3, channels: 1, data: [1, 2, 3] }, /data must be a Uint8Array \(or Buffer\) of 8-bit values \(got an array\)/);
  await refused({ width: 4, height: 3, channels: 1, data: new Float32Array(12) }, /data must be a Uint8Array .*\(got a Float32Array\)/);
  await refused({ width: 100_000, height: 100_000, channels: 1, data: new Uint8Array(1) }, /100000 x 100000 = .* more than the limit/);
  await refused(
    new ArrayBuffer(8),
    /expected an encoded image \(Uint8Array or Buffer\) or raw pixels .*\(got an ArrayBuffer \(wrap it: new Uint8Array\(buffer\)\)\)/,
  );
  await refused('frame.png', /expected an encoded image/);
});
