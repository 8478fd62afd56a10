/**
 * The API description cannot drift from the code: /openapi.json is a valid OpenAPI 3 document
 * naming every route fastify registered, with its methods and error replies, and real replies of
 * every operation (fake detector) validate against it. With a token, the description is guarded
 * and declares the bearer scheme. /docs renders it without scripts or outside requests.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { deferred, testImage } from './fake-detector.js';
import { FAKE_FILE, startFakeServer, type FakeServer } from './harness.js';
import { operations, registeredRoutes, ReplyChecker, type Doc } from './openapi-check.js';

const TOKEN = 'openapi-test-token-7';
const GOOD = { authorization: `Bearer ${TOKEN}` };
const ERROR_REF = '#/components/schemas/Error';
const PREDICT = '/v1/models/{name}/predict';

let open: FakeServer;
let guarded: FakeServer;
let doc: Doc;
let png: Buffer;
before(async () => {
  open = await startFakeServer({ maxQueue: 0, maxBytes: 64 * 1024 }); // no waiting room: a second prediction gets 503
  guarded = await startFakeServer({ token: TOKEN });
  png = await testImage(40, 30);
  const res = await fetch(`${open.url}/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  doc = (await res.json()) as Doc;
});
after(async () => {
  await open.close();
  await guarded.close();
});

async function assertValidOpenApi(document: Doc): Promise<void> {
  assert.match(document.openapi, /^3\.\d+\.\d+$/);
  const result = await new Validator().validate(document as unknown as Record<string, unknown>);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 1));
}

test('GET /openapi.json is a valid OpenAPI 3 document', async () => {
  await assertValidOpenApi(doc);
  assert.equal(doc.info.title, 'PyramidFlow inspection API');
  const ids = operations(doc).map(([, , op]) => op.operationId);
  assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
});

test('every route under /v1, /healthz, /metrics and the page is documented with its methods, and nothing else', () => {
  const routes = registeredRoutes(open.app).filter((r) => /^\/(v1\/|healthz$|metrics$|$)/.test(r.path));
  assert.ok(
    routes.some((r) => r.path === PREDICT && r.methods.includes('POST')),
    JSON.stringify(routes),
  );
  for (const { path, methods } of routes) {
    for (const method of methods.filter((m) => m !== 'HEAD')) {
      // HEAD is fastify's automatic twin of each GET
      assert.ok(doc.paths[path]?.[method.toLowerCase()], `${method} ${path} is registered but not documented`);
    }
  }
  for (const [method, path] of operations(doc)) {
    assert.ok(
      routes.some((r) => r.path === path && r.methods.includes(method)),
      `${method} ${path} is documented but not registered`,
    );
  }
  const all = registeredRoutes(open.app).map((r) => r.path);
  for (const hidden of ['/openapi.json', '/docs']) assert.ok(all.includes(hidden) && !doc.paths[hidden], hidden);
});

test('every operation documents its parameters, a 2xx reply and the error shape for 4XX and 5XX', () => {
  const error = doc.components?.schemas?.Error as { required: string[]; properties: { error: { required: string[] } } };
  assert.deepEqual(error.required, ['error']);
  assert.deepEqual(error.properties.error.required, ['code', 'message']);
  for (const [method, path, op] of operations(doc)) {
    const label = `${method} ${path}`;
    for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
      assert.ok(
        op.parameters?.some((p) => p.in === 'path' && p.name === name && p.required),
        `${label}: path parameter ${name}`,
      );
    }
    const statuses = Object.keys(op.responses);
    assert.ok(
      statuses.some((s) => /^2/.test(s)),
      `${label}: a 2xx reply`,
    );
    for (const range of ['4XX', '5XX']) assert.ok(statuses.includes(range), `${label}: ${range}`);
    for (const status of statuses.filter((s) => /^[45]/.test(s))) {
      assert.equal(op.responses[status]!.content?.['application/json']?.schema?.$ref, ERROR_REF, `${label} ${status}: the error schema`);
    }
  }
});

test('the predict body is documented as image/*, application/octet-stream or a form with one binary file field', () => {
  const content = doc.paths[PREDICT]!.post!.requestBody!.content;
  assert.deepEqual(Object.keys(content).sort(), ['application/octet-stream', 'image/*', 'multipart/form-data']);
  assert.deepEqual(content['image/*']!.schema, { type: 'string', format: 'binary', description: 'The image file’s bytes.' });
  const form = content['multipart/form-data']!.schema as { properties: Record<string, { type: string; format: string }>; required: string[] };
  assert.deepEqual(Object.keys(form.properties), ['file']);
  assert.deepEqual([form.properties.file!.type, form.properties.file!.format], ['string', 'binary']);
  assert.deepEqual(form.required, ['file']);
});

test('real replies of every operation, successes and errors, validate against the document', async () => {
  const checker = new ReplyChecker(doc);
  const u = open.url;
  const post = (path: string, body?: BodyInit, type?: string): Promise<Response> =>
    fetch(u + path, { method: 'POST', body, headers: type ? { 'content-type': type } : {} });
  const predict = (query = '', body: BodyInit = new Uint8Array(png), type = 'image/png'): Promise<Response> =>
    post(`/v1/models/fake/predict${query}`, body, type);

  // Predictions: raw bodies, a form with a `file` field, every optional field of the reply.
  const plain = await checker.check('POST', PREDICT, await predict());
  assert.equal(plain.width, 40);
  await checker.check('POST', PREDICT, await predict('?threshold=0.9&pixel_threshold=0.7&min_area=2', new Uint8Array(png), 'application/octet-stream'));
  const inline = await checker.check('POST', PREDICT, await predict('?heatmap=png&mask=png&map=json&map_size=8'));
  assert.ok(inline.heatmap && inline.mask && inline.map, 'every optional field present');
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'part.png');
  assert.equal((await checker.check('POST', PREDICT, await post('/v1/models/fake/predict', form))).height, 30);
  const byUrl = await checker.check('POST', PREDICT, await predict('?heatmap=png&pictures=url'));

  // The one-time picture, then its 404.
  const picture = '/v1/results/{id}/{picture}';
  assert.ok((await checker.check('GET', picture, await fetch(u + byUrl.heatmap))).length > 0);
  await checker.check('GET', picture, await fetch(u + byUrl.heatmap));

  // Prediction errors: 400, 404, 413, 415, 503.
  await checker.check('POST', PREDICT, await predict('?heatmap=jpg'));
  await checker.check('POST', PREDICT, await predict('', new Uint8Array(0)));
  await checker.check('POST', PREDICT, await post('/v1/models/ghost/predict', new Uint8Array(png), 'image/png'));
  await checker.check('POST', PREDICT, await predict('', new Uint8Array(128 * 1024)));
  await checker.check('POST', PREDICT, await predict('', new TextEncoder().encode('not an image at all'), 'image/png'));
  await checker.check('POST', PREDICT, await post('/v1/models/fake/predict', '{"image":1}', 'application/json'));
  const detector = open.loader.latest(FAKE_FILE);
  const gate = deferred();
  detector.gate = gate.promise;
  const held = predict();
  await new Promise((r) => setTimeout(r, 100)); // the first one holds the only slot
  const busy = await predict();
  assert.equal(busy.status, 503);
  await checker.check('POST', PREDICT, busy);
  detector.gate = null;
  gate.resolve();
  await checker.check('POST', PREDICT, await held);

  // Models: list, one, unknown, reload, failed reload.
  assert.equal((await checker.check('GET', '/v1/models', await fetch(`${u}/v1/models`))).models.length, 1);
  await checker.check('GET', '/v1/models/{name}', await fetch(`${u}/v1/models/fake`));
  await checker.check('GET', '/v1/models/{name}', await fetch(`${u}/v1/models/ghost`));
  const reload = '/v1/models/{name}/reload';
  assert.equal((await checker.check('POST', reload, await post('/v1/models/fake/reload'))).reloaded, true);
  await checker.check('POST', reload, await post('/v1/models/ghost/reload'));
  open.loader.fail = new Error('corrupt file');
  await checker.check('POST', reload, await post('/v1/models/fake/reload'));
  open.loader.fail = null;

  // Service routes and the page.
  await checker.check('GET', '/healthz', await fetch(`${u}/healthz`));
  assert.match(await checker.check('GET', '/metrics', await fetch(`${u}/metrics`)), /pyramidflow_requests_total/);
  assert.match(await checker.check('GET', '/', await fetch(`${u}/`)), /<!doctype html>/);

  const expected = [
    `POST ${PREDICT} 400`,
    `POST ${PREDICT} 404`,
    `POST ${PREDICT} 413`,
    `POST ${PREDICT} 415`,
    `POST ${PREDICT} 503`,
    `GET ${picture} 404`,
    `POST ${reload} 500`,
  ];
  for (const label of expected) assert.ok(checker.checked.has(label), `${label} checked`);
  for (const [method, path] of operations(doc)) assert.ok(checker.checked.has(`${method} ${path} 200`), `${method} ${path}: a 200 reply checked`);
});

test('with a token, /openapi.json and /docs need it, and the document declares the bearer scheme', async () => {
  const g = guarded.url;
  for (const path of ['/openapi.json', '/docs']) {
    const res = await fetch(g + path);
    assert.equal(res.status, 401, path);
    assert.equal((await res.json()).error.code, 'E_UNAUTHORIZED');
    assert.equal((await fetch(g + path, { headers: GOOD })).status, 200, path);
  }
  const gdoc = (await (await fetch(`${g}/openapi.json`, { headers: GOOD })).json()) as Doc;
  await assertValidOpenApi(gdoc);
  assert.deepEqual(gdoc.components?.securitySchemes?.bearer, { type: 'http', scheme: 'bearer', description: "This server's token." });
  assert.deepEqual(gdoc.security, [{ bearer: [] }]);
  for (const [method, path, op] of operations(gdoc)) {
    if (path === '/healthz' || path === '/') {
      assert.deepEqual(op.security, [], `${method} ${path} is open`);
      assert.equal((await fetch(g + path)).status, 200, `${path} without a token`);
    } else {
      assert.equal(op.security, undefined, `${method} ${path} needs the document-wide bearer token`);
      assert.equal(op.responses['401']?.content?.['application/json']?.schema?.$ref, ERROR_REF, `${method} ${path}: 401`);
    }
  }
  assert.equal(doc.components?.securitySchemes, undefined, 'no scheme without a token');
  const checker = new ReplyChecker(gdoc);
  await checker.check('GET', '/v1/models', await fetch(`${g}/v1/models`));
  await checker.check('GET', '/v1/models', await fetch(`${g}/v1/models`, { headers: GOOD }));
  await checker.check('GET', '/healthz', await fetch(`${g}/healthz`));
  assert.ok(checker.checked.has('GET /v1/models 401'));
});

test('GET /docs shows every operation and schema of the document, with no script and nothing loaded from anywhere', async () => {
  const res = await fetch(`${open.url}/docs`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /script-src|connect-src/);
  const html = await res.text();
  assert.doesNotMatch(html, /<script/i);
  for (const [, value] of html.matchAll(/(?:src|href)="([^"]*)"/g)) assert.match(value!, /^(#[\w-]+|openapi\.json|data:,)$/, value);
  for (const [method, path] of operations(doc)) assert.ok(html.includes(`${method}</span> <code>${path}</code>`), `${method} ${path}`);
  for (const name of Object.keys(doc.components?.schemas ?? {})) assert.ok(html.includes(`id="schema-${name}"`), name);
  for (const [, target] of html.matchAll(/href="#([\w-]+)"/g)) assert.ok(html.includes(`id="${target}"`), `link to #${target}`);
});
