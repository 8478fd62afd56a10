import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as pyramidflow from '../src/index.js';

test('the package entry exports one function per CLI command', () => {
  for (const name of ['train', 'test', 'predict', 'calibrate', 'info', 'conformance', 'synth', 'loadDetector'] as const) {
    // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the test asks the namespace for each export by name
    assert.equal(typeof pyramidflow[name], 'function', name);
  }
});

test('package.json points at the compiled entry and the CLI', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { main: string; bin: Record<string, string> };
  assert.equal(pkg.main, './dist/src/index.js');
  assert.equal(pkg.bin.pyramidflow, './bin/pyramidflow.js');
});
