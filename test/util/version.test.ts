import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PROGRAM } from '../../src/util/version.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig } from '../../src/flow/config.js';
import { decodeSavedModel, encodeSavedModel, snapshot } from '../../src/flow/saved-model.js';
import { trainingRecord } from '../flow/helpers.js';

test('the version written into model files is the package version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  assert.deepEqual(PROGRAM, { name: pkg.name, version: pkg.version });
  const record = trainingRecord({ format: 'folder', seed: 0, lr: 1e-4, epochs: 0 });
  const m = PyramidFlow.create(resolveConfig({ channels: 2, kernel: 3, levels: 2, stacks: 1, size: 8 }), 0);
  assert.deepEqual(decodeSavedModel(encodeSavedModel(snapshot(m, record)), 'v.pflow').program, { name: pkg.name, version: pkg.version });
});
