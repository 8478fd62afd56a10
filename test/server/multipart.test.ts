/**
 * Multipart uploads that are malformed or break a limit get a 4xx JSON error on one line and one
 * log line without a stack (a client must not be able to grow the log with stack traces), and a
 * form with two files is refused rather than half used.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testImage } from './fake-detector.js';
import { logEntries, postBytes, readReply, startFakeServer, type FakeServer, type JsonReply } from './harness.js';

const BOUNDARY = 'pyramidflow-test-boundary';
const FORM = `multipart/form-data; boundary=${BOUNDARY}`;

let server: FakeServer;
let png: Buffer;
before(async () => {
  server = await startFakeServer({ maxBytes: 64 * 1024 });
  png = await testImage(32, 32);
});
after(() => server.close());

const predictUrl = (): string => `${server.url}/v1/models/fake/predict`;

interface Part {
  name: string;
  filename?: string;
  body: Buffer | string;
}

/** A multipart body written by hand, so that it can be wrong; `end: false` leaves it unterminated. */
function form(parts: Part[], end = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const file = p.filename === undefined ? '' : `; filename="${p.filename}"\r\nContent-Type: image/png`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"${file}\r\n\r\n`), Buffer.from(p.body), Buffer.from('\r\n'));
  }
  if (end) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

const fields = (n: number): Part[] => Array.from({ length: n }, (_, i) => ({ name: `note${i}`, body: 'x' }));

/** The reply is our one-line JSON error, and the server logged the request on one info line. */
function assertClientError(r: JsonReply, status: number, code: string, label: string): void {
  assert.equal(r.status, status, `${label}: ${r.text}`);
  assert.equal(r.body.error.code, code, label);
  assert.ok(r.body.error.message.length > 10, label);
  assert.doesNotMatch(r.text, /\n/, `${label}: one line`);
  assert.doesNotMatch(r.body.error.message, /^reach |FST_/, `${label}: our own message, not the framework's`);
}

function assertNoStacks(from: number): void {
  const lines = server.logs.slice(from);
  assert.ok(lines.length > 0, 'the requests were logged');
  for (const line of lines) assert.doesNotMatch(line, /\n\s+at |"stack"/, line);
  for (const e of logEntries(lines)) assert.ok(e.level < 50, JSON.stringify(e));
}

test('malformed multipart is refused with 400 E_BAD_MULTIPART and logged without a stack', async () => {
  const from = server.logs.length;
  const started = server.loader.latest('/models/fake.pfm').started;
  const cases: Array<[string, string, Buffer | string]> = [
    ['no boundary', 'multipart/form-data', 'garbage'],
    ['garbage body', FORM, 'this is not a multipart body at all'],
    ['unterminated', FORM, form([{ name: 'image', filename: 'a.png', body: png }], false)],
    ['prototype field name', FORM, form([{ name: '__proto__', filename: 'a.png', body: png }])],
  ];
  for (const [label, type, body] of cases) {
    assertClientError(await postBytes(predictUrl(), Buffer.from(body), type), 400, 'E_BAD_MULTIPART', label);
  }
  assert.equal(server.loader.latest('/models/fake.pfm').started, started, 'nothing reached the detector');
  assertNoStacks(from);
});

test('two files in one request are refused with 400, and neither is predicted', async () => {
  const from = server.logs.length;
  const started = server.loader.latest('/models/fake.pfm').started;
  const two = form([
    { name: 'image', filename: 'a.png', body: png },
    { name: 'other', filename: 'b.png', body: png },
  ]);
  assertClientError(await postBytes(predictUrl(), two, FORM), 400, 'E_TOO_MANY_FILES', 'two files');
  const fetched = new FormData();
  fetched.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'a.png');
  fetched.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'b.png');
  assertClientError(await readReply(await fetch(predictUrl(), { method: 'POST', body: fetched })), 400, 'E_TOO_MANY_FILES', 'fetch form');
  assert.equal(server.loader.latest('/models/fake.pfm').started, started);
  assertNoStacks(from);
});

test('the framework limits on fields and parts become our own 413 errors', async () => {
  const from = server.logs.length;
  assertClientError(await postBytes(predictUrl(), form(fields(9)), FORM), 413, 'E_TOO_MANY_FIELDS', 'nine fields');
  const parts = form([...fields(8), { name: 'image', filename: 'a.png', body: png }, { name: 'late', body: 'x' }]);
  assertClientError(await postBytes(predictUrl(), parts, FORM), 413, 'E_TOO_MANY_PARTS', 'ten parts');
  const big = form([{ name: 'image', filename: 'a.png', body: Buffer.concat([png, Buffer.alloc(70_000)]) }]);
  assertClientError(await postBytes(predictUrl(), big, FORM), 413, 'E_TOO_LARGE', 'large file');
  assertNoStacks(from);
});

test('a form with one file and a few text fields still predicts (the fields are ignored)', async () => {
  const body = form([
    { name: 'note', body: 'first' },
    { name: 'image', filename: 'a.png', body: png },
    { name: 'after', body: 'x' },
  ]);
  const r = await postBytes(predictUrl(), body, FORM);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.width, 32);
});
