/**
 * The worker's model cache (src/cluster/model-cache.ts): a model is loaded once and reused; a file
 * replaced (a new generation) is loaded again, one merely touched is not; the least recently used
 * model goes past the limit; a missing file is one line naming it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, utimesSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synth, train } from '../../src/api/index.js';
import { ModelCache } from '../../src/cluster/model-cache.js';
import { PyramidFlowError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-model-cache-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const tiny = { size: 32, channels: 2, kernel: 3, levels: 2, stacks: 1, epochs: 1, threads: 1 };
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

test('ModelCache: once per version of a file, least recently used out, missing files named', { timeout: 120_000 }, async () => {
  await synth({ out: join(dir, 'data'), categories: ['grid'], size: 32, train: 6, testGood: 1, testDefect: 1, seed: 4 });
  const a = join(dir, 'a.pflow');
  const b = join(dir, 'b.pflow');
  await train({ data: join(dir, 'data'), category: 'grid', out: a, ...tiny, seed: 1 });
  await train({ data: join(dir, 'data'), category: 'grid', out: b, ...tiny, seed: 2 });
  const live = join(dir, 'grid.pflow');
  copyFileSync(a, live);

  const cache = new ModelCache(2);
  const first = cache.get(live);
  assert.equal(first.sha256, sha(a));
  assert.equal(cache.get(live), first, 'the same detector on the next job');
  utimesSync(live, new Date(), new Date(Date.now() + 5000));
  assert.equal(cache.get(live).detector, first.detector, 'touched, same bytes: kept');
  assert.equal(cache.loads, 1);

  copyFileSync(b, `${live}.tmp`);
  renameSync(`${live}.tmp`, live); // as the store publishes a generation
  const second = cache.get(live);
  assert.notEqual(second.detector, first.detector);
  assert.equal(second.sha256, sha(b));
  assert.equal(cache.loads, 2);

  // Two more files: the limit of 2 drops the least recently used (live).
  cache.get(a);
  cache.get(b);
  assert.equal(cache.size, 2);
  cache.get(b);
  assert.equal(cache.loads, 4);
  cache.get(live);
  assert.equal(cache.loads, 5, 'live was dropped and loaded again');

  unlinkSync(live);
  assert.throws(
    () => cache.get(live),
    (err: unknown) => err instanceof PyramidFlowError && err.code === 'E_MODEL_FILE' && err.message === `${live}: model file not found`,
  );
});
