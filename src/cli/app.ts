/**
 * `pyramidflow app --out DIR`: writes the in-browser training page (a static site: HTML, scripts,
 * the WebAssembly kernels; nothing fetched from anywhere else) that `npm run build` built into the
 * package's dist/app. Any static host serves it, given the two cross-origin isolation headers
 * (the site's `_headers` file sets them on hosts that read one); `pyramidflow serve` serves it at
 * /app. It fails closed: a DIR that holds anything but an earlier output of this command is refused,
 * never overwritten; an earlier output is replaced file by file (only the files it listed).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { builtSiteDir, isBuiltSite, SITE_MANIFEST } from '../server/app-route.js';
import { PyramidFlowError } from '../util/errors.js';
import type { CliContext } from './context.js';
import { addOptions, commandOptions, type CliValues } from './options.js';

/** What the site's build writes into it (scripts/build-app.mjs): which program, and every file of the site. */
export interface SiteManifest {
  /** Always 'pyramidflow-app': marks a folder as this command's output. */
  kind: 'pyramidflow-app';
  /** The package version that built it. */
  version: string;
  /** The site's files, relative, with forward slashes (the manifest itself left out). */
  files: string[];
}

/** What `pyramidflow app` wrote. */
export interface AppWritten {
  /** The output folder, absolute. */
  out: string;
  /** How many files were written (the manifest included). */
  files: number;
  /** Whether an earlier output was replaced. */
  replaced: boolean;
}

/** Reads a folder's manifest; undefined when it has none or it is not one of ours. */
export function readSiteManifest(dir: string): SiteManifest | undefined {
  const file = join(dir, SITE_MANIFEST);
  if (!existsSync(file)) return undefined;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<SiteManifest>;
    if (value.kind !== 'pyramidflow-app' || !Array.isArray(value.files) || !value.files.every((f) => typeof f === 'string')) return undefined;
    return value as SiteManifest;
  } catch {
    return undefined;
  }
}

/** A manifest's relative path as a path inside `dir`, or an error for one that would leave it. */
function inside(dir: string, rel: string, what: string): string {
  const file = resolve(dir, ...rel.split('/'));
  if (rel.includes('\\') || !file.startsWith(resolve(dir) + sep)) {
    throw new PyramidFlowError(`app: ${what} lists "${rel}", a path outside its folder; refusing it`);
  }
  return file;
}

/**
 * Copies the built site (default: the package's dist/app) to `out`. Refuses an `out` that is a
 * file, or a non-empty folder that is not an earlier output; says how to build a missing site.
 */
export function writeApp(opts: { out: string; site?: string }): AppWritten {
  const site = opts.site ?? builtSiteDir();
  const manifest = isBuiltSite(site) ? readSiteManifest(site) : undefined;
  if (!manifest) {
    throw new PyramidFlowError(
      `app: the browser page is not built (${site} has no index.html and ${SITE_MANIFEST}); run \`npm run build\` in the pyramidflow package first`,
    );
  }
  const sources = manifest.files.map((rel) => ({ rel, from: inside(site, rel, join(site, SITE_MANIFEST)) }));
  const missing = sources.filter((s) => !existsSync(s.from)).map((s) => s.rel);
  if (missing.length > 0)
    throw new PyramidFlowError(`app: the built page in ${site} is incomplete (missing ${missing.join(', ')}); run \`npm run build\` again`);

  const out = resolve(opts.out);
  let replaced = false;
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new PyramidFlowError(`app: ${out} is a file, not a folder; give a new or empty folder`);
    if (readdirSync(out).length > 0) {
      const earlier = readSiteManifest(out);
      if (!earlier) {
        throw new PyramidFlowError(
          `app: ${out} is not empty and is not an earlier \`pyramidflow app\` output (no ${SITE_MANIFEST}); give a new or empty folder`,
        );
      }
      // The earlier output's own files only: anything else put there is kept.
      const stale = earlier.files.map((rel) => inside(out, rel, join(out, SITE_MANIFEST))); // all checked before any goes
      for (const file of stale) rmSync(file, { force: true });
      replaced = true;
    }
  }
  mkdirSync(out, { recursive: true });
  for (const { rel, from } of sources) {
    const to = inside(out, rel, 'the site');
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
  copyFileSync(join(site, SITE_MANIFEST), join(out, SITE_MANIFEST)); // last: a folder with it is complete
  return { out, files: sources.length + 1, replaced };
}

/** The lines `pyramidflow app` prints: where the site is and how to serve it. */
export function formatAppWritten(written: AppWritten): string {
  return [
    `browser page written to ${written.out} (${written.files} files${written.replaced ? ', replacing the earlier ones' : ''})`,
    'Serve the folder over HTTPS or on localhost with the headers Cross-Origin-Opener-Policy: same-origin and',
    'Cross-Origin-Embedder-Policy: require-corp (its _headers file sets them on Netlify and Cloudflare Pages);',
    '`pyramidflow serve --model MODEL` serves the same page at http://127.0.0.1:8080/app/.',
  ].join('\n');
}

export function registerApp(program: Command, ctx: CliContext): void {
  const cmd = program.command('app').description('write the in-browser training page (a static site: train, inspect and download models in a browser)');
  addOptions(cmd, 'app')
    .addHelpText('after', '\nExample:\n  $ pyramidflow app --out ./site')
    .action((cli: CliValues) => {
      const { out } = commandOptions<{ out: string }>('app', cli);
      ctx.stdout.write(`${formatAppWritten(writeApp({ out }))}\n`);
    });
}
