/**
 * Bearer-token authentication: with a token, everything but /healthz and the page needs it (401
 * in our JSON shape before any body is read); without one, startServer refuses any address
 * beyond loopback unless told `insecure`. Token files are read strictly.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLoopbackHost, readTokenFile, resolveToken, startServer } from '../../src/server/index.js';
import { FakeLoader, testImage } from './fake-detector.js';
import { getJson, postBytes, readReply, startFakeServer, type FakeServer, type JsonReply } from './harness.js';

const TOKEN = 'correct-horse-battery-staple-42';
const GOOD = { authorization: `Bearer ${TOKEN}` };

let server: FakeServer;
let png: Buffer;
before(async () => {
  server = await startFakeServer({ token: TOKEN });
  png = await testImage(32, 32);
});
after(() => server.close());

function assertUnauthorized(r: JsonReply, label: string): void {
  assert.equal(r.status, 401, `${label}: ${r.text}`);
  assert.equal(r.body.error.code, 'E_UNAUTHORIZED', label);
  assert.match(r.body.error.message, /token/, label);
  assert.doesNotMatch(r.text, /\n/, `${label}: one line`);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/, label);
}

test('with a token, the API, the metrics and unknown routes need it', async () => {
  const u = server.url;
  for (const [label, headers] of [
    ['no header', {}],
    ['wrong token', { authorization: 'Bearer nope' }],
    ['basic', { authorization: `Basic ${TOKEN}` }],
    ['bare token', { authorization: TOKEN }],
  ] as const) {
    assertUnauthorized(await getJson(`${u}/v1/models`, headers), `GET /v1/models, ${label}`);
  }
  assertUnauthorized(await getJson(`${u}/v1/models/fake`), 'GET /v1/models/fake');
  assertUnauthorized(await getJson(`${u}/v1/results/abc/heatmap.png`), 'one-time result');
  assertUnauthorized(await readReply(await fetch(`${u}/metrics`)), 'GET /metrics');
  assertUnauthorized(await readReply(await fetch(`${u}/v1/models/fake/reload`, { method: 'POST' })), 'reload');
  assertUnauthorized(await getJson(`${u}/nowhere`), 'unknown route');
  assertUnauthorized(await postBytes(`${u}/v1/models/fake/predict`, png), 'predict');
  assert.equal(server.loader.latest('/models/fake.pfm').started, 0, 'an unauthorised upload never reaches the detector');

  assert.equal((await getJson(`${u}/v1/models`, GOOD)).status, 200);
  assert.equal((await getJson(`${u}/v1/models`, { authorization: `bearer ${TOKEN}` })).status, 200, 'the scheme is case-insensitive');
  assert.equal((await fetch(`${u}/metrics`, { headers: GOOD })).status, 200);
  const r = await postBytes(`${u}/v1/models/fake/predict`, png, 'image/png', GOOD);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.width, 32);
});

test('with a token, /healthz and the page stay open, and the page asks for the token', async () => {
  const health = await getJson(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'ok');
  const page = await fetch(`${server.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<input id="token" type="password"/);
});

test('an empty token, or one holding whitespace, is refused before the server starts', async () => {
  for (const token of ['', '   ', 'two words', 'line\nbreak']) {
    const loader = new FakeLoader();
    await assert.rejects(startFakeServer({ token }, loader), /token/, JSON.stringify(token));
    assert.equal(loader.calls, 0, 'refused before loading any model');
  }
});

test('isLoopbackHost knows 127.0.0.0/8, ::1 and localhost, and nothing else', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
    assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', '128.0.0.1', 'example.com', 'localhost.example.com', '::ffff:10.0.0.1', '']) {
    assert.ok(!isLoopbackHost(host), host);
  }
});

test('startServer refuses a non-loopback host without a token unless insecure, in one line', async () => {
  for (const host of ['0.0.0.0', '::', 'example.com']) {
    const loader = new FakeLoader();
    const attempt = startServer({
      models: [{ name: 'a', file: '/m/a.pfm' }],
      loadDetector: loader.load,
      host,
      port: 0,
      handleSignals: false,
      logLevel: 'silent',
      print: () => {},
      log: () => {},
    });
    await assert.rejects(attempt, (err: Error) => {
      assert.match(err.message, new RegExp(`${host.replace(/\./g, '\\.')}.*token.*insecure`), err.message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    assert.equal(loader.calls, 0, `${host}: refused before loading any model`);
  }
  const common = { models: [{ name: 'a', file: '/m/a.pfm' }], host: '0.0.0.0', port: 0, handleSignals: false, logLevel: 'silent' as const, print: () => {} };
  const notes: string[] = [];
  const insecure = await startServer({ ...common, loadDetector: new FakeLoader().load, insecure: true, log: (l) => notes.push(l) });
  try {
    assert.ok(
      notes.some((l) => /without a token/.test(l)),
      notes.join('\n'),
    );
    assert.equal((await fetch(`${insecure.url.replace('0.0.0.0', '127.0.0.1')}/v1/models`)).status, 200);
  } finally {
    await insecure.close();
  }
  const guarded = await startServer({ ...common, loadDetector: new FakeLoader().load, token: TOKEN, log: () => {} });
  try {
    assert.equal((await fetch(`${guarded.url.replace('0.0.0.0', '127.0.0.1')}/v1/models`)).status, 401);
  } finally {
    await guarded.close();
  }
});

test('readTokenFile trims the token and refuses a missing, empty or world-readable file, naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pyramidflow-token-'));
  const file = (name: string, text: string, mode = 0o600): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    chmodSync(p, mode);
    return p;
  };
  assert.equal(await readTokenFile(file('ok', `  ${TOKEN}\n`)), TOKEN);
  assert.equal(await readTokenFile(file('group', `${TOKEN}\n`, 0o640)), TOKEN);
  const empty = file('empty', ' \n\n');
  await assert.rejects(readTokenFile(empty), (err: Error) => err.message.includes(empty) && /empty/.test(err.message));
  const open = file('open', TOKEN, 0o644);
  await assert.rejects(readTokenFile(open), (err: Error) => err.message.includes(open) && /readable by others.*chmod/.test(err.message));
  const missing = join(dir, 'missing');
  await assert.rejects(readTokenFile(missing), (err: Error) => err.message.includes(missing));
  const spaced = file('spaced', 'two words');
  await assert.rejects(readTokenFile(spaced), (err: Error) => err.message.includes(spaced) && /whitespace/.test(err.message));
});

test('resolveToken takes the token file or PYRAMIDFLOW_TOKEN, not both, and no empty variable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pyramidflow-token-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  assert.equal(await resolveToken({ env: {} }), undefined);
  assert.equal(await resolveToken({ tokenFile, env: {} }), TOKEN);
  assert.equal(await resolveToken({ env: { PYRAMIDFLOW_TOKEN: ` ${TOKEN} ` } }), TOKEN);
  await assert.rejects(resolveToken({ tokenFile, env: { PYRAMIDFLOW_TOKEN: TOKEN } }), /not both/);
  await assert.rejects(resolveToken({ env: { PYRAMIDFLOW_TOKEN: '' } }), /PYRAMIDFLOW_TOKEN.*empty/);
});
