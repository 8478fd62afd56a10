/**
 * The README's browser example (docs/examples/onnx-browser.html, quoted in the README word for
 * word) served as a user would serve it, in Chromium: the same score and verdict as `predict`,
 * no console error, no request outside its origin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { synth, train, predict, exportModel } from '../../src/api/index.js';

const CHROMIUM = '/usr/bin/chromium';
const root = new URL('../../', import.meta.url);
const page = readFileSync(new URL('docs/examples/onnx-browser.html', root), 'utf8');
const ORT_DIST = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));

test('the README quotes the browser example as it is', () => {
  assert.ok(readFileSync(new URL('README.md', root), 'utf8').includes(page.trim()), 'README.md must contain docs/examples/onnx-browser.html verbatim');
});

test("the browser example gives predict's score and verdict", {
  skip: !existsSync(CHROMIUM) && !process.env.CI && `${CHROMIUM} not found (install Debian's chromium; this test is required in CI)`,
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-onnx-page-'));
  const data = join(dir, 'data');
  await synth({ out: data, categories: ['fabric'], size: 32, train: 6, testGood: 2, testDefect: 2, seed: 6 });
  const model = join(dir, 'm.pflow');
  await train({ data, category: 'fabric', out: model, size: 32, channels: 2, kernel: 3, levels: 2, stacks: 1, epochs: 1, threads: 1 });
  const onnx = join(dir, 'm.onnx');
  const { metadata } = await exportModel({ model, format: 'onnx', out: onnx });
  const testDir = join(data, 'fabric', 'test');
  const results = await predict({ model, inputs: readdirSync(testDir).map((d) => join(testDir, d)), threads: 1 });
  const files: Record<string, Uint8Array | string> = { '/': page, '/model.onnx': readFileSync(onnx) };
  results.forEach((r, i) => (files[`/image${i}.png`] = readFileSync(r.file)));
  const outside: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let body = files[path];
    if (path.startsWith('/ort/')) {
      const file = normalize(join(ORT_DIST, path.slice(5)));
      if (file.startsWith(ORT_DIST) && existsSync(file)) body = readFileSync(file);
    }
    const type =
      path === '/' ? 'text/html' : path.endsWith('.mjs') ? 'text/javascript' : path.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': type }).end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    tab.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    tab.on('request', (r) => !r.url().startsWith(origin) && outside.push(r.url()));
    await tab.goto(`${origin}/?threshold=${metadata['pyramidflow.threshold.image']}`);
    await tab
      .waitForFunction(() => typeof (window as unknown as { judge?: unknown }).judge === 'function')
      .catch((e) => {
        throw new Error(`${(e as Error).message}; page errors: ${errors.join(' | ')}; outside: ${outside.join(' ')}`);
      });
    for (const [i, r] of results.entries()) {
      if (r.error) assert.fail(r.error.message);
      const out = await tab.evaluate(async (url) => {
        const w = window as unknown as { judge(b: Blob): Promise<{ score: number; verdict: string; map: number[] }> };
        return w.judge(await (await fetch(url)).blob());
      }, `/image${i}.png`);
      assert.ok(Math.abs(out.score - r.score) <= 1e-4 * Math.abs(r.score), `${r.file}: ${out.score} vs ${r.score}`);
      assert.equal(out.verdict, r.verdict, r.file);
      assert.deepEqual(out.map, [1, 1, 32, 32]);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(outside, []);
  } finally {
    await browser.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
