/**
 * What the package entry (src/index.ts) gives a consumer beyond one function per command: the
 * report writer, the server and the error type to test with instanceof.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pyramidflow from '../../src/index.js';
import { fakeTestResult } from '../report/fixture.js';
import { FakeLoader } from '../server/fake-detector.js';

test('the entry exports the report, the server and the error type', () => {
  for (const name of ['writeReport', 'renderReport', 'startServer', 'buildServer', 'parseModelSpec', 'trainingOptions', 'PyramidFlowError'] as const) {
    // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the test asks the namespace for each export by name
    assert.equal(typeof pyramidflow[name], 'function', name);
  }
  assert.deepEqual(pyramidflow.parseModelSpec('tile=models/tile.pflow'), { name: 'tile', file: 'models/tile.pflow' });
});

test('PyramidFlowError is the class the library throws: instanceof works for consumers', async () => {
  const err = await pyramidflow.test({ model: 'm.pflow', data: 'd', normalSplitRatio: -1 }).catch((e: unknown) => e);
  assert.ok(err instanceof pyramidflow.PyramidFlowError, String(err));
  assert.equal(err.code, 'E_USAGE');
  assert.equal(err.message, '--normal-split-ratio must be >= 0 (got -1)');
});

test('writeReport from the entry writes index.html', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-entry-'));
  try {
    const file = await pyramidflow.writeReport(dir, fakeTestResult(2));
    assert.equal(file, join(dir, 'index.html'));
    assert.match(readFileSync(file, 'utf8'), /^<!doctype html>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('buildServer from the entry serves a detector (no listening)', async () => {
  const app = await pyramidflow.buildServer({ models: [{ name: 'm', file: 'm.pflow' }], loadDetector: new FakeLoader().load });
  try {
    const reply = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(reply.statusCode, 200);
  } finally {
    await app.close();
  }
});
