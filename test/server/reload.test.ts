/** Reloading a model: swap only after the new one loads; in-flight requests finish on the old one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PyramidFlowError } from '../../src/util/errors.js';
import { startServer } from '../../src/server/index.js';
import { deferred, FakeLoader, testImage, waitUntil } from './fake-detector.js';
import { FAKE_FILE, getJson, postBytes, startFakeServer } from './harness.js';

const post = (url: string): Promise<Response> => fetch(url, { method: 'POST' });

test('a reload swaps the detector after it loads; the request in flight finishes on the old one', async () => {
  const server = await startFakeServer();
  try {
    const png = await testImage(32, 32);
    const predictUrl = `${server.url}/v1/models/fake/predict`;
    const [v1] = server.loader.made;
    const hold = deferred();
    v1!.gate = hold.promise;
    const inFlight = postBytes(predictUrl, png);
    await waitUntil(() => v1!.started === 1, 3000, 'the prediction to start on v1');

    // While the new model loads, the old one stays listed (and serving).
    const before = (await getJson(`${server.url}/v1/models/fake`)).body;
    const loading = deferred();
    server.loader.gate = loading.promise;
    const reload = post(`${server.url}/v1/models/fake/reload`);
    await waitUntil(() => server.loader.calls === 2, 3000, 'the reload to start loading');
    assert.deepEqual((await getJson(`${server.url}/v1/models/fake`)).body, before);
    loading.resolve();
    const reloaded = await reload;
    assert.equal(reloaded.status, 200);
    const body = await reloaded.json();
    assert.equal(body.reloaded, true);
    assert.equal(body.model.name, 'fake');
    assert.notEqual(body.model.loaded_at, before.loaded_at);
    const v2 = server.loader.made[1]!;

    hold.resolve();
    assert.equal((await inFlight).status, 200);
    assert.equal(v1!.started, 1);
    assert.equal(v2.started, 0);
    assert.equal((await postBytes(predictUrl, png)).status, 200);
    assert.equal(v2.started, 1);
    assert.equal(v1!.started, 1);
  } finally {
    await server.close();
  }
});

test('a failed reload answers 500 with the reason and keeps serving the old model', async () => {
  const server = await startFakeServer();
  try {
    const png = await testImage(32, 32);
    const before = (await getJson(`${server.url}/v1/models/fake`)).body;
    server.loader.fail = new PyramidFlowError(`${FAKE_FILE}: not a pyramidflow model (bad magic)`, 'E_MODEL');
    const res = await post(`${server.url}/v1/models/fake/reload`);
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.equal(body.error.code, 'E_RELOAD_FAILED');
    assert.match(body.error.message, /bad magic/);
    assert.match(body.error.message, /still serving/);
    assert.match(body.error.message, /fake\.pfm/);
    assert.doesNotMatch(body.error.message, /\/models\//, 'no server path in the reply');
    assert.deepEqual((await getJson(`${server.url}/v1/models/fake`)).body, before);
    assert.equal((await postBytes(`${server.url}/v1/models/fake/predict`, png)).status, 200);
    assert.equal(server.loader.made[0]!.started, 1);
    assert.equal((await post(`${server.url}/v1/models/ghost/reload`)).status, 404);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^pyramidflow_model_reloads_total\{model="fake",result="failed"\} 1$/m);
  } finally {
    await server.close();
  }
});

test('a model that fails to load at start stops the server from starting, naming model and file', async () => {
  const loader = new FakeLoader();
  loader.fail = new Error('ENOENT: no such file');
  await assert.rejects(startFakeServer({}, loader), /cannot load model "fake" from \/models\/fake\.pfm: ENOENT/);
});

test('startServer prints its URL, reloads every model on SIGHUP and closes gracefully on SIGTERM', async () => {
  const loader = new FakeLoader();
  const printed: string[] = [];
  const logs: string[] = [];
  const exited = deferred();
  let exitCode = -1;
  const running = await startServer({
    models: [
      { name: 'a', file: '/m/a.pfm' },
      { name: 'b', file: '/m/b.pfm' },
    ],
    loadDetector: loader.load,
    port: 0,
    logLevel: 'silent',
    print: (l) => printed.push(l),
    log: (l) => logs.push(l),
    exit: (code) => {
      exitCode = code;
      exited.resolve();
    },
  });
  let closed = false;
  try {
    assert.match(printed[0]!, /serving a, b at http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(running.url.startsWith('http://127.0.0.1:'), running.url);
    process.emit('SIGHUP');
    await waitUntil(() => loader.made.length === 4, 3000, 'both models reloaded');
    const png = await testImage(32, 32);
    const a2 = loader.latest('/m/a.pfm');
    const hold = deferred();
    a2.gate = hold.promise;
    const inFlight = postBytes(`${running.url}/v1/models/a/predict`, png);
    await waitUntil(() => a2.started === 1, 3000, 'a prediction in flight');
    process.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(exitCode, -1, 'waits for the request in flight');
    hold.resolve();
    assert.equal((await inFlight).status, 200);
    await exited.promise;
    closed = true;
    assert.equal(exitCode, 0);
    assert.ok(
      logs.some((l) => l.includes('SIGTERM')),
      logs.join('\n'),
    );
    assert.equal(process.listenerCount('SIGHUP'), 0);
  } finally {
    if (!closed) await running.close();
  }
});
