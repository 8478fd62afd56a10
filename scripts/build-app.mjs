#!/usr/bin/env node
// Builds the in-browser training page (app/) into a static site, everything local (no CDN):
//   dist/app/index.html, styles.css     the page (app/)
//   dist/app/app.js                     the page's code (app/app.ts), bundled by esbuild
//   dist/app/lib/                       the browser entry, its engine worker and the kernels' wasm
//                                       (scripts/build-browser.mjs), which app.js imports
//   dist/app/_headers                   the isolation headers, for static hosts that read the file
//   dist/app/pyramidflow-app.json       what was built: the files, for `pyramidflow app`
// app.ts may import only the browser entry (src/browser/index.ts; types from src/browser/types.ts):
// any other import of src/ fails the build, so that the page uses the public API alone.
// Usage: node scripts/build-app.mjs [out-dir]   (default dist/app)
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The manifest's name (src/server/app-route.ts's SITE_MANIFEST). */
export const SITE_MANIFEST = 'pyramidflow-app.json';
/** Where the browser entry goes inside the site, relative to index.html. */
export const LIB_DIR = 'lib';
/** The page's static files, copied as they are. */
const STATIC_FILES = ['index.html', 'styles.css'];
/** The headers every file of the site needs (Netlify / Cloudflare Pages `_headers` syntax). */
const HEADERS_FILE = `/*
  Cross-Origin-Opener-Policy: same-origin
  Cross-Origin-Embedder-Policy: require-corp
  Cross-Origin-Resource-Policy: same-origin
  X-Content-Type-Options: nosniff
`;

/** The entry the page may import: its specifier becomes ./lib/index.js; any other import of src/ is refused. */
const browserEntryOnly = {
  name: 'browser-entry-only',
  setup(build) {
    build.onResolve({ filter: /(^|\/)src\// }, (args) => {
      if (/(^|\/)src\/browser\/index(\.js|\.ts)?$/.test(args.path)) return { path: `./${LIB_DIR}/index.js`, external: true };
      const importer = relative(root, args.importer).split(sep).join('/');
      return { errors: [{ text: `${importer} imports "${args.path}": the page may import only the browser entry (src/browser/index.ts)` }] };
    });
  },
};

/** Every file under `dir`, relative with forward slashes, sorted. */
function listFiles(dir, prefix = '') {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/** Empties `out` if it is an earlier build (or empty); refuses a folder that holds anything else. */
function prepareOutDir(out) {
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0 && !existsSync(join(out, SITE_MANIFEST))) {
      throw new Error(`${out} is not empty and is not an earlier build of the page (no ${SITE_MANIFEST}); refusing to replace it`);
    }
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
}

/**
 * Builds the site into `outDir` (default dist/app; replaced if it is an earlier build). Returns the
 * folder and its files (relative), as the manifest lists them.
 */
export async function buildApp({ outDir = join(root, 'dist', 'app'), minify = false } = {}) {
  const out = resolve(outDir);
  // The browser entry's own build script (same repository); its errors name what is wrong.
  const { buildBrowser } = await import(pathToFileURL(join(root, 'scripts', 'build-browser.mjs')).href);
  prepareOutDir(out);
  await buildBrowser({ outDir: join(out, LIB_DIR), minify });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: 'app/app.ts' },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify,
    sourcemap: false,
    logLevel: 'silent',
    legalComments: 'none',
    plugins: [browserEntryOnly],
  });
  for (const name of STATIC_FILES) copyFileSync(join(root, 'app', name), join(out, name));
  writeFileSync(join(out, '_headers'), HEADERS_FILE);
  const files = listFiles(out);
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  writeFileSync(join(out, SITE_MANIFEST), `${JSON.stringify({ kind: 'pyramidflow-app', version, files }, null, 2)}\n`);
  return { outDir: out, files };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : undefined;
  try {
    const { outDir: out, files } = await buildApp({ outDir });
    console.log(`build-app: ${files.length} files in ${relative(process.cwd(), out) || '.'}`);
  } catch (e) {
    const lines = e.errors?.map((x) => `build-app: ${x.location ? `${x.location.file}:${x.location.line}: ` : ''}${x.text}`) ?? [`build-app: ${e.message}`];
    console.error(lines.join('\n'));
    process.exit(1);
  }
}
