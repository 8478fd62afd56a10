/** Bad input gets a 4xx JSON error `{ error: { code, message } }`, and the server keeps serving. */
import { PyramidFlowError } from '../../src/util/errors.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testImage } from './fake-detector.js';
import { getJson, postBytes, readReply, startFakeServer, type FakeServer, type JsonReply } from './harness.js';

const MAX_BYTES = 64 * 1024;
const MAX_PIXELS = 100 * 100;

let server: FakeServer;
let png: Buffer;
before(async () => {
  server = await startFakeServer({ maxBytes: MAX_BYTES, maxPixels: MAX_PIXELS });
  png = await testImage(64, 64);
});
after(() => server.close());

const predictUrl = (): string => `${server.url}/v1/models/fake/predict`;

async function assertError(r: JsonReply, status: number, code: string): Promise<void> {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
  assert.ok(r.body.error.message.length > 10, 'a message a user can act on');
  // And the server still answers, predictions included.
  const health = await getJson(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'ok');
  assert.equal((await postBytes(predictUrl(), png)).status, 200);
}

test('bytes that are not an image are refused with 415', async () => {
  await assertError(await postBytes(predictUrl(), Buffer.from('this is not an image at all')), 415, 'E_NOT_IMAGE');
  await assertError(await postBytes(predictUrl(), Buffer.from('GIF89a\x01\x00\x01\x00'), 'image/gif'), 415, 'E_NOT_IMAGE');
});

test('non-image content types are refused with 415', async () => {
  await assertError(await postBytes(predictUrl(), Buffer.from('{"image": 1}'), 'application/json'), 415, 'E_NOT_IMAGE');
  await assertError(await postBytes(predictUrl(), Buffer.from('hello'), 'text/plain'), 415, 'E_NOT_IMAGE');
  await assertError(await postBytes(predictUrl(), Buffer.from('<x/>'), 'application/xml'), 415, 'E_UNSUPPORTED_MEDIA_TYPE');
});

test('a truncated image is refused with 400, whether its header or its pixels are cut', async () => {
  const noise = await testImage(64, 64, 'jpeg');
  await assertError(await postBytes(predictUrl(), png.subarray(0, 20)), 400, 'E_BAD_IMAGE');
  const cut = await postBytes(predictUrl(), noise.subarray(0, Math.floor(noise.length / 2)), 'image/jpeg');
  assert.equal(cut.status, 400, JSON.stringify(cut.body));
  await assertError(cut, 400, cut.body.error.code);
});

test('a body over maxBytes is refused with 413, raw or multipart', async () => {
  const big = Buffer.concat([png, Buffer.alloc(MAX_BYTES)]);
  await assertError(await postBytes(predictUrl(), big), 413, 'E_TOO_LARGE');
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(big)], { type: 'image/png' }), 'big.png');
  await assertError(await readReply(await fetch(predictUrl(), { method: 'POST', body: form })), 413, 'E_TOO_LARGE');
});

test('non-finite thresholds are refused with 400 naming the parameter', async () => {
  const cases = [
    'threshold=Infinity',
    'threshold=1e999',
    'threshold=-Infinity',
    'pixel_threshold=-Infinity',
    'pixel_threshold=NaN',
    'pixel_threshold=1e999',
    'min_area=1e999',
  ];
  for (const query of cases) {
    const name = query.split('=')[0]!;
    const r = await postBytes(`${predictUrl()}?${query}`, png);
    await assertError(r, 400, 'E_BAD_REQUEST');
    assert.match(r.body.error.message, new RegExp(`\\b${name}\\b`), query);
  }
  // Large finite values stay allowed.
  assert.equal((await postBytes(`${predictUrl()}?threshold=1e300&pixel_threshold=-1e300`, png)).status, 200);
});

test('an image over maxPixels is refused with 413 before it is decoded', async () => {
  const before = server.loader.latest('/models/fake.pfm').started;
  await assertError(await postBytes(predictUrl(), await testImage(101, 100)), 413, 'E_TOO_MANY_PIXELS');
  // Only assertError's own follow-up prediction reached the detector.
  assert.equal(server.loader.latest('/models/fake.pfm').started, before + 1);
});

test('an empty body is refused with 400, with or without a content type, and an empty form too', async () => {
  await assertError(await postBytes(predictUrl(), new Uint8Array(0)), 400, 'E_EMPTY_BODY');
  await assertError(await postBytes(predictUrl(), new Uint8Array(0), null), 400, 'E_EMPTY_BODY');
  const form = new FormData();
  form.append('note', 'no file here');
  await assertError(await readReply(await fetch(predictUrl(), { method: 'POST', body: form })), 400, 'E_EMPTY_BODY');
});

test('a URL with a malformed %-escape is refused with 400 in our error shape', async () => {
  await assertError(await getJson(`${server.url}/v1/models/%E0%A4%A`), 400, 'E_BAD_URL');
});

test('an unknown model is 404 and the message names the models there are', async () => {
  const r = await postBytes(`${server.url}/v1/models/nope/predict`, png);
  await assertError(r, 404, 'E_UNKNOWN_MODEL');
  assert.match(r.body.error.message, /fake/);
});

test('an image the model could not judge is a 500 with the reason, never a verdict', async () => {
  const detector = server.loader.latest('/models/fake.pfm');
  detector.failWith = new PyramidFlowError('request body: the anomaly score is NaN; the image could not be judged', 'E_NOT_JUDGED');
  try {
    const r = await postBytes(predictUrl(), png);
    assert.equal(r.status, 500);
    assert.equal(r.body.error.code, 'E_NOT_JUDGED');
    assert.match(r.body.error.message, /could not be judged/);
    assert.equal(r.body.verdict, undefined);
  } finally {
    detector.failWith = null;
  }
});

test('a detector that crashes gives a 500 without details, logs the stack, and the next request works', async () => {
  const detector = server.loader.latest('/models/fake.pfm');
  detector.failWith = new Error('kernel exploded');
  try {
    const r = await postBytes(predictUrl(), png);
    assert.equal(r.status, 500);
    assert.equal(r.body.error.code, 'E_INTERNAL');
    assert.doesNotMatch(r.body.error.message, /exploded/);
  } finally {
    detector.failWith = null;
  }
  assert.ok(server.logs.some((l) => l.includes('kernel exploded')));
  await assertError(await postBytes(`${server.url}/v1/models/nope/predict`, png), 404, 'E_UNKNOWN_MODEL');
});
