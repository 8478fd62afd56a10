/** The JSON API with a fake detector: predictions, pictures, one-time URLs, models, health. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import sharp from 'sharp';
import { FAKE_THRESHOLDS, testImage } from './fake-detector.js';
import { FAKE_FILE, getJson, postBytes, startFakeServer, type FakeServer } from './harness.js';

let server: FakeServer;
let png: Buffer;
before(async () => {
  server = await startFakeServer();
  png = await testImage(64, 48);
});
after(() => server.close());

const predictUrl = (query = ''): string => `${server.url}/v1/models/fake/predict${query}`;

function pngFromDataUrl(url: unknown): Buffer {
  assert.equal(typeof url, 'string');
  const m = /^data:image\/png;base64,(.+)$/.exec(url as string);
  assert.ok(m, 'a PNG data URL');
  return Buffer.from(m[1]!, 'base64');
}

test('a raw PNG body gets the score, verdict, thresholds and regions of the model', async () => {
  const r = await postBytes(predictUrl(), png);
  assert.equal(r.status, 200);
  assert.equal(r.body.model, 'fake');
  assert.equal(r.body.score, 1); // the bright square
  assert.equal(r.body.normalized_score, 1);
  assert.equal(r.body.verdict, 'defect');
  assert.deepEqual(r.body.thresholds, { image: FAKE_THRESHOLDS.image, pixel: FAKE_THRESHOLDS.pixel });
  assert.equal(r.body.width, 64);
  assert.equal(r.body.height, 48);
  assert.equal(r.body.regions.length, 2); // grey (0.6) and bright squares are both above 0.5
  assert.equal(typeof r.body.elapsed_ms, 'number');
  assert.ok(r.body.elapsed_ms >= 0);
  assert.equal(r.body.heatmap, undefined);
  assert.equal(r.body.map, undefined);
});

test('query thresholds override the model: a higher pixel threshold leaves one region', async () => {
  const r = await postBytes(predictUrl('?pixel_threshold=0.8&threshold=1'), png);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.thresholds, { image: 1, pixel: 0.8 });
  assert.equal(r.body.regions.length, 1);
  assert.equal(r.body.verdict, 'good'); // 1 is not above 1
});

test('JPEG and TIFF bodies, octet-stream and content types with parameters are accepted', async () => {
  for (const format of ['jpeg', 'tiff'] as const) {
    const r = await postBytes(predictUrl(), await testImage(32, 32, format), `image/${format}`);
    assert.equal(r.status, 200, format);
    assert.equal(r.body.width, 32);
  }
  for (const type of ['application/octet-stream', 'image/png; charset=binary', 'IMAGE/PNG']) {
    assert.equal((await postBytes(predictUrl(), png, type)).status, 200, type);
  }
});

test('a multipart upload with one file field predicts like a raw body', async () => {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'part.png');
  const res = await fetch(predictUrl(), { method: 'POST', body: form });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.score, 1);
  assert.equal(body.width, 64);
});

test('?heatmap=png&mask=png add the pictures inline as PNG data URLs at the image size', async () => {
  const r = await postBytes(predictUrl('?heatmap=png&mask=png'), png);
  assert.equal(r.status, 200);
  for (const key of ['heatmap', 'mask']) {
    const meta = await sharp(pngFromDataUrl(r.body[key])).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 64);
    assert.equal(meta.height, 48);
  }
  // The mask is white exactly where the map is above the pixel threshold.
  const mask = await sharp(pngFromDataUrl(r.body.mask)).greyscale().raw().toBuffer();
  const whites = mask.reduce((n, v) => n + (v > 127 ? 1 : 0), 0);
  assert.equal(
    whites,
    r.body.regions.reduce((n: number, reg: { area: number }) => n + reg.area, 0),
  );
});

test('?pictures=url gives one-time URLs: served once as PNG, then 404', async () => {
  const r = await postBytes(predictUrl('?heatmap=png&mask=png&pictures=url'), png);
  assert.equal(r.status, 200);
  assert.match(r.body.heatmap, /^\/v1\/results\/[\w-]+\/heatmap\.png$/);
  assert.match(r.body.mask, /^\/v1\/results\/[\w-]+\/mask\.png$/);
  const first = await fetch(server.url + r.body.heatmap);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('content-type'), 'image/png');
  assert.equal((await sharp(Buffer.from(await first.arrayBuffer())).metadata()).width, 64);
  const again = await fetch(server.url + r.body.heatmap);
  assert.equal(again.status, 404);
  assert.equal((await again.json()).error.code, 'E_NOT_FOUND');
  assert.equal((await fetch(server.url + r.body.mask)).status, 200); // the other picture is still there once
  assert.equal((await fetch(`${server.url}/v1/results/nope/heatmap.png`)).status, 404);
});

test('?map=json gives the max-pooled anomaly map the page thresholds', async () => {
  const r = await postBytes(predictUrl('?map=json&map_size=16'), png);
  assert.equal(r.status, 200);
  assert.equal(r.body.map.width, 16);
  assert.equal(r.body.map.height, 12);
  assert.equal(r.body.map.values.length, 16 * 12);
  assert.equal(Math.max(...r.body.map.values), r.body.score);
});

test('unknown or malformed query parameters are refused with 400', async () => {
  for (const query of ['?heatmap=jpg', '?heatmaps=png', '?threshold=abc', '?map_size=2']) {
    const r = await postBytes(predictUrl(query), png);
    assert.equal(r.status, 400, query);
    assert.equal(r.body.error.code, 'E_BAD_REQUEST', query);
  }
});

test('GET /v1/models lists name, file base name (never the path), configuration and thresholds', async () => {
  const r = await getJson(`${server.url}/v1/models`);
  assert.equal(r.status, 200);
  assert.equal(r.body.models.length, 1);
  const m = r.body.models[0];
  assert.equal(m.name, 'fake');
  assert.equal(m.file, basename(FAKE_FILE));
  assert.ok(!r.text.includes(dirname(FAKE_FILE)), r.text);
  assert.equal(m.config.width, 64);
  assert.equal(m.thresholds.pixel, FAKE_THRESHOLDS.pixel);
  assert.ok(!Number.isNaN(Date.parse(m.loaded_at)));
  assert.deepEqual((await getJson(`${server.url}/v1/models/fake`)).body, m);
  assert.equal((await getJson(`${server.url}/v1/models/other`)).status, 404);
});

test('GET /healthz answers ok with the queue state; unknown routes are JSON 404s', async () => {
  const r = await getJson(`${server.url}/healthz`);
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.deepEqual(r.body.models, ['fake']);
  assert.deepEqual(r.body.queue, { active: 0, waiting: 0, concurrency: 1, max_waiting: 16 });
  const missing = await getJson(`${server.url}/nowhere`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'E_NOT_FOUND');
});

test('GET /metrics counts predictions by model and status in Prometheus text', async () => {
  await postBytes(predictUrl(), png);
  await postBytes(`${server.url}/v1/models/ghost/predict`, png);
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const count = (re: RegExp): number => Number(re.exec(text)?.[1]);
  const ok = count(/^pyramidflow_requests_total\{model="fake",status="200"\} (\d+)$/m);
  assert.ok(ok >= 1);
  assert.equal(count(/^pyramidflow_requests_total\{model="\(unknown\)",status="404"\} (\d+)$/m), 1);
  const histogramCount = count(/^pyramidflow_request_duration_seconds_count\{model="fake"\} (\d+)$/m);
  const allFake = [...text.matchAll(/^pyramidflow_requests_total\{model="fake",status="\d+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  assert.equal(histogramCount, allFake);
  assert.match(text, /^pyramidflow_queue_length 0$/m);
  assert.ok(count(/^pyramidflow_errors_total\{code="E_UNKNOWN_MODEL"\} (\d+)$/m) >= 1);
});

test('GET / serves the self-contained page with a strict content security policy', async () => {
  const res = await fetch(`${server.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'sha256-/);
  const html = await res.text();
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//); // no external assets
  assert.match(html, /id="threshold"/);
});
