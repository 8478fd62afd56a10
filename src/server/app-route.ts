/**
 * The in-browser training page (`pyramidflow app`'s static site, built into the package's dist/app
 * by `npm run build`) served at GET /app/ and /app/*: every reply carries the two cross-origin
 * isolation headers (COOP same-origin, COEP require-corp) that SharedArrayBuffer, and so the
 * page's worker threads, need; files get their content type (application/wasm for the kernels);
 * a path that leaves the site's folder (`..`, an encoded slash or backslash, a symbolic link out)
 * is a 404, as is a missing file. The site is read from disk on each request (it is small and
 * static): a rebuilt site is served without a restart.
 *
 * builtSiteDir() finds the site from this module, as the kernels' build/ is found: the CLI's
 * `pyramidflow app` copies from the same folder. No fastify value is imported at run time, so the
 * CLI can use this file without loading the server.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpError } from './errors.js';

/** The URL prefix the page is served under. */
export const APP_PREFIX = '/app';

/** The file a built site holds besides its pages: what the build wrote (`pyramidflow app` uses it). */
export const SITE_MANIFEST = 'pyramidflow-app.json';

/** The isolation headers of every reply under /app (cross-origin isolated: SharedArrayBuffer, threads). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * The page's content security policy: its own files only (scripts, workers, the kernels' WebAssembly,
 * which needs 'wasm-unsafe-eval' to compile), pictures it draws itself (blob:, data:), no requests
 * anywhere else, no frames.
 */
export const APP_CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self' blob: data:; img-src 'self' blob: data:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Content types by file extension; anything else is application/octet-stream (with nosniff). */
export const SITE_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The built site's folder: dist/app of the package this module belongs to (found by walking up
 * from src/server or dist/src/server to the pyramidflow package.json). It may not exist (the site
 * is built by `npm run build`); the callers say so.
 */
export function builtSiteDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  let first: string | undefined;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      first ??= dir;
      if (existsSync(join(dir, 'dist'))) return join(dir, 'dist', 'app');
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(first ?? process.cwd(), 'dist', 'app');
}

/** Whether `dir` holds a built site (its index.html and the build's manifest). */
export function isBuiltSite(dir: string): boolean {
  return existsSync(join(dir, 'index.html')) && existsSync(join(dir, SITE_MANIFEST));
}

/**
 * The file a URL path under the site names, or undefined when it names none or leaves the folder.
 * `rest` is the part after /app/, still percent-encoded; '' and folders are their index.html.
 */
export function siteFile(root: string, rest: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return undefined;
  }
  // Backslashes, NUL and dot segments never name a file of the site (whatever the platform).
  if (decoded.includes('\\') || decoded.includes('\0')) return undefined;
  const parts = decoded.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) return undefined;
  let file = join(root, ...parts);
  try {
    const realRoot = realpathSync(root);
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    const real = realpathSync(file); // a symbolic link may not lead out of the site
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return undefined;
    return statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Options of registerAppRoutes. */
export interface AppRouteOptions {
  /** The site's folder; default builtSiteDir(). */
  dir?: string;
}

/** Declares GET /app (a redirect to /app/), /app/ and /app/* on a server (no schema: hidden from /openapi.json). */
export function registerAppRoutes(app: FastifyInstance, opts: AppRouteOptions = {}): void {
  const root = opts.dir ?? builtSiteDir();
  const send = async (rest: string, reply: FastifyReply): Promise<FastifyReply> => {
    reply.headers(ISOLATION_HEADERS);
    if (!isBuiltSite(root)) {
      throw new HttpError(404, 'E_NOT_FOUND', 'the browser page is not built: run `npm run build` in the pyramidflow package');
    }
    const file = siteFile(root, rest);
    if (file === undefined) throw new HttpError(404, 'E_NOT_FOUND', `no file ${APP_PREFIX}/${rest} in the browser page`);
    const body = await readFile(file);
    const type = SITE_CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    reply.type(type).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache');
    if (type.startsWith('text/html')) reply.header('content-security-policy', APP_CSP);
    return reply.send(body);
  };
  app.get(APP_PREFIX, { schema: { hide: true } }, async (_request, reply) => reply.headers(ISOLATION_HEADERS).redirect(`${APP_PREFIX}/`, 302));
  app.get(`${APP_PREFIX}/*`, { schema: { hide: true } }, async (request, reply) => {
    // The raw URL, not fastify's decoded wildcard: an encoded slash or dot segment must be seen as such.
    const raw = request.url.split('?')[0]!.slice(APP_PREFIX.length + 1);
    return send(raw, reply);
  });
}
