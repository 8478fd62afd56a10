/**
 * The browser page's route (src/server/app-route.ts) on a real listening server, checked with raw
 * HTTP requests (node:http, so that paths reach the server exactly as written, `..` and encoded
 * slashes included): the isolation headers, the content types (application/wasm for the kernels),
 * the bytes of the files, 404s for missing files and for every way out of the site's folder, and a
 * clear 404 when the site was not built.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtSiteDir, SITE_MANIFEST } from '../../src/server/app-route.js';
import { startFakeServer, type FakeServer } from './harness.js';

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** GET `path` exactly as written (no URL normalisation). */
function rawGet(base: string, path: string): Promise<RawReply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const WASM = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
let root: string;
let site: string;
let server: FakeServer;
let unbuilt: FakeServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pf-app-route-'));
  site = join(root, 'site');
  mkdirSync(join(site, 'lib'), { recursive: true });
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(site, 'app.js'), 'export {};');
  writeFileSync(join(site, 'styles.css'), 'body{}');
  writeFileSync(join(site, 'lib', 'kernels-simd.wasm'), WASM);
  writeFileSync(join(site, 'lib', 'data.bin'), 'x');
  writeFileSync(join(site, SITE_MANIFEST), '{"kind":"pyramidflow-app","version":"0","files":[]}');
  writeFileSync(join(root, 'secret.txt'), 'not for the web');
  symlinkSync(join(root, 'secret.txt'), join(site, 'link-out.txt'));
  mkdirSync(join(root, 'empty'));
  server = await startFakeServer({ appDir: site });
  unbuilt = await startFakeServer({ appDir: join(root, 'empty') });
});
after(async () => {
  await server?.close();
  await unbuilt?.close();
  rmSync(root, { recursive: true, force: true });
});

function assertIsolated(reply: RawReply, what: string): void {
  assert.equal(reply.headers['cross-origin-opener-policy'], 'same-origin', `${what}: COOP`);
  assert.equal(reply.headers['cross-origin-embedder-policy'], 'require-corp', `${what}: COEP`);
}

test('/app redirects to /app/, which is the page, cross-origin isolated, with its security policy', async () => {
  const bare = await rawGet(server.url, '/app');
  assert.equal(bare.status, 302);
  assert.equal(bare.headers.location, '/app/');
  const page = await rawGet(server.url, '/app/');
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.body.toString(), '<!doctype html><title>page</title>');
  assertIsolated(page, '/app/');
  assert.match(String(page.headers['content-security-policy']), /script-src 'self' 'wasm-unsafe-eval'/);
  const named = await rawGet(server.url, '/app/index.html?x=1');
  assert.equal(named.status, 200);
  assert.deepEqual(named.body, page.body);
});

test('every file has its content type and the isolation headers; the kernels are application/wasm, byte for byte', async () => {
  const cases: Array<[string, string]> = [
    ['/app/app.js', 'text/javascript; charset=utf-8'],
    ['/app/styles.css', 'text/css; charset=utf-8'],
    ['/app/lib/kernels-simd.wasm', 'application/wasm'],
    ['/app/lib/data.bin', 'application/octet-stream'],
    [`/app/${SITE_MANIFEST}`, 'application/json; charset=utf-8'],
  ];
  for (const [path, type] of cases) {
    const reply = await rawGet(server.url, path);
    assert.equal(reply.status, 200, path);
    assert.equal(reply.headers['content-type'], type, path);
    assert.equal(reply.headers['x-content-type-options'], 'nosniff', path);
    assertIsolated(reply, path);
  }
  assert.deepEqual(new Uint8Array((await rawGet(server.url, '/app/lib/kernels-simd.wasm')).body), WASM);
  // Chromium instantiates it only with this content type: WebAssembly.compileStreaming needs application/wasm.
});

test('missing files and every way out of the folder are 404s, never the file outside', async () => {
  const paths = [
    '/app/missing.js',
    '/app/lib/',
    '/app/../secret.txt',
    '/app/lib/../../secret.txt',
    '/app/%2e%2e/secret.txt',
    '/app/lib/..%2f..%2fsecret.txt',
    '/app/..%5csecret.txt',
    '/app/%2E%2E%2Fsecret.txt',
    '/app/link-out.txt',
    '/app/app.js%00.html',
    '/app/%zz',
  ];
  for (const path of paths) {
    const reply = await rawGet(server.url, path);
    assert.ok(reply.status === 404 || reply.status === 400, `${path}: ${reply.status}`);
    assert.ok(!reply.body.toString().includes('not for the web'), `${path} leaked the file outside the site`);
  }
  const missing = await rawGet(server.url, '/app/missing.js');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body.toString()).error.code, 'E_NOT_FOUND');
});

test('with a token, the page stays open (a navigation cannot send one) while the API is guarded', async () => {
  const guarded = await startFakeServer({ appDir: site, token: 'page-test-token' });
  try {
    assert.equal((await rawGet(guarded.url, '/app')).status, 302);
    for (const path of ['/app/', '/app/app.js', '/app/lib/kernels-simd.wasm']) assert.equal((await rawGet(guarded.url, path)).status, 200, path);
    assert.equal((await rawGet(guarded.url, '/v1/models')).status, 401);
    // The page's prefix is no way round the token: a path through it is the page's 404.
    assert.equal((await rawGet(guarded.url, '/app/../v1/models')).status, 404);
  } finally {
    await guarded.close();
  }
});

test('a server whose page is not built says so at /app/ (404), and the API is unaffected', async () => {
  const reply = await rawGet(unbuilt.url, '/app/');
  assert.equal(reply.status, 404);
  assert.match(JSON.parse(reply.body.toString()).error.message, /not built: run `npm run build`/);
  assert.equal((await rawGet(unbuilt.url, '/healthz')).status, 200);
});

test('the page is not part of the API description', async () => {
  const doc = JSON.parse((await rawGet(server.url, '/openapi.json')).body.toString()) as { paths: Record<string, unknown> };
  assert.deepEqual(
    Object.keys(doc.paths).filter((p) => p.startsWith('/app')),
    [],
  );
});

test('the package finds its built site under dist/app', () => {
  assert.equal(builtSiteDir(), join(process.cwd(), 'dist', 'app'));
});
