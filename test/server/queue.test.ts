/** Bounded concurrency through HTTP: at most `concurrency` predictions, at most `maxQueue` waiting, then 503. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferred, testImage, waitUntil } from './fake-detector.js';
import { FAKE_FILE, getJson, postBytes, startFakeServer, type JsonReply } from './harness.js';

async function queueState(url: string): Promise<{ active: number; waiting: number }> {
  return (await getJson(`${url}/healthz`)).body.queue;
}

test('past maxQueue waiting requests the server answers 503 with Retry-After, then serves the rest', async () => {
  const server = await startFakeServer({ maxQueue: 2 });
  try {
    const png = await testImage(32, 32);
    const detector = server.loader.latest(FAKE_FILE);
    const gate = deferred();
    detector.gate = gate.promise;
    const url = `${server.url}/v1/models/fake/predict`;
    const accepted: Promise<JsonReply>[] = [postBytes(url, png)];
    await waitUntil(() => detector.started === 1, 3000, 'the first prediction to start');
    accepted.push(postBytes(url, png), postBytes(url, png));
    await waitUntil(async () => (await queueState(server.url)).waiting === 2, 3000, 'two waiting');
    const refused = await postBytes(url, png);
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'E_BUSY');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^pyramidflow_queue_length 2$/m);
    assert.match(metrics, /^pyramidflow_predictions_in_flight 1$/m);
    gate.resolve();
    const replies = await Promise.all(accepted);
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal(detector.maxActive, 1); // concurrency 1 by default
    assert.deepEqual(await queueState(server.url), { active: 0, waiting: 0, concurrency: 1, max_waiting: 2 });
    assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^pyramidflow_requests_total\{model="fake",status="503"\} 1$/m);
  } finally {
    await server.close();
  }
});

test('with concurrency 2 two predictions run at once and no more', async () => {
  const server = await startFakeServer({ concurrency: 2, maxQueue: 8 });
  try {
    const png = await testImage(32, 32);
    const detector = server.loader.latest(FAKE_FILE);
    const gate = deferred();
    detector.gate = gate.promise;
    const url = `${server.url}/v1/models/fake/predict`;
    const all = Array.from({ length: 5 }, () => postBytes(url, png));
    await waitUntil(async () => (await queueState(server.url)).waiting === 3, 3000, 'three waiting');
    assert.equal(detector.started, 2);
    gate.resolve();
    assert.ok((await Promise.all(all)).every((r) => r.status === 200));
    assert.equal(detector.maxActive, 2);
  } finally {
    await server.close();
  }
});

test('a waiting request whose client disconnects leaves the queue without running', async () => {
  const server = await startFakeServer({ maxQueue: 4 });
  try {
    const png = await testImage(32, 32);
    const detector = server.loader.latest(FAKE_FILE);
    const gate = deferred();
    detector.gate = gate.promise;
    const url = `${server.url}/v1/models/fake/predict`;
    const first = postBytes(url, png);
    await waitUntil(() => detector.started === 1, 3000, 'the first prediction to start');
    const abort = new AbortController();
    const gone = fetch(url, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(png), signal: abort.signal }).catch(
      () => 'aborted',
    );
    await waitUntil(async () => (await queueState(server.url)).waiting === 1, 3000, 'one waiting');
    abort.abort();
    assert.equal(await gone, 'aborted');
    await waitUntil(async () => (await queueState(server.url)).waiting === 0, 3000, 'the queue to empty');
    gate.resolve();
    assert.equal((await first).status, 200);
    assert.equal(detector.started, 1);
  } finally {
    await server.close();
  }
});

test('pictures are made outside the prediction slot: the next prediction runs while a heat map is encoded', async () => {
  const server = await startFakeServer({ maxQueue: 4 });
  try {
    const png = await testImage(32, 32);
    const detector = server.loader.latest(FAKE_FILE);
    const encoding = deferred();
    let encodingStarted = false;
    const heatmapPng = detector.heatmapPng.bind(detector);
    detector.heatmapPng = async (pred) => {
      encodingStarted = true;
      await encoding.promise;
      return heatmapPng(pred);
    };
    const url = `${server.url}/v1/models/fake/predict`;
    const first = postBytes(`${url}?heatmap=png`, png);
    await waitUntil(() => encodingStarted, 3000, 'the first heat map to be encoded');
    // the slot is free: a second request is judged and answered while the heat map waits
    const second = await postBytes(url, png);
    assert.equal(second.status, 200, second.text);
    assert.equal(detector.started, 2);
    encoding.resolve();
    const answer = await first;
    assert.equal(answer.status, 200, answer.text);
    assert.match(answer.body.heatmap, /^data:image\/png;base64,/);
    assert.equal(answer.body.score, second.body.score);
  } finally {
    await server.close();
  }
});
