/**
 * Worker processes (spawned from source) on a real Redis. Three categories submitted with
 * `submit train --categories all` are trained by two workers into the store. Nothing is lost
 * when a machine goes: the worker training a job is killed
 * with SIGKILL after its first checkpoint, and the other takes the stalled job over and finishes
 * it from the checkpoint in the store, with weights bit-identical to an uninterrupted local
 * `train` of the same options. Then Redis itself is killed with SIGKILL in the middle of a job
 * and restarted (append-only file, appendfsync always): the job survives and finishes, again with
 * the same weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, Queue } from 'bullmq';
import { synth, train } from '../../src/api/index.js';
import { readModelFile } from '../../src/api/model-files.js';
import type { SavedModel } from '../../src/flow/saved-model.js';
import { QUEUE_NAMES, redisOptions } from '../../src/cluster/connection.js';
import { submitTrain } from '../../src/cluster/submit.js';
import { runCli } from '../../src/cli/program.js';
import { argv, fakeContext } from '../cli/fake-context.js';
import type { TrainJobResult } from '../../src/cluster/train-job.js';
import { spawnWorker, waitForJob, type WorkerProcess } from './cluster-helpers.js';
import { type RedisHandle, redisSkip, startRedis } from './redis-server.js';

const skip = redisSkip;
// Long enough to span many checkpoints (one per step), small enough for a busy 2-core machine.
const OPTIONS = { size: 64, channels: 2, kernel: 3, levels: 2, stacks: 2, epochs: 10, checkpointEvery: 1, seed: 5 };

let root: string;
let store: string;
let redis: RedisHandle;
let queue: Queue;
let reference: SavedModel;
const workers: WorkerProcess[] = [];

test.before(async () => {
  if (skip) return;
  root = realpathSync(mkdtempSync(join(tmpdir(), 'pf-cluster-takeover-')));
  store = join(root, 'store');
  mkdirSync(store);
  await synth({ out: join(root, 'data'), categories: ['grid', 'wood', 'fabric'], size: 64, train: 10, testGood: 1, testDefect: 1, seed: 11 });
  redis = await startRedis({ appendOnly: true });
  queue = new Queue(QUEUE_NAMES.train, { connection: redisOptions(redis.url) as ConnectionOptions });
  const args = [
    '--redis',
    redis.url,
    '--queues',
    'train',
    '--threads',
    '1',
    '--data-root',
    root,
    '--store',
    store,
    '--lock-duration',
    '3',
    '--stalled-interval',
    '1',
  ];
  workers.push(spawnWorker(args), spawnWorker(args));
  // The reference: the same training, uninterrupted, in this process (while the workers start).
  await train({ data: join(root, 'data'), category: 'grid', out: join(root, 'reference.pflow'), threads: 1, ...OPTIONS });
  reference = readModelFile(join(root, 'reference.pflow'));
  await Promise.all(workers.map((w) => w.waitFor(/^worker: queues train on /m)));
});

test.after(async () => {
  if (skip) return;
  await Promise.all(workers.map((w) => w.kill()));
  await queue?.close();
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Weights, running means, template and thresholds, bit for bit. */
function assertSameModel(actual: SavedModel, expected: SavedModel): void {
  const bits = (d: SavedModel['params']): Record<string, string> =>
    Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('base64')]));
  assert.deepEqual(Object.keys(actual.params).sort(), Object.keys(expected.params).sort());
  assert.deepEqual(bits(actual.params), bits(expected.params), 'weights');
  assert.deepEqual(bits(actual.buffers), bits(expected.buffers), 'running means');
  assert.deepEqual(
    actual.template?.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')),
    expected.template?.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')),
    'template',
  );
  assert.deepEqual(actual.thresholds, expected.thresholds);
  assert.equal(actual.training.steps, expected.training.steps);
  assert.deepEqual(actual.training.lossPerEpoch, expected.training.lossPerEpoch);
}

test('three categories by two worker processes: `submit train --categories all`, each into the store; `jobs` lists them', { skip }, async () => {
  const ctx = fakeContext();
  const tiny = ['--size', '32', '--channels', '2', '--kernel', '3', '--levels', '2', '--stack', '1', '--epochs', '3'];
  const code = await runCli(
    argv('submit', 'train', '--redis', redis.url, '--data-root', root, '--data', 'data', '--categories', 'all', ...tiny, '--json'),
    ctx,
  );
  assert.equal(code, 0, ctx.stderr.text);
  const submitted = ctx.stdout.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; category: string });
  assert.deepEqual(submitted.map((j) => j.category).sort(), ['fabric', 'grid', 'wood']);
  const ranOn = new Set<string>();
  for (const { id, category } of submitted) {
    const { job, state } = await waitForJob(queue, id);
    assert.equal(state, 'completed', job.failedReason);
    assert.equal((job.returnvalue as TrainJobResult).category, category);
    for (const run of (job.data as { runs: { worker: string }[] }).runs) ranOn.add(run.worker.split(':').at(-1)!);
    assert.equal(readModelFile(join(store, `${category}.pflow`)).training.epochsDone, 3);
  }
  assert.deepEqual([...ranOn].sort(), workers.map((w) => String(w.child.pid)).sort(), 'both workers trained');
  const listed = fakeContext();
  assert.equal(await runCli(argv('jobs', '--redis', redis.url), listed), 0, listed.stderr.text);
  for (const { id, category } of submitted) assert.match(listed.stdout.text, new RegExp(`^${id} +${category} +completed +wasm-\\S+ x1 +generation 1 in `, 'm'));
});

test('a worker killed with SIGKILL mid-training: the other resumes the job from its checkpoint, with identical weights', { skip }, async () => {
  const [job] = await submitTrain({ redis: redis.url, dataRoot: root, data: 'data', category: 'grid', options: OPTIONS });
  const id = job!.id;
  const checkpointed = new RegExp(`^train job ${id} \\(grid\\): checkpoint at epoch`, 'm');
  const first = await Promise.race(workers.map((w, i) => w.waitFor(checkpointed).then(() => i)));
  await workers[first]!.kill();
  const other = workers[1 - first]!;
  await other.waitFor(new RegExp(`^train job ${id} \\(grid\\): resuming from its checkpoint`, 'm'), 30_000);
  const { job: done, state } = await waitForJob(queue, id, 60_000);
  assert.equal(state, 'completed', done.failedReason);
  const result = done.returnvalue as TrainJobResult;
  assert.equal(result.runs, 2, 'two runs: the killed one and the resumed one');
  assert.equal(result.kernels.length, 2);
  const runs = (done.data as { runs: { fromStep: number; resumed: boolean }[] }).runs;
  assert.deepEqual(
    runs.map((r) => r.resumed),
    [false, true],
  );
  assert.ok(runs[1]!.fromStep >= 1 && runs[1]!.fromStep < result.steps, `resumed from step ${runs[1]!.fromStep} of ${result.steps}, not from scratch`);
  assert.ok(!new RegExp(`^train job ${id} \\(grid\\): generation`, 'm').test(workers[first]!.log()), 'the killed worker did not finish it');
  assert.equal(result.generation, 2);
  assertSameModel(readModelFile(join(store, 'grid.pflow')), reference);
});

test('Redis killed with SIGKILL and restarted during a job: the job survives and finishes, with identical weights', { skip }, async () => {
  const survivor = workers.find((w) => w.child.exitCode === null && w.child.signalCode === null)!;
  const [job] = await submitTrain({ redis: redis.url, dataRoot: root, data: 'data', category: 'grid', options: OPTIONS });
  const id = job!.id;
  await survivor.waitFor(new RegExp(`^train job ${id} \\(grid\\): checkpoint at epoch`, 'm'), 30_000);
  await redis.kill();
  await new Promise((r) => setTimeout(r, 300));
  await redis.restart();
  const { job: done, state } = await waitForJob(queue, id, 60_000);
  assert.equal(state, 'completed', done.failedReason);
  assert.equal((done.returnvalue as TrainJobResult).generation, 3);
  assertSameModel(readModelFile(join(store, 'grid.pflow')), reference);
});
