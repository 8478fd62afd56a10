/**
 * End to end with the real library: synthesise a small category, train a tiny model, serve it
 * and predict over HTTP. Skipped only while the API's loadDetector is still a 'pending' stub.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDetector, synth, train, type ImageDetector } from '../../src/api/index.js';
import { buildServer } from '../../src/server/index.js';
import type { FastifyInstance } from 'fastify';
import { getJson, postBytes } from './harness.js';
import { ReplyChecker, type Doc } from './openapi-check.js';

async function pendingReason(): Promise<string | false> {
  try {
    await loadDetector(join(tmpdir(), 'pyramidflow-no-such-model.pfm'));
    return false;
  } catch (err) {
    return /pending/.test((err as Error).message) ? 'the API loadDetector is still pending' : false;
  }
}
const skip = await pendingReason();

let dir: string;
let modelFile: string;
let served: string; // a copy of the model, so a test can break it
let app: FastifyInstance;
let url: string;
let direct: ImageDetector;
let defectPng: Buffer;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'pyramidflow-serve-e2e-'));
  await synth({ out: join(dir, 'data'), categories: ['fabric'], size: 32, train: 6, testGood: 1, testDefect: 1 });
  modelFile = join(dir, 'fabric.pfm');
  await train({
    data: join(dir, 'data'),
    category: 'fabric',
    out: modelFile,
    size: 32,
    channels: 4,
    levels: 2,
    stacks: 1,
    epochs: 1,
    batch: 2,
    threads: 1,
    holdout: 0.34,
  });
  served = join(dir, 'served.pfm');
  copyFileSync(modelFile, served);
  app = await buildServer({ models: [{ name: 'fabric', file: served }], threads: 1, log: () => {}, logLevel: 'silent' });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  direct = await loadDetector(modelFile, { threads: 1 });
  defectPng = readFileSync(join(dir, 'data', 'fabric', 'test', 'hole', '000.png'));
});
after(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A 24-bit bottom-up BMP of the same pixels (BMP stores BGR). */
async function toBmp(png: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const row = Math.ceil((info.width * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * info.height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(info.width, 18);
  b.writeInt32LE(info.height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const src = (y * info.width + x) * info.channels;
      const dst = 54 + (info.height - 1 - y) * row + x * 3;
      b[dst] = data[src + 2]!;
      b[dst + 1] = data[src + 1]!;
      b[dst + 2] = data[src]!;
    }
  }
  return b;
}

test('the served model answers like the library does for the same image, PNG or BMP', { skip }, async () => {
  const expected = await direct.predictImage(defectPng, { fileName: 'hole.png' });
  const r = await postBytes(`${url}/v1/models/fabric/predict?heatmap=png&mask=png&map=json`, defectPng);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.score, expected.score);
  assert.equal(r.body.normalized_score, expected.normalizedScore);
  assert.equal(r.body.verdict, expected.verdict);
  assert.deepEqual(r.body.regions, expected.regions);
  assert.equal(r.body.width, 32);
  assert.equal(r.body.thresholds.pixel, direct.info.thresholds!.pixel);
  for (const key of ['heatmap', 'mask']) {
    const png = Buffer.from(String(r.body[key]).split(',')[1]!, 'base64');
    assert.equal((await sharp(png).metadata()).width, 32);
  }
  const bmp = await postBytes(`${url}/v1/models/fabric/predict`, await toBmp(defectPng), 'image/bmp');
  assert.equal(bmp.status, 200, JSON.stringify(bmp.body));
  assert.equal(bmp.body.score, expected.score);
});

test('a truncated image gets 400 from the real decoder and the server keeps serving', { skip }, async () => {
  const r = await postBytes(`${url}/v1/models/fabric/predict`, defectPng.subarray(0, Math.floor(defectPng.length / 2)));
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.match(r.body.error.message, /truncated|corrupt/);
  assert.equal((await getJson(`${url}/healthz`)).status, 200);
  assert.equal((await postBytes(`${url}/v1/models/fabric/predict`, defectPng)).status, 200);
});

test('reload reads the file again; a broken file is refused and the old model keeps serving', { skip }, async () => {
  const ok = await fetch(`${url}/v1/models/fabric/reload`, { method: 'POST' });
  assert.equal(ok.status, 200);
  assert.equal((await getJson(`${url}/v1/models/fabric`)).body.file, 'served.pfm', 'the base name, not the path');
  writeFileSync(served, 'not a model');
  const bad = await fetch(`${url}/v1/models/fabric/reload`, { method: 'POST' });
  assert.equal(bad.status, 500);
  const body = await bad.json();
  assert.equal(body.error.code, 'E_RELOAD_FAILED');
  assert.match(body.error.message, /served\.pfm/);
  assert.ok(!body.error.message.includes(dir), `no server path in the reply: ${body.error.message}`);
  assert.equal((await postBytes(`${url}/v1/models/fabric/predict`, defectPng)).status, 200);
});

test('a real model and its predictions match the API document', { skip }, async () => {
  const checker = new ReplyChecker((await (await fetch(`${url}/openapi.json`)).json()) as Doc);
  const model = await checker.check('GET', '/v1/models/{name}', await fetch(`${url}/v1/models/fabric`));
  assert.equal(model.config.width, 32);
  const predict = (query: string): Promise<Response> =>
    fetch(`${url}/v1/models/fabric/predict${query}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(defectPng) });
  await checker.check('POST', '/v1/models/{name}/predict', await predict('?heatmap=png&mask=png&map=json'));
  await checker.check('POST', '/v1/models/{name}/predict', await predict('?min_area=0&pixel_threshold=0'));
});
