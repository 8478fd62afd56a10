/**
 * The web page in a real browser (Debian's Chromium through playwright-core) against a server
 * with the fake detector: upload, result, the score matches the JSON API, the slider re-draws
 * the outline without a request, no console errors, nothing fetched from elsewhere; with a
 * token, the page asks for it and sends it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { testImage } from './fake-detector.js';
import { postBytes, startFakeServer, type FakeServer } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`;

let server: FakeServer;
let browser: Browser;
before(async () => {
  if (skip) return;
  server = await startFakeServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('upload an image, see the API score and verdict, and re-draw the outline with the slider', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pyramidflow-page-'));
  const imageFile = join(dir, 'part.png');
  const png = await testImage(96, 96);
  writeFileSync(imageFile, png);
  const api = await postBytes(`${server.url}/v1/models/fake/predict`, png);
  assert.equal(api.status, 200);

  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  const requests: string[] = [];
  page.on('request', (req) => requests.push(`${req.method()} ${req.url()}`));

  await page.goto(`${server.url}/`);
  await page.locator('#model option[value="fake"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('#threshold').inputValue(), '0.5'); // the model's pixel threshold
  await page.locator('#files').setInputFiles(imageFile);
  const score = page.locator('.result .score');
  await score.and(page.locator('[data-value]')).waitFor({ timeout: 20_000 });

  assert.equal(Number(await score.getAttribute('data-value')), api.body.score);
  assert.equal(await score.textContent(), api.body.score.toFixed(4));
  assert.equal(await page.locator('.result .verdict').textContent(), api.body.verdict);
  assert.equal(await page.locator('.result .regions').textContent(), String(api.body.regions.length));

  const outline = page.locator('.result canvas.outline');
  const drawn = (): Promise<string> => outline.evaluate((c: HTMLCanvasElement) => c.toDataURL());
  const blank = await page.evaluate(() => {
    const c = document.querySelector('.result canvas.outline') as HTMLCanvasElement;
    const empty = document.createElement('canvas');
    empty.width = c.width;
    empty.height = c.height;
    return empty.toDataURL();
  });
  const atHalf = await drawn();
  assert.notEqual(atHalf, blank, 'an outline is drawn at the model threshold');
  const aboveAtHalf = await page.locator('.result .above').textContent();

  const requestsBefore = requests.length;
  await page.locator('#threshold').fill('0.8'); // only the bright square stays above
  assert.equal(await page.locator('#threshold-value').textContent(), '0.8000');
  const atHigh = await drawn();
  assert.notEqual(atHigh, atHalf, 'the outline changes with the threshold');
  assert.notEqual(atHigh, blank);
  assert.notEqual(await page.locator('.result .above').textContent(), aboveAtHalf);
  await page.locator('#threshold').fill('1');
  assert.equal(await drawn(), blank, 'nothing is above the top of the scale');
  assert.equal(requests.length, requestsBefore, 'the slider makes no request');

  const screenshot = join(tmpdir(), 'pyramidflow-serve-page.png');
  await page.locator('#threshold').fill('0.5');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);

  const foreign = requests.filter((r) => !r.split(' ')[1]!.startsWith(server.url) && !/ (data|blob):/.test(r));
  assert.deepEqual(foreign, [], 'no request leaves the server');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a file the server refuses shows its error message in the page, without console errors', { skip, timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pyramidflow-page-'));
  const notImage = join(dir, 'notes.png');
  writeFileSync(notImage, 'not an image');
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    // The browser itself reports the failed HTTP status; only script errors matter here.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(msg.text());
  });
  await page.goto(`${server.url}/`);
  await page.locator('#model option[value="fake"]').waitFor({ state: 'attached' });
  await page.locator('#files').setInputFiles(notImage);
  await page.locator('.result.failed').waitFor({ timeout: 20_000 });
  assert.match((await page.locator('.result.failed .error').textContent()) ?? '', /not a PNG, JPEG, BMP or TIFF image/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('with a token, the page asks for it, keeps it for the session and sends it as a bearer token', { skip, timeout: 60_000 }, async () => {
  const token = 'page-test-token-0123456789';
  const guarded = await startFakeServer({ token });
  const dir = mkdtempSync(join(tmpdir(), 'pyramidflow-page-'));
  const imageFile = join(dir, 'part.png');
  writeFileSync(imageFile, await testImage(64, 64));
  const page = await browser.newPage();
  try {
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      // The browser reports the refused request (401) itself; only script errors matter here.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(msg.text());
    });
    const apiCalls: Array<string | undefined> = [];
    page.on('request', (req) => {
      if (req.url().includes('/v1/')) apiCalls.push(req.headers().authorization);
    });
    await page.goto(`${guarded.url}/`);
    const tokenInput = page.locator('#token');
    await tokenInput.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await page.locator('#status').textContent()) ?? '', /token/);
    await tokenInput.fill(token);
    await tokenInput.press('Enter');
    await page.locator('#model option[value="fake"]').waitFor({ state: 'attached', timeout: 10_000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('pyramidflow-token')), token);
    await page.locator('#files').setInputFiles(imageFile);
    await page.locator('.result .score[data-value]').waitFor({ timeout: 20_000 });
    assert.equal(apiCalls[0], undefined, 'the first call, before the token was given');
    assert.ok(apiCalls.length >= 3);
    assert.deepEqual(
      apiCalls.slice(1),
      apiCalls.slice(1).map(() => `Bearer ${token}`),
    );

    // The token lasts the session: a reload lists the models without asking again.
    await page.reload();
    await page.locator('#model option[value="fake"]').waitFor({ state: 'attached', timeout: 10_000 });
    assert.equal(await tokenInput.isVisible(), false);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    await guarded.close();
  }
});

test('the API reference at /docs renders in the browser from the document, requesting nothing but itself', { skip, timeout: 30_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems: string[] = [];
  page.on('console', (msg) => problems.push(`console ${msg.type()}: ${msg.text()}`)); // CSP violations show here
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  const requests: string[] = [];
  page.on('request', (req) => requests.push(req.url()));
  const res = await page.goto(`${server.url}/docs`);
  assert.equal(res?.status(), 200);
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
  const headings = await page.locator('section.op h3').allTextContents();
  assert.deepEqual(headings.sort(), operations.sort());
  assert.ok(await page.locator('#schema-Prediction > table').isVisible(), 'the Prediction schema as a table');
  await page.locator('a[href="#schema-Prediction"]').first().click(); // in-page links only
  const screenshot = join(tmpdir(), 'pyramidflow-serve-docs.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
  assert.deepEqual(requests, [`${server.url}/docs`], 'the page itself and nothing else (no script, style, font or icon)');
  assert.deepEqual(problems, []);
  await page.close();
});
