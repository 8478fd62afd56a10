/**
 * The model store's generation rule and lock, and the lock duration's estimate against the
 * README's measured step times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoLockMs, BULLMQ_DEFAULT_LOCK_MS, estimateStepSeconds, lockCoversStep } from '../../src/cluster/lock-time.js';
import { isCategoryName } from '../../src/cluster/job-data.js';
import { publishModel, readStoreEntry, storePaths, withStoreLock } from '../../src/cluster/store.js';
import { PyramidFlowError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-cluster-store-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (n: number): Uint8Array => new Uint8Array([n, n, n]);

test('generations count up; a job that started from an older one is refused unless forced; the model is untouched then', async () => {
  const store = join(dir, 'a');
  assert.equal(readStoreEntry(store, 'tile'), undefined);
  const first = await publishModel(store, 'tile', { bytes: bytes(1), jobId: '1', startedFrom: 0, force: false, kernels: ['wasm-simd x2'] });
  assert.equal(first.generation, 1);
  assert.deepEqual(readStoreEntry(store, 'tile'), first);
  assert.equal((await publishModel(store, 'tile', { bytes: bytes(2), jobId: '2', startedFrom: 1, force: false, kernels: [] })).generation, 2);
  await assert.rejects(
    publishModel(store, 'tile', { bytes: bytes(3), jobId: '3', startedFrom: 1, force: false, kernels: [] }),
    (e: unknown) =>
      e instanceof PyramidFlowError &&
      e.code === 'E_GENERATION' &&
      /holds generation 2 \(written by job 2\) but this job started from generation 1/.test(e.message),
  );
  assert.deepEqual([...readFileSync(storePaths(store, 'tile').model)], [2, 2, 2]);
  assert.equal((await publishModel(store, 'tile', { bytes: bytes(3), jobId: '3', startedFrom: 1, force: true, kernels: [] })).generation, 3);
  // The same job publishing again (a retry after its first publish) changes nothing.
  assert.equal((await publishModel(store, 'tile', { bytes: bytes(9), jobId: '3', startedFrom: 1, force: true, kernels: [] })).generation, 3);
  assert.deepEqual([...readFileSync(storePaths(store, 'tile').model)], [3, 3, 3]);
  assert.ok(!existsSync(storePaths(store, 'tile').lock), 'the lock is released');
});

test('two jobs of one category that started from the same generation: exactly one wins', async () => {
  const store = join(dir, 'b');
  const results = await Promise.allSettled(
    ['10', '11', '12'].map((jobId) => publishModel(store, 'wood', { bytes: bytes(Number(jobId)), jobId, startedFrom: 0, force: false, kernels: [] })),
  );
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.equal(readStoreEntry(store, 'wood')?.generation, 1);
});

test('the lock excludes a second holder until released; a stale lock (a worker died holding it) is taken over', async () => {
  const paths = storePaths(join(dir, 'c'), 'grid');
  let inside = 0;
  let most = 0;
  const hold = () =>
    withStoreLock(paths, async () => {
      most = Math.max(most, ++inside);
      await new Promise((r) => setTimeout(r, 30));
      inside--;
    });
  await Promise.all([hold(), hold(), hold()]);
  assert.equal(most, 1);
  writeFileSync(paths.lock, '{"host":"gone","pid":1}');
  await assert.rejects(
    withStoreLock(paths, () => 1, 300),
    /grid\.pflow\.lock: held by another worker/,
  );
  const old = new Date(Date.now() - 120_000);
  utimesSync(paths.lock, old, old);
  assert.equal(await withStoreLock(paths, () => 7, 1000), 7);
});

test('a corrupt store entry is one error naming the file', () => {
  const store = join(dir, 'd');
  const { entry } = storePaths(store, 'tile');
  mkdirSync(store, { recursive: true });
  writeFileSync(entry, '{not json');
  assert.throws(
    () => readStoreEntry(store, 'tile'),
    (e: unknown) => e instanceof PyramidFlowError && e.message.startsWith(`${entry}: not a readable store entry`),
  );
  writeFileSync(entry, '{"generation": 0}');
  assert.throws(() => readStoreEntry(store, 'tile'), /not a store entry \(no generation\)/);
});

test("category names are file names of the store: no paths, no dot files, not the store's own suffixes", () => {
  for (const ok of ['tile', 'metal_nut', 'part-7', 'A.b']) assert.ok(isCategoryName(ok), ok);
  for (const bad of ['', '.hidden', '../x', 'a/b', 'a\\b', 'x.json', 'x.lock', 'a b', 'x'.repeat(129)]) assert.ok(!isCategoryName(bad), bad);
});

test("the lock outlasts a step: the estimate covers the README's measured step times on 2 cores", () => {
  const shape = { batch: 2, channels: 16, blocks: 16, threads: 2 };
  assert.ok(estimateStepSeconds({ ...shape, height: 256, width: 256, saveMemory: false }) >= 1.3);
  assert.ok(estimateStepSeconds({ ...shape, height: 256, width: 256, saveMemory: true }) >= 1.68);
  const big = estimateStepSeconds({ ...shape, height: 1024, width: 1024, saveMemory: true });
  assert.ok(big >= 29, `1024x1024 memory saving: ${big} s`);
  const lock = autoLockMs(2);
  assert.ok(lock > BULLMQ_DEFAULT_LOCK_MS, "more than BullMQ's 30 s default, which a 29 s step would nearly exhaust");
  assert.ok(lockCoversStep(lock, big));
  assert.ok(!lockCoversStep(BULLMQ_DEFAULT_LOCK_MS, 29));
  assert.equal(autoLockMs(1024), BULLMQ_DEFAULT_LOCK_MS, 'never below the default');
});
