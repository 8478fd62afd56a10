/**
 * What the browser tests share: the browser bundle built into a temporary folder (never dist/),
 * a static HTTP server on loopback that sends the cross-origin isolation headers (COOP
 * `same-origin`, COEP `require-corp`) or leaves them out, Debian's Chromium through
 * playwright-core, and a page watched for console errors, page and worker errors and requests
 * outside its own origin (which are refused, not sent).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildBrowser, type BrowserBuild } from '../../scripts/build-browser.mjs';

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** The reason to skip a browser test (no Chromium, outside CI), or false: run it. */
export const chromiumSkip: string | false =
  existsSync(CHROMIUM) || process.env.CI ? false : `${CHROMIUM} not found (install Debian's chromium; required in CI)`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.pflow': 'application/octet-stream',
};

/** A body served at a path: bytes or text, or a file read at each request. */
export type Served = Uint8Array | string | { file: string };

/** A running static server. */
export interface StaticServer {
  /** 'http://127.0.0.1:PORT' (no trailing slash). */
  origin: string;
  /** Every request's method and path, in order. */
  requests: string[];
  /** Adds or replaces what a path serves. */
  set(path: string, body: Served): void;
  /** Stops it. */
  close(): Promise<void>;
}

/** How to serve. */
export interface ServeOptions {
  /** Send COOP `same-origin` and COEP `require-corp` (default true): the page is cross-origin isolated. */
  isolated?: boolean;
  /** URL prefixes ('/bundle/') served from folders: the files inside, nothing above. */
  folders?: Record<string, string>;
}

/** Serves `routes` (exact paths) and `folders` on 127.0.0.1, GET and HEAD only; anything else is 404. */
export async function serveStatic(routes: Record<string, Served>, options: ServeOptions = {}): Promise<StaticServer> {
  const isolated = options.isolated !== false;
  const table = new Map(Object.entries(routes));
  const folders = Object.entries(options.folders ?? {});
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(`${req.method} ${path}`);
    let body: Served | undefined = table.get(path);
    for (const [prefix, dir] of folders) {
      if (body !== undefined || !path.startsWith(prefix)) continue;
      const file = normalize(join(dir, decodeURIComponent(path.slice(prefix.length))));
      if (file.startsWith(normalize(dir) + sep) && existsSync(file) && statSync(file).isFile()) body = { file };
    }
    if ((req.method !== 'GET' && req.method !== 'HEAD') || body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const bytes = typeof body === 'object' && 'file' in body ? readFileSync(body.file) : body;
    const headers: Record<string, string> = {
      'content-type': TYPES[extname(path)] ?? (path.endsWith('/') ? TYPES['.html']! : 'application/octet-stream'),
      'cache-control': 'no-store',
    };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'same-origin';
    }
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    set: (path, body) => void table.set(path, body),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A host name that Chromium resolves to 127.0.0.1 (launchChromium maps it): a page served there
 * over plain HTTP is not a secure context (no crypto.subtle, no isolation), as on another machine.
 */
export const INSECURE_HOST = 'pyramidflow.test';

/** The server's origin under INSECURE_HOST instead of 127.0.0.1. */
export function insecureOrigin(server: StaticServer): string {
  return server.origin.replace('127.0.0.1', INSECURE_HOST);
}

/** Starts Chromium headless, without network services of its own; INSECURE_HOST resolves to loopback. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`,
    ],
  });
}

/** A page and what it did wrong. */
export interface WatchedPage {
  /** The page. */
  page: Page;
  /** Its own browser context (closed by close()). */
  context: BrowserContext;
  /** Console errors and warnings (the page's and its workers'), uncaught page errors and crashes, in order. */
  problems: string[];
  /** Requests to anywhere but the page's origin (refused before they leave). */
  foreign: string[];
  /** Closes the context. */
  close(): Promise<void>;
}

/**
 * Opens `url` in a new context, watching the page and its workers: console errors and warnings,
 * uncaught errors, and every request outside `url`'s origin (aborted and recorded).
 */
export async function openWatchedPage(browser: Browser, url: string): Promise<WatchedPage> {
  const origin = new URL(url).origin;
  const context = await browser.newContext();
  const problems: string[] = [];
  const foreign: string[] = [];
  await context.route('**/*', (route) => {
    const target = route.request().url();
    // blob: and data: URLs are the page's own; anything with another origin is outside it.
    if (/^(blob|data):/.test(target) || new URL(target).origin === origin) return route.continue();
    foreign.push(target);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('crash', () => problems.push('the page crashed'));
  await page.goto(url);
  return { page, context, problems, foreign, close: () => context.close() };
}

/** The browser bundle in a temporary folder; remove() deletes it. */
export interface TempBundle extends BrowserBuild {
  /** Deletes the folder. */
  remove(): void;
}

/** Bundles the browser entry (scripts/build-browser.mjs) into a new temporary folder. */
export async function bundleToTemp(): Promise<TempBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'pf-browser-bundle-'));
  try {
    const build = await buildBrowser({ outDir: dir });
    return { ...build, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A minimal page that loads nothing by itself: tests import the bundle with page.evaluate. */
export const BLANK_PAGE = '<!doctype html><meta charset="utf-8"><title>pyramidflow browser test</title><body></body>';

/** The test page's folder: page.html and page.js (window.pfTest, helpers over the bundle). */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/**
 * Serves the test page at '/' (fixtures/page.html and page.js), the bundle under '/bundle/' and
 * `files` under their paths ('/images/a.png': bytes).
 */
export function serveTestPage(bundle: BrowserBuild, files: Record<string, Served>, options: ServeOptions = {}): Promise<StaticServer> {
  const routes: Record<string, Served> = { '/': { file: join(FIXTURES, 'page.html') }, '/page.js': { file: join(FIXTURES, 'page.js') }, ...files };
  return serveStatic(routes, { ...options, folders: { '/bundle/': bundle.outDir, ...options.folders } });
}

/** Opens the test page (at `origin`, default the server's) and waits until page.js has set window.pfTest up. */
export async function openTestPage(browser: Browser, server: StaticServer, origin = server.origin): Promise<WatchedPage> {
  const watched = await openWatchedPage(browser, `${origin}/`);
  await watched.page.waitForFunction(() => (globalThis as { pfTestReady?: boolean }).pfTestReady === true, undefined, { timeout: 30_000 });
  return watched;
}
