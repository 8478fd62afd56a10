/**
 * Training jobs through a real Redis and an in-process worker: a submitted job trains a category
 * into the store as its next generation; malformed jobs and jobs that leave the data root fail
 * with one line and the worker goes on; the generation rule and --force; cancel and retry from the
 * checkpoint; `submit train` and `jobs` on the command line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { synth } from '../../src/api/index.js';
import { readModelFile } from '../../src/api/model-files.js';
import { QUEUE_NAMES, redisOptions } from '../../src/cluster/connection.js';
import { requestCancel } from '../../src/cluster/cancel.js';
import { cancelJob, listJobs, retryJob } from '../../src/cluster/jobs.js';
import type { TrainJobResult } from '../../src/cluster/train-job.js';
import { submitTrain } from '../../src/cluster/submit.js';
import { type RunningWorker, startWorker } from '../../src/cluster/worker.js';
import { runCli } from '../../src/cli/program.js';
import { argv, fakeContext } from '../cli/fake-context.js';
import { waitForJob } from './cluster-helpers.js';
import { type RedisHandle, redisSkip, startRedis } from './redis-server.js';

const TINY = { size: 32, channels: 2, kernel: 3, levels: 2, stacks: 1, epochs: 1 };
const skip = redisSkip;

let redis: RedisHandle;
let worker: RunningWorker;
let queue: Queue;
let root: string;
let store: string;
let outside: string;
const log: string[] = [];

test.before(async () => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), 'pf-cluster-jobs-'));
  store = join(root, 'store');
  mkdirSync(store);
  await synth({ out: join(root, 'data'), categories: ['grid', 'wood'], size: 32, train: 8, testGood: 1, testDefect: 1, seed: 3 });
  outside = mkdtempSync(join(tmpdir(), 'pf-cluster-outside-'));
  symlinkSync(outside, join(root, 'data', 'escape'));
  redis = await startRedis();
  worker = await startWorker({
    redis: redis.url,
    queues: ['train'],
    threads: 1,
    dataRoot: root,
    store,
    lockDuration: 30,
    stalledInterval: 5,
    log: (l) => void log.push(l),
  });
  queue = new Queue(QUEUE_NAMES.train, { connection: redisOptions(redis.url) as ConnectionOptions });
});

test.after(async () => {
  if (skip) return;
  await queue?.close();
  await worker?.close(true);
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const ctx = fakeContext();
  const code = await runCli(argv(...args), ctx);
  return { code, out: ctx.stdout.text, err: ctx.stderr.text };
}

test('a submitted job trains its category into the store as generation 1, then 2; the checkpoint is gone', { skip }, async () => {
  const [job] = await submitTrain({ redis: redis.url, dataRoot: root, data: 'data', category: 'grid', options: { ...TINY, seed: 1 } });
  const { job: done, state } = await waitForJob(queue, job!.id);
  assert.equal(state, 'completed', done.failedReason);
  const result = done.returnvalue as TrainJobResult;
  assert.equal(result.category, 'grid');
  assert.equal(result.model, 'grid.pflow');
  assert.equal(result.generation, 1);
  assert.equal(result.images + result.holdoutImages, 8);
  assert.equal(result.steps, 3);
  assert.equal(result.runs, 1);
  assert.match(result.kernels[0]!, /^wasm-(relaxed-simd(\+avx2)?|simd) x1$/);
  const saved = readModelFile(join(store, 'grid.pflow'));
  assert.equal(saved.resume, null, 'a finished model');
  assert.equal(saved.training.seed, 1);
  assert.deepEqual(saved.thresholds, result.thresholds);
  const entry = JSON.parse(readFileSync(join(store, 'grid.pflow.json'), 'utf8'));
  assert.deepEqual({ generation: entry.generation, jobId: entry.jobId, category: entry.category }, { generation: 1, jobId: job!.id, category: 'grid' });
  assert.deepEqual(readdirSync(join(store, '.checkpoints')), []);
  const run = (done.data as { runs: { relaxedSimd: boolean; kernels: string; threads: number }[] }).runs[0]!;
  assert.equal(run.relaxedSimd, run.kernels.includes('relaxed'));
  assert.equal(run.threads, 1);

  const again = await cli(
    'submit',
    'train',
    '--redis',
    redis.url,
    '--data-root',
    root,
    '--data',
    'data',
    '--category',
    'grid',
    '--size',
    '32',
    '--channels',
    '2',
    '--kernel',
    '3',
    '--levels',
    '2',
    '--stack',
    '1',
    '--epochs',
    '1',
  );
  assert.equal(again.code, 0, again.err);
  const id = /^submitted train job (\S+): grid$/m.exec(again.out)?.[1];
  assert.ok(id, again.out);
  const second = await waitForJob(queue, id);
  assert.equal(second.state, 'completed', second.job.failedReason);
  assert.equal((second.job.returnvalue as TrainJobResult).generation, 2);

  const listed = await cli('jobs', '--redis', redis.url);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, new RegExp(`^${id} +grid +completed +wasm-\\S+ x1 +generation 2 in `, 'm'));
  const json = await cli('jobs', '--redis', redis.url, '--json');
  const rows = json.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(rows.find((r) => r.id === id).result.generation, 2);
});

test('malformed jobs and paths that leave the data root fail with one line; the worker goes on', { skip }, async () => {
  const bad: [unknown, RegExp][] = [
    ['not an object', /: the job data is not an object$/],
    [{ version: 1, category: '../grid', data: 'data' }, /category "\.\.\/grid" is not a category name/],
    [{ version: 1, category: 'grid', data: '/etc' }, /data \/etc: must be relative to the worker's --data-root$/],
    [{ version: 1, category: 'grid', data: '../..' }, /data \.\.\/\.\.: leaves the worker's --data-root$/],
    [{ version: 1, category: 'grid', data: 'data/escape' }, /data data\/escape: leaves the worker's --data-root \(by a symbolic link\)$/],
    [{ version: 1, category: 'grid', data: 'data', options: { out: '/tmp/x.pflow' } }, /options\.out: a job cannot set it/],
    [{ version: 1, category: 'grid', data: 'data', options: { epochs: 'many' } }, /options\.epochs must be a whole number/],
    [
      { version: 1, category: 'grid', data: 'data', options: { normalDir: '../../etc' } },
      /options\.normalDir \.\.\/\.\.\/etc: leaves the worker's --data-root/,
    ],
    [{ version: 2, category: 'grid', data: 'data' }, /version 2; this worker reads version 1/],
  ];
  const ids: string[] = [];
  for (const [data] of bad) ids.push((await queue.add('bad', data as never)).id!);
  for (const [i, [, pattern]] of bad.entries()) {
    const { job, state } = await waitForJob(queue, ids[i]!);
    assert.equal(state, 'failed');
    assert.match(job.failedReason, new RegExp(`^train job ${ids[i]} \\(\\S+\\): `));
    assert.match(job.failedReason, pattern);
    assert.doesNotMatch(job.failedReason, /\n/);
    assert.equal(job.attemptsMade, 1, 'not retried');
  }
  // The worker is still there: a good job after them is done.
  const [good] = await submitTrain({ redis: redis.url, dataRoot: root, data: 'data', category: 'wood', options: TINY });
  assert.equal((await waitForJob(queue, good!.id)).state, 'completed');
  assert.ok(!existsSync('/tmp/x.pflow'));
});

test('submit refuses what a worker would refuse, before anything is queued', { skip }, async () => {
  const before = await queue.count();
  const outside = await cli('submit', 'train', '--redis', redis.url, '--data-root', root, '--data', '../', '--category', 'grid');
  assert.equal(outside.code, 2);
  assert.equal(outside.err, "pyramidflow: --data ../: leaves the worker's --data-root\n");
  const unknown = await cli('submit', 'train', '--redis', redis.url, '--data-root', root, '--data', 'data', '--categories', 'grid,nope');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^pyramidflow: --categories: nope not found under /);
  const many = await cli('submit', 'train', '--redis', redis.url, '--data-root', root, '--data', 'data');
  assert.match(many.err, /holds 2 categories \(grid, wood\): give --category NAME, or --categories a,b\|all/);
  const noRedis = await cli('submit', 'train', '--data', 'data', '--category', 'grid');
  assert.equal(noRedis.err, 'pyramidflow: --redis is required\n');
  assert.equal(await queue.count(), before);
});

test('a job started from generation g fails when the store holds a later one, unless forced', { skip }, async () => {
  const now = JSON.parse(readFileSync(join(store, 'grid.pflow.json'), 'utf8')).generation as number;
  const base = { version: 1, category: 'grid', data: 'data', options: TINY, submittedAt: new Date().toISOString() };
  const stale = await queue.add('grid', { ...base, force: false, startedFromGeneration: now - 1 });
  const refused = await waitForJob(queue, stale.id!);
  assert.equal(refused.state, 'failed');
  assert.match(
    refused.job.failedReason,
    new RegExp(`the store holds generation ${now} of grid .*this job started from ${now - 1}: submit it again, or with --force`),
  );
  assert.equal(JSON.parse(readFileSync(join(store, 'grid.pflow.json'), 'utf8')).generation, now, 'the store is untouched');
  const forced = await queue.add('grid', { ...base, force: true, startedFromGeneration: now - 1 });
  const done = await waitForJob(queue, forced.id!);
  assert.equal(done.state, 'completed', done.job.failedReason);
  assert.equal((done.job.returnvalue as TrainJobResult).generation, now + 1);
});

test("a job whose steps would outlast the worker's lock is refused with the lock to give", { skip }, async () => {
  const [job] = await submitTrain({ redis: redis.url, dataRoot: root, data: 'data', category: 'grid', options: { size: 1024, epochs: 1 } });
  const { job: failed, state } = await waitForJob(queue, job!.id);
  assert.equal(state, 'failed');
  assert.match(
    failed.failedReason,
    /: a training step may take about \d+ s here, too long for this worker's job lock of 30 s: start the worker with --lock-duration \d+ or more$/,
  );
});

test('cancel stops a running job after a step (its checkpoint kept); retry continues it from there', { skip }, async () => {
  const [job] = await submitTrain({
    redis: redis.url,
    dataRoot: root,
    data: 'data',
    category: 'wood',
    options: { ...TINY, size: 64, epochs: 60, checkpointEvery: 1 },
  });
  const id = job!.id;
  for (let t = Date.now(); ; ) {
    const rows = await listJobs({ redis: redis.url });
    const row = rows.find((r) => r.id === id);
    if (row?.state === 'active' && row.progress?.stage === 'training') break;
    assert.ok(Date.now() - t < 30_000, `job ${id} did not start training: ${JSON.stringify(row)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const running = await cli('jobs', '--redis', redis.url);
  assert.match(running.out, new RegExp(`^${id} +wood +active +wasm-\\S+ x1 +epoch \\d+/60 step \\d/3, loss -?[\\d.e+-]+, .* left$`, 'm'));
  const cancelled = await cli('jobs', '--redis', redis.url, '--cancel', id);
  assert.equal(cancelled.code, 0, cancelled.err);
  assert.match(cancelled.out, /cancel requested; it stops after its current step/);
  const failed = await waitForJob(queue, id);
  assert.equal(failed.state, 'failed');
  assert.equal(failed.job.failedReason, `train job ${id} (wood): cancelled; its checkpoint is kept in the store: \`jobs --retry ${id}\` continues it`);
  const checkpoint = join(store, '.checkpoints', `wood.${id}.pflow`);
  const kept = readModelFile(checkpoint);
  assert.ok(kept.resume, 'an unfinished checkpoint');
  assert.ok(kept.training.steps < 60 * 3, `cancelled before the end (${kept.training.steps} steps)`);

  assert.match((await cli('jobs', '--redis', redis.url, '--cancel', id)).err, new RegExp(`^pyramidflow: job ${id} has failed already: nothing to cancel`));
  await retryJob({ redis: redis.url, id });
  const done = await waitForJob(queue, id);
  assert.equal(done.state, 'completed', done.job.failedReason);
  const result = done.job.returnvalue as TrainJobResult;
  assert.equal(result.runs, 2);
  assert.equal(result.steps, 60 * 3);
  assert.ok(!existsSync(checkpoint));
  assert.match(log.join('\n'), new RegExp(`train job ${id} \\(wood\\): resuming from its checkpoint`));
  await assert.rejects(cancelJob({ redis: redis.url, id: 'nope' }), /job nope: no such job in the train queue/);
});

test('a job cancelled before a worker takes it fails as cancelled without training', { skip }, async () => {
  const client = new Redis(redisOptions(redis.url));
  try {
    await requestCancel(client, QUEUE_NAMES.train, 'early-1');
  } finally {
    client.disconnect();
  }
  await queue.add(
    'grid',
    { version: 1, category: 'grid', data: 'data', options: TINY, force: false, submittedAt: new Date().toISOString() },
    { jobId: 'early-1' },
  );
  const { job, state } = await waitForJob(queue, 'early-1');
  assert.equal(state, 'failed');
  assert.equal(job.failedReason, 'train job early-1 (grid): cancelled before it started');
  assert.ok(!existsSync(join(store, '.checkpoints', 'grid.early-1.pflow')));
});
