/**
 * The browser entry bundles for the browser (esbuild, platform 'browser', ES modules) with nothing
 * of Node in it: no node:* module, no sharp, no file system, checked on esbuild's own list of
 * inputs and on the text of the output. The only Node code paths it reaches are dynamic imports
 * a browser never takes (the Node kernel platform, the cgroup memory probe): they are replaced by
 * modules that throw, and the list of them is exact. The build fails, naming the importer, on any
 * other Node import. package.json exports the bundle as `pyramidflow/browser`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as esbuild from 'esbuild';
import { refuseNodeModules, WASM_FILES } from '../../scripts/build-browser.mjs';
import { bundleToTemp, type TempBundle } from './harness.js';

let bundle: TempBundle;
before(async () => {
  bundle = await bundleToTemp();
});
after(() => bundle?.remove());

/** Sources whose code needs Node (the file system, sharp, processes): never in the bundle. */
const NODE_SOURCES =
  /^src\/(api|cli|server|cluster|report|export|import)\/|^src\/data\/(decode|image|image-header|files|loader|dataset-|datasets|mask|png|tiff|augment-mode)\b|^src\/util\/(atomic-file|output-file)\b/;

test('the bundle is the two ES modules and the kernels, with no Node module, sharp or file system in it', () => {
  assert.deepEqual(bundle.files.map((f) => basename(f)).sort(), ['engine-worker.js', 'index.js', ...WASM_FILES].sort());
  const inputs = Object.keys(bundle.metafile.inputs);
  const nodeInputs = inputs.filter((p) => /^(node:|node-stub:)/.test(p) || /node_modules\/(sharp|@img)\//.test(p) || NODE_SOURCES.test(p));
  assert.deepEqual(
    nodeInputs.sort(),
    ['node-stub:fs', 'node-stub:os', 'node-stub:src/tensor/kernels/wasm/node-platform.ts'],
    'inputs of the bundle that belong to Node (only the stubs of the lazy Node paths may be there)',
  );
  for (const [file, output] of Object.entries(bundle.metafile.outputs)) {
    const external = output.imports.filter((i) => i.external);
    assert.deepEqual(external, [], `${file} imports something from outside the bundle`);
  }
  for (const file of bundle.files.filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(file, 'utf8');
    const name = basename(file);
    assert.doesNotMatch(text, /\bnode:[a-z_/]+/, `${name} names a node: module`);
    assert.doesNotMatch(text, /\brequire\s*\(\s*["'`]/, `${name} calls require()`);
    assert.doesNotMatch(text, /\bfrom\s*["'`](fs|path|os|sharp|worker_threads|child_process)["'`]/, `${name} imports a Node module`);
    assert.doesNotMatch(text, /\bimport\s*\(\s*["'`](fs|path|os|sharp|worker_threads)["'`]\s*\)/, `${name} imports a Node module lazily`);
    assert.doesNotMatch(text, /["'`]sharp["'`]/, `${name} names sharp`);
  }
  // The page's module is the thin proxy: the network, the trainer and the kernels are the worker's
  // (the training options' defaults, a table the page's plan reads, are no training code).
  const pageInputs = Object.keys(Object.values(bundle.metafile.outputs).find((o) => o.entryPoint === 'src/browser/index.ts')!.inputs);
  assert.deepEqual(
    pageInputs.filter((p) => /^src\/(train|flow|tensor)\//.test(p) && p !== 'src/train/training-options.ts'),
    [],
    'index.js holds training or kernel code',
  );
  for (const name of WASM_FILES) assert.deepEqual(readFileSync(join(bundle.outDir, name)), readFileSync(join('build', name)), `${name} is not the build's`);
});

test('the build fails, naming the importer, on a Node module imported anywhere else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-browser-guard-'));
  try {
    const cases: [string, string, RegExp][] = [
      [
        'static.ts',
        "import { readFileSync } from 'node:fs'; console.log(readFileSync);",
        /static\.ts imports "node:fs": the browser entry may not use Node modules/,
      ],
      ['bare.ts', "import { join } from 'path'; console.log(join('a'));", /bare\.ts imports "path"/],
      ['sharp.ts', "import sharp from 'sharp'; console.log(sharp);", /sharp\.ts imports "sharp"/],
      ['lazy.ts', "export const f = () => import('node:os');", /lazy\.ts imports "node:os"/],
    ];
    for (const [name, source, message] of cases) {
      const entry = join(dir, name);
      writeFileSync(entry, source);
      const built = esbuild.build({
        entryPoints: [entry],
        bundle: true,
        write: false,
        platform: 'browser',
        format: 'esm',
        logLevel: 'silent',
        plugins: [refuseNodeModules],
      });
      await assert.rejects(built, message, `${name}: not refused`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('package.json exports the bundle as pyramidflow/browser, with its types, and ships it', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    exports: Record<string, Record<string, string>>;
    files: string[];
    scripts: Record<string, string>;
  };
  assert.deepEqual(pkg.exports['./browser'], { types: './dist/src/browser/index.d.ts', default: './dist/browser/index.js' });
  assert.ok(pkg.files.includes('dist/browser'), 'dist/browser is not in "files"');
  // build:ts begins with clean (it deletes dist/): the bundle is built after it.
  assert.match(pkg.scripts.build!, /build:ts && npm run build:browser/);
  assert.equal(pkg.scripts['build:browser'], 'node scripts/build-browser.mjs');
});
