/**
 * What the page's browser tests (app.test.ts) and scripts/app-screenshots work on: the site built
 * by scripts/build-app.mjs into a temporary folder (never dist/), served by the package's own
 * server at /app (buildServer with appDir), a synthetic data set of tiny images with the bad
 * folders the page must refuse, a model trained by the Node API as the CLI trains it, and how a
 * test reads what the page downloads and what it shows.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { train } from '../../src/api/index.js';
import { synthesize } from '../../src/data/synth.js';
import { buildServer } from '../../src/server/index.js';
import { buildApp } from '../../scripts/build-app.mjs';

/** The tiny images' side, and the page's model size in the tests. */
export const SIZE = 32;

/** Everything a page test needs on disk, and the server. */
export interface AppFixture {
  /** The temporary folder holding all of it. */
  root: string;
  /** The site's URL: http://127.0.0.1:PORT/app/ */
  url: string;
  /** Folders of images: good (8 of 32x32), broken (a .png that is text), mixed (two sizes), few (2). */
  folders: { good: string; broken: string; mixed: string; few: string };
  /** Test images: a good one, two defective ones, a text file named .png. */
  tests: { good: string; defects: string[]; notImage: string };
  /** A model trained by the Node API (as `pyramidflow train` trains it), and a file that is no model. */
  cliModel: string;
  notModel: string;
  /** Stops the server and deletes the folder. */
  close(): Promise<void>;
}

/** What to make: the images' side, how many good images, the CLI model's epochs (0: untrained, at once). */
export interface FixtureOptions {
  /** Side of every image and of the CLI's model (default SIZE). */
  size?: number;
  /** Good training images (default 8). */
  goodImages?: number;
  /** Defective test images (default 2). */
  defectImages?: number;
  /** Epochs of the CLI's model (default 1). */
  cliEpochs?: number;
}

/** Builds the site, writes the images, trains the CLI's model and serves /app. */
export async function appFixture(opts: FixtureOptions = {}): Promise<AppFixture> {
  const size = opts.size ?? SIZE;
  const root = mkdtempSync(join(tmpdir(), 'pf-app-test-'));
  try {
    const site = join(root, 'site');
    await buildApp({ outDir: site });
    const data = join(root, 'data');
    await synthesize({ out: data, categories: ['fabric'], size, train: opts.goodImages ?? 8, testGood: 1, testDefect: opts.defectImages ?? 2, seed: 3 });
    const goodDir = join(data, 'fabric', 'train', 'good');
    const goods = readdirSync(goodDir).sort();
    const folder = (name: string, files: string[], extra: Record<string, Uint8Array | string> = {}): string => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      for (const f of files) copyFileSync(join(goodDir, f), join(dir, f));
      for (const [f, body] of Object.entries(extra)) writeFileSync(join(dir, f), body);
      return dir;
    };
    const grey48 = await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 120, g: 120, b: 120 } } })
      .png()
      .toBuffer();
    const folders = {
      good: goodDir,
      broken: folder('broken', goods.slice(0, 4), { 'broken.png': 'this is not an image' }),
      mixed: folder('mixed', goods.slice(0, 4), { 'odd-size.png': grey48 }),
      few: folder('few', goods.slice(0, 2)),
    };
    const testDir = join(data, 'fabric', 'test');
    const defects = readdirSync(testDir)
      .filter((d) => d !== 'good')
      .sort()
      .flatMap((d) =>
        readdirSync(join(testDir, d))
          .sort()
          .map((f) => join(testDir, d, f)),
      );
    const notImage = join(root, 'notes.png');
    writeFileSync(notImage, 'plain text, not a picture');
    const notModel = join(root, 'notes.pflow');
    writeFileSync(notModel, 'plain text, not a model');
    const cliModel = join(root, 'cli-model.pflow');
    await train({ data, category: 'fabric', out: cliModel, size, epochs: opts.cliEpochs ?? 1, threads: 1 });
    const app = await buildServer({ models: [{ name: 'cli', file: cliModel }], appDir: site, threads: 1 });
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      root,
      url: `${origin}/app/`,
      folders,
      tests: { good: join(testDir, 'good', '000.png'), defects, notImage },
      cliModel,
      notModel,
      close: async () => {
        await app.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
}

/** Clicks "Download model" and returns the file's bytes and name. */
export async function downloadModel(page: Page): Promise<{ bytes: Uint8Array; name: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const path = await download.path();
  return { bytes: new Uint8Array(readFileSync(path)), name: download.suggestedFilename() };
}

/** What one result card shows (its data-* attributes). */
export interface CardView {
  name: string;
  score: number;
  verdict: string;
  regions: number;
  threshold: number;
  /** Opaque pixels of its outline canvas. */
  outlinePixels: number;
}

/** Every result card, in order. */
export function readCards(page: Page): Promise<CardView[]> {
  return page.$$eval('.result', (cards) =>
    cards.map((card) => {
      const el = card as HTMLElement;
      const outline = el.querySelector('canvas.outline') as HTMLCanvasElement;
      // Read through a copy made for reading: reading the page's own canvas makes Chromium warn.
      const copy = document.createElement('canvas');
      copy.width = outline.width;
      copy.height = outline.height;
      const ctx = copy.getContext('2d', { willReadFrequently: true })!;
      ctx.drawImage(outline, 0, 0);
      const pixels = ctx.getImageData(0, 0, copy.width, copy.height).data;
      let opaque = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) opaque++;
      return {
        name: el.dataset.name ?? '',
        score: Number(el.dataset.score),
        verdict: el.dataset.verdict ?? '',
        regions: Number(el.dataset.regions),
        threshold: Number(el.dataset.threshold),
        outlinePixels: opaque,
      };
    }),
  );
}

/** Picks a folder of good images and waits until the page has read it (or refused it). */
export async function pickFolder(page: Page, dir: string): Promise<void> {
  await page.setInputFiles('#folder', dir);
  await page.waitForFunction(() => document.body.dataset.state !== 'busy' && !/^Reading/.test(document.getElementById('data-summary')!.textContent ?? ''));
}

/** Clicks Train with a size and a training length, and waits for the end (trained or stopped). */
export async function waitTrained(page: Page, state: 'trained' | 'stopped' = 'trained', timeout = 240_000): Promise<void> {
  await page.waitForSelector(`body[data-state=${state}]`, { timeout });
}
