/**
 * `pyramidflow app --out DIR` (src/cli/app.ts) on a stand-in built site: it copies every file the
 * build's manifest lists, refuses a folder that holds anything else (and changes nothing in it),
 * replaces an earlier output file by file (keeping files put there by hand), refuses a manifest
 * that points outside its folder, and says how to build a missing site. The command line wires
 * --out from the option table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAppWritten, writeApp } from '../../src/cli/app.js';
import { runCli } from '../../src/cli/program.js';
import { SITE_MANIFEST } from '../../src/server/app-route.js';
import { argv, fakeContext } from './fake-context.js';

/** A built site in a temporary folder: files by relative path, and the manifest listing them. */
function fakeSite(files: Record<string, string>): { root: string; site: string } {
  const root = mkdtempSync(join(tmpdir(), 'pf-app-cmd-'));
  const site = join(root, 'site');
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(site, rel, '..'), { recursive: true });
    writeFileSync(join(site, rel), text);
  }
  writeFileSync(join(site, SITE_MANIFEST), JSON.stringify({ kind: 'pyramidflow-app', version: '0.0.0', files: Object.keys(files) }));
  return { root, site };
}

test('writes every file of the built site and its manifest into a new folder', () => {
  const { root, site } = fakeSite({ 'index.html': 'page', 'app.js': 'js', 'lib/kernels-simd.wasm': 'wasm', _headers: 'h' });
  try {
    const out = join(root, 'out');
    const written = writeApp({ out, site });
    assert.deepEqual(written, { out, files: 5, replaced: false });
    for (const rel of ['index.html', 'app.js', 'lib/kernels-simd.wasm', '_headers', SITE_MANIFEST]) {
      assert.equal(readFileSync(join(out, rel), 'utf8'), readFileSync(join(site, rel), 'utf8'), rel);
    }
    assert.match(formatAppWritten(written), /Cross-Origin-Opener-Policy: same-origin[\s\S]*Cross-Origin-Embedder-Policy: require-corp/);
    // an empty folder is as good as a new one
    const empty = join(root, 'empty');
    mkdirSync(empty);
    assert.equal(writeApp({ out: empty, site }).files, 5);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('refuses a non-empty folder that is not an earlier output, and a file, changing nothing', () => {
  const { root, site } = fakeSite({ 'index.html': 'page' });
  try {
    const out = join(root, 'mine');
    mkdirSync(out);
    writeFileSync(join(out, 'index.html'), 'my own page');
    assert.throws(() => writeApp({ out, site }), /mine is not empty and is not an earlier `pyramidflow app` output/);
    assert.equal(readFileSync(join(out, 'index.html'), 'utf8'), 'my own page');
    assert.ok(!existsSync(join(out, SITE_MANIFEST)));
    const file = join(root, 'file.txt');
    writeFileSync(file, 'x');
    assert.throws(() => writeApp({ out: file, site }), /file\.txt is a file, not a folder/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('replaces an earlier output: its old files go, files added by hand stay', () => {
  const first = fakeSite({ 'index.html': 'v1', 'old.js': 'old' });
  const second = fakeSite({ 'index.html': 'v2', 'new.js': 'new' });
  try {
    const out = join(first.root, 'out');
    writeApp({ out, site: first.site });
    writeFileSync(join(out, 'robots.txt'), 'mine');
    const written = writeApp({ out, site: second.site });
    assert.equal(written.replaced, true);
    assert.equal(readFileSync(join(out, 'index.html'), 'utf8'), 'v2');
    assert.equal(readFileSync(join(out, 'new.js'), 'utf8'), 'new');
    assert.ok(!existsSync(join(out, 'old.js')), 'a file of the earlier output is left');
    assert.equal(readFileSync(join(out, 'robots.txt'), 'utf8'), 'mine');
  } finally {
    rmSync(first.root, { recursive: true, force: true });
    rmSync(second.root, { recursive: true, force: true });
  }
});

test('a site that is not built, or a manifest that leaves its folder, is refused with the reason', () => {
  const { root, site } = fakeSite({ 'index.html': 'page' });
  try {
    assert.throws(() => writeApp({ out: join(root, 'a'), site: join(root, 'nothing') }), /browser page is not built .* run `npm run build`/);
    writeFileSync(join(site, SITE_MANIFEST), JSON.stringify({ kind: 'pyramidflow-app', version: '0', files: ['index.html', '../secret'] }));
    assert.throws(() => writeApp({ out: join(root, 'b'), site }), /lists "\.\.\/secret", a path outside its folder/);
    assert.ok(!existsSync(join(root, 'b')));
    writeFileSync(join(site, SITE_MANIFEST), JSON.stringify({ kind: 'pyramidflow-app', version: '0', files: ['index.html', 'gone.js'] }));
    assert.throws(() => writeApp({ out: join(root, 'c'), site }), /incomplete \(missing gone\.js\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the command line: --out is required; the command copies the package build or says it is missing', async () => {
  const ctx = fakeContext();
  assert.equal(await runCli(argv('app'), ctx), 2);
  assert.match(ctx.stderr.text, /--out is required/);
  const help = fakeContext();
  assert.equal(await runCli(argv('app', '--help'), help), 0);
  assert.match(help.stdout.text, /--out <path>\s+folder to write the static site to/);
  const root = mkdtempSync(join(tmpdir(), 'pf-app-cli-'));
  try {
    const run = fakeContext();
    const code = await runCli(argv('app', '--out', join(root, 'site')), run);
    if (code === 0) assert.ok(existsSync(join(root, 'site', 'index.html')) && existsSync(join(root, 'site', SITE_MANIFEST)));
    else assert.match(run.stderr.text, /^pyramidflow: app: the browser page is not built/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
