/** Unit tests of the server's parts: queue, one-time store, metrics text, map shrinking, headers, --model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from '../../src/server/queue.js';
import { OneTimeStore } from '../../src/server/results.js';
import { Metrics } from '../../src/server/metrics.js';
import { downsampleMax } from '../../src/server/predict.js';
import { readImageHeader, sniffFormat } from '../../src/server/image-header.js';
import { parseModelSpec, validateSpecs } from '../../src/server/models.js';
import type { HttpError } from '../../src/server/errors.js';
import { deferred, testImage, waitUntil } from './fake-detector.js';

test('queue runs at most `concurrency` tasks and refuses past maxQueue with a Retry-After', async () => {
  const q = new BoundedQueue(2, 1);
  const gate = deferred();
  let running = 0;
  let peak = 0;
  const task = async (): Promise<number> => {
    running++;
    peak = Math.max(peak, running);
    await gate.promise;
    running--;
    return 7;
  };
  const accepted = [q.run(task), q.run(task), q.run(task)];
  await waitUntil(() => q.active === 2 && q.waiting === 1, 1000, 'two running, one waiting');
  await assert.rejects(q.run(task), (err: HttpError) => err.status === 503 && Number(err.headers['retry-after']) >= 1);
  gate.resolve();
  assert.deepEqual(await Promise.all(accepted), [7, 7, 7]);
  assert.equal(peak, 2);
  assert.equal(q.active + q.waiting, 0);
  await q.onIdle();
});

test('queue frees the slot when a task throws, and drops a waiting task whose client left', async () => {
  const q = new BoundedQueue(1, 4);
  const gate = deferred();
  const first = q.run(async () => {
    await gate.promise;
    throw new Error('boom');
  });
  const abort = new AbortController();
  let ranAbandoned = false;
  const abandoned = q.run(async () => void (ranAbandoned = true), abort.signal);
  const last = q.run(async () => 'ran');
  await waitUntil(() => q.waiting === 2, 1000, 'two waiting');
  abort.abort();
  await assert.rejects(abandoned, (err: HttpError) => err.code === 'E_CLIENT_GONE');
  assert.equal(q.waiting, 1);
  gate.resolve();
  await assert.rejects(first, /boom/);
  assert.equal(await last, 'ran');
  assert.equal(ranAbandoned, false);
  assert.equal(q.active, 0);
});

test('one-time store serves each picture once and forgets results after the TTL', () => {
  let now = 1000;
  const store = new OneTimeStore({ ttlMs: 60_000, now: () => now });
  const a = store.put({ heatmap: Buffer.from('H'), mask: Buffer.from('M') });
  assert.equal(store.take(a, 'heatmap')?.toString(), 'H');
  assert.equal(store.take(a, 'heatmap'), undefined);
  assert.equal(store.take(a, 'mask')?.toString(), 'M');
  assert.equal(store.size, 0);
  const b = store.put({ heatmap: Buffer.from('H') });
  now += 60_001;
  assert.equal(store.take(b, 'heatmap'), undefined);
  assert.equal(store.take('no-such-id', 'heatmap'), undefined);
});

test('one-time store drops the oldest results past its entry and byte limits', () => {
  const store = new OneTimeStore({ maxEntries: 2, maxBytes: 10 });
  const a = store.put({ heatmap: Buffer.alloc(4) });
  const b = store.put({ heatmap: Buffer.alloc(4) });
  const c = store.put({ heatmap: Buffer.alloc(4) }); // 3 entries > 2: a goes
  assert.equal(store.take(a, 'heatmap'), undefined);
  const d = store.put({ heatmap: Buffer.alloc(8) }); // 4 + 4 + 8 bytes > 10: b and c go
  assert.equal(store.take(b, 'heatmap'), undefined);
  assert.equal(store.take(c, 'heatmap'), undefined);
  assert.equal(store.take(d, 'heatmap')?.length, 8);
});

test('metrics text is valid exposition format with a cumulative histogram and escaped labels', () => {
  const m = new Metrics();
  m.observeRequest('a"b', 200, 0.003);
  m.observeRequest('a"b', 200, 0.2);
  m.observeRequest('a"b', 503, 100);
  m.countError('E_BUSY');
  const text = m.render({ queueLength: 3, inFlight: 1, models: 1 });
  for (const line of text.trim().split('\n')) {
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? [-+0-9.eInfNa]+)$/, line);
  }
  assert.match(text, /pyramidflow_requests_total\{model="a\\"b",status="200"\} 2/);
  assert.match(text, /pyramidflow_request_duration_seconds_bucket\{model="a\\"b",le="0.005"\} 1\n/);
  assert.match(text, /pyramidflow_request_duration_seconds_bucket\{model="a\\"b",le="0.25"\} 2\n/);
  assert.match(text, /pyramidflow_request_duration_seconds_bucket\{model="a\\"b",le="\+Inf"\} 3\n/);
  assert.match(text, /pyramidflow_request_duration_seconds_count\{model="a\\"b"\} 3\n/);
  assert.match(text, /pyramidflow_queue_length 3\n/);
  assert.match(text, /pyramidflow_errors_total\{code="E_BUSY"\} 1\n/);
});

test('the low-resolution map keeps every peak (max-pooling) and its shape', () => {
  const w = 10,
    h = 5;
  const map = new Float32Array(w * h).fill(0.1);
  map[3 * w + 7] = 0.9; // one hot pixel
  const small = downsampleMax(map, w, h, 4); // factor 3 -> 4 x 2
  assert.equal(small.width, 4);
  assert.equal(small.height, 2);
  assert.equal(small.values.length, 8);
  assert.equal(small.values[1 * 4 + 2], 0.9);
  assert.equal(small.values.filter((v) => v === 0.9).length, 1);
  assert.deepEqual(downsampleMax(map, w, h, 64).values.length, w * h); // small maps stay whole
});

/** A 24-bit top-down BMP of black pixels (rows padded to 4 bytes). */
function bmp24(width: number, height: number): Buffer {
  const row = Math.ceil((width * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10); // pixel data offset
  b.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  b.writeInt32LE(width, 18);
  b.writeInt32LE(-height, 22); // negative: rows top-down
  b.writeUInt16LE(1, 26); // planes
  b.writeUInt16LE(24, 28); // bits per pixel
  return b;
}

test('image headers: formats are sniffed from bytes, sizes read from headers, others refused', async () => {
  const png = await testImage(40, 30, 'png');
  assert.deepEqual(await readImageHeader(png), { format: 'png', width: 40, height: 30 });
  assert.deepEqual(await readImageHeader(await testImage(40, 30, 'jpeg')), { format: 'jpeg', width: 40, height: 30 });
  assert.deepEqual(await readImageHeader(await testImage(40, 30, 'tiff')), { format: 'tiff', width: 40, height: 30 });
  assert.deepEqual(await readImageHeader(bmp24(3, 2)), { format: 'bmp', width: 3, height: 2 });
  const bmp = bmp24(3, 2);
  assert.equal(sniffFormat(Buffer.from('GIF89a')), null);
  await assert.rejects(readImageHeader(Buffer.from('hello world')), (e: HttpError) => e.status === 415 && e.code === 'E_NOT_IMAGE');
  await assert.rejects(readImageHeader(png.subarray(0, 12)), (e: HttpError) => e.status === 400 && e.code === 'E_BAD_IMAGE');
  await assert.rejects(readImageHeader(bmp.subarray(0, 20)), (e: HttpError) => e.status === 400);
});

test('--model values: NAME=FILE, or a bare FILE named by its stem; names are checked', () => {
  assert.deepEqual(parseModelSpec('bottle=models/b.pfm'), { name: 'bottle', file: 'models/b.pfm' });
  assert.deepEqual(parseModelSpec('models/screw.pfm'), { name: 'screw', file: 'models/screw.pfm' });
  assert.deepEqual(parseModelSpec('/data/a=b/grid.pfm'), { name: 'grid', file: '/data/a=b/grid.pfm' });
  assert.throws(() => validateSpecs([]), /at least one model/);
  assert.throws(
    () =>
      validateSpecs([
        { name: 'a', file: 'x' },
        { name: 'a', file: 'y' },
      ]),
    /two models are named "a"/,
  );
  assert.throws(() => validateSpecs([{ name: 'a b', file: 'x' }]), /model name "a b"/);
});

test("the page's script parses (the browser tests skip without Chromium)", async () => {
  const { pageHtml } = await import('../../src/server/page.js');
  const script = /<script>([\s\S]*)<\/script>/.exec(pageHtml)?.[1];
  assert.ok(script);
  assert.doesNotThrow(() => new Function(script));
});
