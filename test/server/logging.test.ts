/**
 * Structured logs: fastify's pino logger writes one JSON access line per request (request id,
 * method, URL, status, time); client errors are that one line at info level, without a stack;
 * internal errors are logged at error level with the stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server/index.js';
import { FakeLoader, testImage } from './fake-detector.js';
import { getJson, logEntries, postBytes, startFakeServer, type LogEntry } from './harness.js';

const accessLines = (entries: LogEntry[]): LogEntry[] => entries.filter((e) => typeof e.status === 'number');

test('each request gets one JSON access line with request id, method, url, status and time', async () => {
  const server = await startFakeServer();
  try {
    const png = await testImage(32, 32);
    await getJson(`${server.url}/healthz`);
    await postBytes(`${server.url}/v1/models/fake/predict?map=json`, png);
    await getJson(`${server.url}/v1/models/ghost`);
    const lines = accessLines(logEntries(server.logs));
    assert.deepEqual(
      lines.map((e) => [e.method, e.url, e.status]),
      [
        ['GET', '/healthz', 200],
        ['POST', '/v1/models/fake/predict?map=json', 200],
        ['GET', '/v1/models/ghost', 404],
      ],
    );
    assert.equal(new Set(lines.map((e) => e.reqId)).size, 3, 'a request id each');
    for (const e of lines) {
      assert.equal(typeof e.reqId, 'string');
      assert.equal(typeof e.responseTime, 'number');
      assert.equal(typeof e.time, 'number');
      assert.equal(e.level, 30);
    }
    assert.equal(lines[2]!.code, 'E_UNKNOWN_MODEL');
    const perRequest = logEntries(server.logs).filter((e) => e.reqId !== undefined);
    assert.equal(perRequest.length, 3, 'one line per request (besides fastify\'s "Server listening at")');
  } finally {
    await server.close();
  }
});

test('a client error is one info line without a stack; an internal error logs its stack at error level', async () => {
  const server = await startFakeServer();
  try {
    const png = await testImage(32, 32);
    const bad = await postBytes(`${server.url}/v1/models/fake/predict`, Buffer.from('garbage'), 'multipart/form-data; boundary=x');
    assert.equal(bad.status, 400, bad.text);
    const first = logEntries(server.logs).filter((e) => e.reqId !== undefined);
    assert.equal(first.length, 1, server.logs.join(''));
    assert.equal(first[0]!.level, 30);
    assert.equal(first[0]!.status, 400);
    assert.doesNotMatch(server.logs.join(''), /"stack"|\n\s+at /);

    const detector = server.loader.latest('/models/fake.pfm');
    detector.failWith = new Error('kernel exploded');
    const crash = await postBytes(`${server.url}/v1/models/fake/predict`, png);
    detector.failWith = null;
    assert.equal(crash.status, 500);
    const errors = logEntries(server.logs).filter((e) => e.level >= 50);
    assert.equal(errors.length, 1, server.logs.join(''));
    assert.match(errors[0]!.err?.stack ?? '', /kernel exploded\n\s+at /);
    assert.equal(errors[0]!.reqId, accessLines(logEntries(server.logs)).at(-1)!.reqId, 'the stack carries the request id');
  } finally {
    await server.close();
  }
});

test("logLevel 'silent' writes nothing; startServer logs at info by default", async () => {
  const quiet = await startFakeServer({ logLevel: 'silent' });
  try {
    await getJson(`${quiet.url}/healthz`);
    await getJson(`${quiet.url}/v1/models/ghost`);
    assert.deepEqual(quiet.logs, []);
  } finally {
    await quiet.close();
  }
  const lines: string[] = [];
  const running = await startServer({
    models: [{ name: 'a', file: '/m/a.pfm' }],
    loadDetector: new FakeLoader().load,
    port: 0,
    handleSignals: false,
    print: () => {},
    log: () => {},
    logStream: { write: (l: string) => void lines.push(l) },
  });
  try {
    await getJson(`${running.url}/healthz`);
    assert.equal(accessLines(logEntries(lines)).length, 1, lines.join(''));
  } finally {
    await running.close();
  }
});
