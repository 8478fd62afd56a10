/**
 * The exported graph in a browser: Chromium (Debian's, driven by playwright-core) loads
 * onnxruntime-web (WebAssembly, one thread) in a page served from a local HTTP server, runs the
 * graph on the same images, and gives the same maps and scores as the Detector.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ensureBackend } from '../../src/api/runtime.js';
import { exportOnnx } from '../../src/export/onnx.js';
import { randomImages, syntheticDetector } from './onnx-fixture.js';
import { feedOf } from './onnx-runtimes.js';

const CHROMIUM = '/usr/bin/chromium';
const browserMissing = !existsSync(CHROMIUM) && !process.env.CI;
const ORT_DIST = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

/** Serves the page, onnxruntime-web's files under /ort/, and the model and input bytes. */
function serve(files: Record<string, Uint8Array | string>): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    let body: Uint8Array | string | undefined = files[path];
    let type = TYPES[extname(path)] ?? 'application/octet-stream';
    if (path.startsWith('/ort/')) {
      const file = normalize(join(ORT_DIST, path.slice(5)));
      if (file.startsWith(ORT_DIST) && existsSync(file)) body = readFileSync(file);
    }
    if (path === '/') type = 'text/html';
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test("the exported graph runs in Chromium with onnxruntime-web and gives the Detector's maps and scores", {
  skip: browserMissing && `${CHROMIUM} not found (install Debian's chromium; this test is required in CI)`,
  timeout: 120_000,
}, async () => {
  await ensureBackend(1);
  const detector = syntheticDetector({ levels: 3, volumeNorm: 'svn' });
  const { height, width } = detector.config;
  const { bytes } = exportOnnx(detector);
  const images = randomImages(3, height, width, 77);
  const ours = detector.modelMaps(images);
  const feed = feedOf(images, 'uint8-nhwc');
  const server = await serve({ '/': '<!doctype html><title>onnx</title>', '/model.onnx': bytes, '/input.bin': feed.data as Uint8Array });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const result = await page.evaluate(async (dims: number[]) => {
      const url = '/ort/ort.wasm.min.mjs';
      const ort = await import(url);
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = '/ort/';
      const model = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
      const input = new Uint8Array(await (await fetch('/input.bin')).arrayBuffer());
      const session = await ort.InferenceSession.create(model);
      const out = await session.run({ image: new ort.Tensor('uint8', input, dims) });
      return { map: Array.from(out.anomaly_map.data as Float32Array), score: Array.from(out.score.data as Float32Array) };
    }, feed.dims);
    assert.deepEqual(errors, []);
    const HW = height * width;
    let mapErr = 0,
      scoreErr = 0;
    ours.forEach((m, n) => {
      let max = 0,
        err = 0;
      for (let i = 0; i < HW; i++) {
        max = Math.max(max, Math.abs(m[i]!));
        err = Math.max(err, Math.abs(m[i]! - result.map[n * HW + i]!));
      }
      const s = Math.max(...m);
      mapErr = Math.max(mapErr, err / max);
      scoreErr = Math.max(scoreErr, Math.abs(s - result.score[n]!) / s);
      assert.equal(result.score[n]! > detector.thresholds.image, s > detector.thresholds.image, `image ${n}: the verdict differs`);
    });
    console.log(`ONNX export in Chromium (onnxruntime-web): map ${mapErr.toExponential(2)}, score ${scoreErr.toExponential(2)}`);
    assert.ok(mapErr <= 1e-4, `maps differ by ${mapErr} of their maximum`);
    assert.ok(scoreErr <= 1e-4, `scores differ by ${scoreErr}`);
  } finally {
    await browser.close();
    server.close();
  }
});
