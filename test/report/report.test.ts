/**
 * Writes a report from a hand-built TestResult and opens it in Chromium: no console errors, no
 * requests beyond the file itself, the charts and the gallery present; saves a screenshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPORT_CHART_IDS, writeReport } from '../../src/report/index.js';
import { fakeTestResult } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const browserMissing = !existsSync(CHROMIUM) && !process.env.CI;

test('writeReport writes one self-contained index.html', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pyramidflow-report-'));
  try {
    const file = await writeReport(dir, fakeTestResult(3), { createdAt: new Date(0) });
    assert.equal(file, join(dir, 'index.html'));
    const html = readFileSync(file, 'utf8');
    for (const id of REPORT_CHART_IDS) assert.match(html, new RegExp(`<svg id="${id}"`));
    assert.equal((html.match(/class="gallery-item/g) ?? []).length, 3);
    // Self-contained: nothing fetched over the network or from beside the file.
    assert.doesNotMatch(html, /(src|href)="(?!data:|#)/);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report renders in Chromium without errors or requests', {
  skip: browserMissing && `${CHROMIUM} not found (install Debian's chromium; this test is required in CI)`,
  timeout: 60_000,
}, async () => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'pyramidflow-report-'));
  const galleryCount = 6;
  const file = await writeReport(dir, fakeTestResult(galleryCount, 48));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleErrors: string[] = [];
    const failedRequests: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('requestfailed', (request) => failedRequests.push(request.url()));
    page.on('request', (request) => {
      if (!request.url().startsWith('data:')) requests.push(request.url());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    for (const id of REPORT_CHART_IDS) {
      const box = await page.locator(`svg#${id}`).boundingBox();
      assert.ok(box && box.width > 100 && box.height > 50, `chart ${id} is visible`);
    }
    assert.equal(await page.locator('#gallery .gallery-item').count(), galleryCount);
    assert.equal(await page.locator('#gallery img').count(), galleryCount * 4);
    const imagesDecoded = await page.$$eval('#gallery img', (imgs) =>
      imgs.every((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth === 48),
    );
    assert.ok(imagesDecoded, 'every gallery picture decodes at the item size');
    assert.equal(await page.locator('table#metrics tbody tr').count(), 3);

    const screenshot = join(tmpdir(), 'pyramidflow-report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`report screenshot: ${screenshot} (report: ${file})`);

    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(failedRequests, []);
    assert.deepEqual(requests, [pathToFileURL(file).href]);
  } finally {
    await browser.close();
  }
});
