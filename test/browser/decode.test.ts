/**
 * The same image gives the same tensor in the page as on Node: each file is decoded in Chromium
 * by the browser entry (createImageBitmap for PNG and JPEG, our decoder for BMP) and on Node by
 * src/data/decode.ts (sharp), at its own size and resized to the model's, and the planar RGB
 * bytes are compared. Exact for every PNG layout (grey, grey+alpha, RGB, RGBA with every alpha
 * value, 8 and 16 bits, palette with transparency) and for BMP; ICC-tagged images are converted
 * to sRGB by both, by different colour engines (lcms in libvips, skcms in Chromium): within 1
 * level; JPEG: both decoders are libjpeg-turbo, measured identical, allowed 1 level. TIFF is
 * refused with a message naming the file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { decodeImage } from '../../src/data/decode.js';
import { resizeImage, type DecodedImage } from '../../src/data/pixels.js';
import { bundleToTemp, chromiumSkip, launchChromium, openTestPage, serveTestPage, type StaticServer, type TempBundle, type WatchedPage } from './harness.js';
import { decodeFixtures } from './images.js';

/** Largest difference allowed per file, in 8-bit levels (0: identical), and why. */
const TOLERANCE: Record<string, number> = {
  'icc-p3.png': 1, // lcms (sharp) and skcms (Chromium) round the P3 -> sRGB transform differently
  'icc-p3.jpg': 1,
  'photo.jpg': 1, // both libjpeg-turbo (identical when measured); another JPEG decoder may round chroma differently
  'photo-444.jpg': 1,
};
for (let orientation = 2; orientation <= 8; orientation++) TOLERANCE[`exif-${orientation}.jpg`] = 1;

let bundle: TempBundle;
let server: StaticServer;
let browser: Browser;
let watched: WatchedPage;
let files: Record<string, Uint8Array>;

before(async () => {
  if (chromiumSkip) return;
  bundle = await bundleToTemp();
  files = await decodeFixtures();
  server = await serveTestPage(bundle, Object.fromEntries(Object.entries(files).map(([name, bytes]) => [`/images/${name}`, bytes])));
  browser = await launchChromium();
  watched = await openTestPage(browser, server);
});

after(async () => {
  await watched?.close();
  await browser?.close();
  await server?.close();
  bundle?.remove();
});

interface PagePixels {
  width?: number;
  height?: number;
  rgb?: string;
  error?: string;
  code?: string | null;
}

/** Largest and mean absolute difference of two planar images of the same size. */
function compare(page: PagePixels, node: DecodedImage, file: string): { max: number; mean: number } {
  assert.ok(!page.error, `${file}: the page could not decode it: ${page.error}`);
  assert.deepEqual([page.width, page.height], [node.width, node.height], `${file}: sizes differ`);
  const rgb = Buffer.from(page.rgb!, 'base64');
  assert.equal(rgb.length, node.rgb.length, `${file}: the page gave ${rgb.length} bytes, Node ${node.rgb.length}`);
  let max = 0,
    sum = 0;
  for (let i = 0; i < rgb.length; i++) {
    const d = Math.abs(rgb[i]! - node.rgb[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / rgb.length };
}

test('page and Node give the same tensor for every PNG layout, JPEG, ICC-tagged images and BMP', { skip: chromiumSkip, timeout: 120_000 }, async () => {
  const names = Object.keys(files).filter((n) => !n.endsWith('.tif'));
  const size = { width: 32, height: 24 }; // shrinking: Pillow's antialiased bilinear on both sides
  const ownSize = (await watched.page.evaluate(
    ([paths]) => (globalThis as any).pfTest.pixels(paths, null),
    [names.map((n) => `/images/${n}`)],
  )) as PagePixels[];
  const resized = (await watched.page.evaluate(([paths, s]) => (globalThis as any).pfTest.pixels(paths, s), [
    names.map((n) => `/images/${n}`),
    size,
  ] as const)) as PagePixels[];
  const lines: string[] = [];
  for (const [k, name] of names.entries()) {
    const node = await decodeImage(files[name]!, name);
    const own = compare(ownSize[k]!, node, name);
    const small = compare(resized[k]!, resizeImage(node, size.height, size.width), `${name} resized`);
    lines.push(`${name}: max ${own.max} (mean ${own.mean.toFixed(4)}), resized max ${small.max}`);
    const allowed = TOLERANCE[name] ?? 0;
    assert.ok(own.max <= allowed, `${name}: the page's pixels differ from Node's by up to ${own.max} levels (allowed ${allowed})`);
    assert.ok(
      small.max <= allowed,
      `${name}: resized to ${size.width}x${size.height}, the page's pixels differ from Node's by up to ${small.max} levels (allowed ${allowed})`,
    );
    assert.ok(own.mean <= 0.05, `${name}: the mean difference ${own.mean} is more than rounding`);
  }
  console.log(`page vs Node pixels (8-bit levels):\n  ${lines.join('\n  ')}`);
  assert.deepEqual(watched.problems, [], 'the page reported problems');
  assert.deepEqual(watched.foreign, [], 'the page made requests outside its origin');
});

test("the page's main thread decodes as the engine worker does (translucent pixels included)", { skip: chromiumSkip, timeout: 60_000 }, async () => {
  // Several in a row: a synchronous GPU readback would have Chromium warn in the console (checked below).
  for (const name of ['rgba8.png', 'rgba16.png', 'grey-alpha.png', 'photo.jpg', 'image.bmp', 'rgba8.png']) {
    const onPage = (await watched.page.evaluate(([path]) => (globalThis as any).pfTest.pixelsOnPage(path), [`/images/${name}`])) as PagePixels;
    const node = await decodeImage(files[name]!, name);
    const { max } = compare(onPage, node, `${name} on the main thread`);
    assert.ok(max <= (TOLERANCE[name] ?? 0), `${name}: decoded on the page's main thread, differs from Node by ${max}`);
  }
  assert.deepEqual(watched.problems, [], 'the page reported problems');
});

test('TIFF, text, empty and truncated files are refused in one line naming the file', { skip: chromiumSkip, timeout: 60_000 }, async () => {
  const [tiff] = (await watched.page.evaluate(([paths]) => (globalThis as any).pfTest.pixels(paths, null), [['/images/refused.tif']])) as PagePixels[];
  assert.match(tiff!.error ?? '', /^Cannot read image "refused\.tif": TIFF cannot be decoded in a browser/);
  server.set('/images/good-0.png', files['rgb8.png']!);
  const f = (await watched.page.evaluate(([threads]) => (globalThis as any).pfTest.failures(threads), [1])) as Record<string, string | null>;
  assert.match(f.notImage ?? '', /"notes\.txt": not a supported image format/);
  assert.match(f.empty ?? '', /"empty\.png": the file is empty/);
  assert.match(f.tiff ?? '', /"refused\.tif": TIFF cannot be decoded/);
  assert.match(f.truncated ?? '', /"cut\.png": the file is truncated or corrupt/);
  assert.match(f.tooFew ?? '', /only 1 training image\(s\) for batch size 2/);
  assert.match(f.sameName ?? '', /two images are named "good-0\.png"/);
  assert.match(f.notModel ?? '', /notes\.pflow: not a valid pyramidflow model file/);
  assert.match(f.badOption ?? '', /batch must be >= 2, got 1/);
  assert.match(f.nanThreshold ?? '', /good-0\.png: threshold must be a finite number, got NaN/);
  for (const [what, message] of Object.entries(f)) assert.ok(message && !message.includes('\n'), `${what}: not one line: ${message}`);
  // Refusals are answers, not page errors: nothing in the console, nothing fetched from elsewhere.
  assert.deepEqual(watched.problems, [], 'the page reported problems');
  assert.deepEqual(watched.foreign, [], 'the page made requests outside its origin');
});
