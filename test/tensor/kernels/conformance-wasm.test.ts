/**
 * The official-implementation conformance (test/flow/conformance.test.ts runs it on the JS
 * reference backend) on the WebAssembly backend, both builds: its float32 atan / exp
 * polynomials, FFT convolutions and vectorised elementwise kernels must stay within the same
 * tolerances, including the inverse round trip of public_b3.json (little margin: a change of
 * rounding anywhere in the model moves its error by tens of percent either way).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from '../../../src/train/conformance.js';
import { initBackend, setBackend } from '../../../src/tensor/kernels/index.js';
import { JsBackend } from '../../../src/tensor/kernels/js/conv.js';
import { sharedDir } from '../../shared-folder.js';

const dir = join(sharedDir, 'reference', 'vectors');
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

after(() => setBackend(new JsBackend()));

for (const relaxed of [false, true]) {
  test(`wasm ${relaxed ? 'relaxed-simd' : 'simd'} backend matches the official implementation`, async (t) => {
    if (files.length === 0) {
      t.skip(`no reference vectors at ${dir}`);
      return;
    }
    const b = await initBackend({ kind: 'wasm', threads: 2, relaxedSimd: relaxed });
    if (relaxed && !b.name.includes('relaxed')) {
      t.skip('relaxed SIMD is not available in this runtime');
      return;
    }
    for (const name of files) {
      const report = runConformance(join(dir, name));
      const failed = report.checks.filter((c) => !c.ok);
      assert.deepEqual(failed, [], `${b.name} ${name}: ${failed.map((c) => `${c.name}: ${c.maxError} > ${c.tolerance}`).join('\n')}`);
    }
  });
}
