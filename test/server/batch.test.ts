/**
 * `serve --batch`: requests already waiting are judged together, and every answer is the one
 * the same request gets from a server judging one at a time (`--batch 1`), a bad image among
 * them included. Also the BatchingQueue's rules by themselves: a lone request is not held back,
 * back-pressure and departures as BoundedQueue's, no batch mixes keys, a failed batch fails
 * each of its items.
 */
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDetector, type ImageDetector } from '../../src/api/index.js';
import { saveModelFile } from '../../src/api/model-files.js';
import { encodePng } from '../../src/data/image.js';
import { planarToInterleaved } from '../../src/data/pixels.js';
import { buildServer } from '../../src/server/index.js';
import { BatchingQueue, BoundedQueue, GATHER_MS, RETURN_MS } from '../../src/server/queue.js';
import { randomImages, syntheticDetector } from '../export/onnx-fixture.js';
import { deferred, waitUntil } from './fake-detector.js';
import { getJson, postBytes, type JsonReply } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-serve-batch-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('serve --batch 4: concurrent requests are batched, and each answer is the --batch 1 answer', async () => {
  const detector = syntheticDetector({ size: 64, channels: 8, kernel: 7, levels: 3 }, 11);
  const model = join(dir, 'm.pflow');
  saveModelFile(model, detector.saved);
  const pngs = await Promise.all(
    [...randomImages(6, 64, 64, 8), ...randomImages(1, 48, 80, 9)].map((img) =>
      encodePng({ width: img.width, height: img.height, channels: 3, data: planarToInterleaved(img) }),
    ),
  );
  // A PNG cut after its header: accepted at the door, it fails when decoded, in a batch
  const bodies = [...pngs.slice(0, 3), pngs[3]!.subarray(0, 80), ...pngs.slice(3)];
  const query = '?map=json&map_size=16&heatmap=png&min_area=1';

  // The truth: one at a time, each request alone
  const single = await buildServer({ models: [{ name: 'm', file: model }], threads: 2, logLevel: 'silent', log: () => {} });
  const url1 = await single.listen({ port: 0, host: '127.0.0.1' });
  const truth: JsonReply[] = [];
  for (const body of bodies) truth.push(await postBytes(`${url1}/v1/models/m/predict${query}`, body));
  await single.close();
  assert.equal(truth[3]!.status, 400, truth[3]!.text);
  assert.ok(truth.filter((r) => r.status === 200).length === bodies.length - 1);

  // --batch 4, the first request held so that the others wait behind it
  const batches: number[] = [];
  const gate = deferred();
  let held = false;
  const loader = async (file: string): Promise<ImageDetector> => {
    const real = await loadDetector(file, { threads: 2 });
    return {
      ...real,
      async predictImage(image, opts) {
        if (!held) {
          held = true;
          await gate.promise;
        }
        batches.push(1);
        return real.predictImage(image, opts);
      },
      async predictImages(images, opts) {
        batches.push(images.length);
        return real.predictImages!(images, opts);
      },
    };
  };
  const app = await buildServer({
    models: [{ name: 'm', file: model }],
    loadDetector: loader,
    inferenceBatch: 4,
    maxQueue: 16,
    logLevel: 'silent',
    log: () => {},
  });
  try {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const first = postBytes(`${url}/v1/models/m/predict${query}`, bodies[0]!);
    await waitUntil(() => held, 5000, 'the first request to start');
    const rest = bodies.slice(1).map((body) => postBytes(`${url}/v1/models/m/predict${query}`, body));
    await waitUntil(async () => (await getJson(`${url}/healthz`)).body.queue.waiting === bodies.length - 1, 5000, 'the others to wait');
    gate.resolve();
    const answers = [await first, ...(await Promise.all(rest))];
    assert.deepEqual(batches, [1, 4, 3], 'the first alone, then the waiting ones four at a time');
    for (const [i, got] of answers.entries()) {
      const want = truth[i]!;
      assert.equal(got.status, want.status, `request ${i}: ${got.text}`);
      if (want.status !== 200) {
        assert.deepEqual(got.body.error, want.body.error, `request ${i}: the same error, in its own words`);
        continue;
      }
      const { score, normalized_score, map, heatmap, regions, elapsed_ms, queued_ms, ...rest } = got.body;
      const w = want.body;
      assert.ok(Math.abs(score - w.score) <= 1e-5, `request ${i}: score ${score} vs ${w.score}`);
      assert.ok(Math.abs(normalized_score - w.normalized_score) <= 1e-4, `request ${i}: normalised score`);
      assert.deepEqual(rest, { model: w.model, verdict: w.verdict, thresholds: w.thresholds, width: w.width, height: w.height }, `request ${i}`);
      assert.deepEqual(
        regions.map(({ peak, ...box }: { peak: number }) => box),
        w.regions.map(({ peak, ...box }: { peak: number }) => box),
        `request ${i}: regions`,
      );
      assert.deepEqual([map.width, map.height], [w.map.width, w.map.height]);
      map.values.forEach((v: number, p: number) => assert.ok(Math.abs(v - w.map.values[p]) <= 1e-4 * Math.max(1, Math.abs(v)), `request ${i}: map ${p}`));
      assert.match(heatmap, /^data:image\/png;base64,/);
    }
  } finally {
    gate.resolve();
    await app.close();
  }
});

/** A queue of `concurrency` slots whose batches are recorded and released by hand. */
function recordingQueue(maxBatch: number, maxQueue = 16) {
  const runs: Array<{ key: string; items: number[]; release: (outcomes?: Array<{ value: number } | { error: unknown }>) => void; fail: (e: unknown) => void }> =
    [];
  const queue = new BatchingQueue<number, number>(
    new BoundedQueue(1, maxQueue),
    () => maxBatch,
    (key, items) =>
      new Promise((resolve, reject) => {
        runs.push({ key, items, release: (outcomes) => resolve(outcomes ?? items.map((v) => ({ value: v * 10 }))), fail: reject });
      }),
  );
  return { queue, runs };
}

test('BatchingQueue: a lone item runs at once, alone; items that waited go together, per key, in order', async () => {
  const { queue, runs } = recordingQueue(3);
  const a = queue.run('m', 1);
  await waitUntil(() => runs.length === 1, 1000, 'the lone item to start');
  assert.deepEqual(runs[0]!.items, [1]);
  const waiting = [queue.run('m', 2), queue.run('other', 3), queue.run('m', 4), queue.run('m', 5), queue.run('m', 6)];
  const settled = Promise.allSettled(waiting);
  runs[0]!.release();
  assert.equal(await a, 10);
  await waitUntil(() => runs.length === 2, 1000, 'the second batch');
  assert.deepEqual([runs[1]!.key, runs[1]!.items], ['m', [2, 4, 5]]);
  runs[1]!.release([{ value: 20 }, { error: new Error('item 4 only') }, { value: 50 }]);
  await waitUntil(() => runs.length === 3, 1000, 'the third batch');
  assert.deepEqual([runs[2]!.key, runs[2]!.items], ['other', [3]]);
  runs[2]!.release();
  await waitUntil(() => runs.length === 4, 1000, 'the fourth batch');
  assert.deepEqual(runs[3]!.items, [6]);
  runs[3]!.fail(new Error('the whole batch'));
  assert.deepEqual(
    (await settled).map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
    [20, 30, 'item 4 only', 50, 'the whole batch'],
  );
});

test('BatchingQueue: 503 past maxQueue, and an item whose client left is never run', async () => {
  const { queue, runs } = recordingQueue(4, 2);
  const a = queue.run('m', 1);
  await waitUntil(() => runs.length === 1, 1000, 'the first item to start');
  const leaving = new AbortController();
  const b = queue.run('m', 2, leaving.signal);
  const c = queue.run('m', 3);
  await assert.rejects(queue.run('m', 4), (e: { status?: number }) => e.status === 503);
  leaving.abort();
  await assert.rejects(b, (e: { status?: number }) => e.status === 499);
  runs[0]!.release();
  await a;
  await waitUntil(() => runs.length === 2, 1000, 'the next batch');
  runs[1]!.release();
  assert.equal(await c, 30);
  assert.deepEqual(
    runs.map((r) => r.items),
    [[1], [3]],
  );
});

test('BatchingQueue: a lone client is never held back; after a batch of 3 a lone item waits at most GATHER_MS for the others', async () => {
  const { queue, runs } = recordingQueue(4);
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  // one client: each item starts within one turn of the event loop (no timer in between)
  for (let i = 1; i <= 3; i++) {
    const item = queue.run('m', i);
    await turn();
    assert.equal(runs.length, i, `item ${i} started at once`);
    runs[i - 1]!.release();
    assert.equal(await item, i * 10);
  }
  // three clients: the first alone (as it came), then the two that waited behind it and a third one
  const first = queue.run('m', 4);
  await turn();
  const behind = [queue.run('m', 5), queue.run('m', 6), queue.run('m', 7)];
  runs[3]!.release();
  await first;
  await waitUntil(() => runs.length === 5, 1000, 'the batch of three');
  assert.deepEqual(runs[4]!.items, [5, 6, 7]);
  runs[4]!.release();
  await Promise.all(behind);
  // the key had 3 items at once: a lone item now waits for the others, but not past GATHER_MS
  const t0 = performance.now();
  const lone = queue.run('m', 8);
  await turn();
  assert.equal(runs.length, 5, 'the lone item waits for the other clients');
  await waitUntil(() => runs.length === 6, 1000, 'the lone item to start');
  const waited = performance.now() - t0;
  assert.ok(waited >= GATHER_MS - 2, `waited ${waited} ms`);
  runs[5]!.release();
  assert.equal(await lone, 80);
  // and its own batch of one resets the key's demand: the next item starts at once
  const next = queue.run('m', 9);
  await turn();
  assert.equal(runs.length, 7);
  runs[6]!.release();
  await next;
});

test('BatchingQueue: a batch waits for the clients answered a moment ago (their connections), so that clients out of step come back into step', async () => {
  const { queue, runs } = recordingQueue(4);
  const [s1, s2, s3, s4] = [new EventEmitter(), new EventEmitter(), new EventEmitter(), new EventEmitter()];
  // client 1 alone first; clients 2-4 arrive while it runs (out of step with it)
  const first = queue.run('m', 1, undefined, s1);
  await waitUntil(() => runs.length === 1, 1000, 'the first item');
  const others = [queue.run('m', 2, undefined, s2), queue.run('m', 3, undefined, s3), queue.run('m', 4, undefined, s4)];
  runs[0]!.release();
  assert.equal(await first, 10);
  // client 1 was just answered: the three waiting do not start without it (the last batch's size, 1, alone would let them)
  await new Promise((resolve) => setTimeout(resolve, 3));
  assert.equal(runs.length, 1, 'the batch waits for the client answered a moment ago');
  const again = queue.run('m', 5, undefined, s1);
  await waitUntil(() => runs.length === 2, 1000, 'the batch of four');
  assert.deepEqual(runs[1]!.items, [2, 3, 4, 5]);
  runs[1]!.release();
  assert.deepEqual(await Promise.all([...others, again]), [20, 30, 40, 50]);

  // a client whose connection closed is not waited for
  const t0 = performance.now();
  const late = [queue.run('m', 6, undefined, s2), queue.run('m', 7, undefined, s3)];
  s1.emit('close');
  s4.emit('close');
  await waitUntil(() => runs.length === 3, 1000, 'the batch of two');
  assert.ok(performance.now() - t0 < GATHER_MS, 'started once the others had gone, before GATHER_MS');
  assert.deepEqual(runs[2]!.items, [6, 7]);
  runs[2]!.release();
  assert.deepEqual(await Promise.all(late), [60, 70]);
});

test('BatchingQueue: a lone client on its connection is never held back by its own last answer', async () => {
  const { queue, runs } = recordingQueue(4);
  const socket = new EventEmitter();
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  for (let i = 1; i <= 4; i++) {
    const item = queue.run('m', i, undefined, socket);
    await turn();
    assert.equal(runs.length, i, `item ${i} started at once`);
    runs[i - 1]!.release();
    assert.equal(await item, i * 10);
  }
});

test('BatchingQueue: a client answered more than RETURN_MS ago is not waited for', async () => {
  const { queue, runs } = recordingQueue(4);
  const [a, b] = [new EventEmitter(), new EventEmitter()];
  const first = queue.run('m', 1, undefined, a);
  await waitUntil(() => runs.length === 1, 1000, 'the first item');
  runs[0]!.release();
  await first;
  await new Promise((resolve) => setTimeout(resolve, RETURN_MS + 10));
  const t0 = performance.now();
  const next = queue.run('m', 2, undefined, b);
  await waitUntil(() => runs.length === 2, 1000, 'the next item');
  assert.ok(performance.now() - t0 < GATHER_MS, 'not held back by a client answered long ago');
  runs[1]!.release();
  assert.equal(await next, 20);
});
