import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from '../../src/train/conformance.js';
import { sharedDir } from '../shared-folder.js';

// The official implementation's numbers, beside the project (../shared/reference/vectors).
const dir = join(sharedDir, 'reference', 'vectors');

test('the reference vectors are present', () => {
  assert.ok(existsSync(dir), `expected the reference vectors at ${dir}`);
});

for (const name of existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : []) {
  test(`matches the official implementation on ${name}`, () => {
    const report = runConformance(join(dir, name));
    const failed = report.checks.filter((c) => !c.ok);
    assert.deepEqual(failed, [], failed.map((c) => `${c.name}: ${c.maxError} > ${c.tolerance}`).join('\n'));
    assert.ok(report.checks.length >= 15, 'all quantities were compared');
  });
}
