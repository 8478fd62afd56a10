/**
 * `pyramidflow serve --redis` with `pyramidflow worker --queues predict` processes, all spawned
 * from source, on a real redis-server: concurrent requests are judged by two workers, and every
 * answer equals the library's own `predict` of the same file in this process; a model replaced in
 * the store is used by the next request without a restart; a full queue is a 503 with
 * Retry-After; no worker in time is a 504; Redis gone is a 503; a model a worker may not read is a
 * 500; a malformed job is refused by the worker. Never a verdict for an image nobody judged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { loadDetector, predict, synth, train } from '../../src/api/index.js';
import { QUEUE_NAMES } from '../../src/cluster/connection.js';
import { downsampleMax } from '../../src/server/predict.js';
import { type RedisHandle, redisSkip, startRedis } from './redis-server.js';
import { type Doc, ReplyChecker } from '../server/openapi-check.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-cluster-serve-'));
const data = join(dir, 'data');
const store = join(dir, 'store');
const outside = join(dir, 'outside');
const modelA = join(dir, 'a.pflow');
const modelB = join(dir, 'b.pflow');
const storeModel = join(store, 'fabric.pflow');
const tiny = { size: 32, channels: 2, kernel: 3, levels: 2, stacks: 1, epochs: 1, threads: 1 };
const children: ChildProcess[] = [];
let redis: RedisHandle;
let images: string[];

interface Spawned {
  child: ChildProcess;
  /** The first output line matching the pattern. */
  ready: Promise<string>;
  output: () => string;
}

/** The CLI from source in a child process, with `ready` once a line of its output matches `pattern`. */
function cli(args: string[], pattern: RegExp): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  const ready = new Promise<string>((resolve, reject) => {
    const look = (chunk: Buffer): void => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line) resolve(line);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`pyramidflow ${args[0]} exited (${code}) before it was ready: ${text}`)));
  });
  return { child, ready, output: () => text };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function startWorker(): Spawned {
  return cli(['worker', '--redis', redis.url, '--queues', 'predict', '--store', store, '--threads', '1'], /^worker: queues/);
}

async function startServe(extra: string[]): Promise<{ base: string; child: ChildProcess }> {
  const serve = cli(['serve', '--model', `fabric=${storeModel}`, '--redis', redis.url, '--port', '0', '--log-level', 'warn', ...extra], /serving .* at http/);
  const line = await serve.ready;
  return { base: /(http:\/\/\S+?)\/?$/.exec(line)![1]!, child: serve.child };
}

async function post(url: string, file: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: readFileSync(file) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** The judged fields of an answer, to compare with the library's own predict. */
function judged(b: Record<string, unknown>): Record<string, unknown> {
  return { score: b.score, verdict: b.verdict, regions: b.regions, width: b.width, height: b.height };
}

/** The library's predict of each image with one model, in this process: the truth the answers must equal. */
async function localTruth(model: string): Promise<Map<string, Record<string, unknown>>> {
  const results = await predict({ model, inputs: images, threads: 1 });
  return new Map(
    results.map((r) => {
      if (!('score' in r)) throw new Error(`local predict failed on ${r.file}: ${JSON.stringify(r)}`);
      return [r.file, { score: r.score, verdict: r.verdict, regions: r.regions, width: r.width, height: r.height }];
    }),
  );
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

before(async () => {
  if (redisSkip) return;
  redis = await startRedis();
  await synth({ out: data, categories: ['fabric'], size: 32, train: 8, testGood: 2, testDefect: 3, seed: 3 });
  await train({ data, category: 'fabric', out: modelA, ...tiny, seed: 1 });
  await train({ data, category: 'fabric', out: modelB, ...tiny, seed: 2 });
  mkdirSync(store);
  mkdirSync(outside);
  copyFileSync(modelA, storeModel);
  copyFileSync(modelA, join(outside, 'other.pflow'));
  const test = join(data, 'fabric', 'test');
  images = readdirSync(test).flatMap((kind) => readdirSync(join(test, kind)).map((f) => join(test, kind, f)));
});

after(async () => {
  for (const child of children) await stop(child);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('serve --redis with two workers: concurrent answers equal a local predict; a replaced model is used at once', {
  skip: redisSkip,
  timeout: 240_000,
}, async () => {
  const workers = [startWorker(), startWorker()];
  try {
    await concurrentAnswers(workers);
  } finally {
    // stopped even when an assertion fails, so that they do not take the next test's jobs
    await Promise.all(workers.map((w) => stop(w.child)));
  }
});

/** The first test's body, with its two workers. */
async function concurrentAnswers(workers: Spawned[]): Promise<void> {
  await Promise.all(workers.map((w) => w.ready));
  // 20 requests at once: a queue bound above them (admission is the next test's)
  const { base } = await startServe(['--model', `other=${join(outside, 'other.pflow')}`, '--max-queue', '64']);
  const url = `${base}/v1/models/fabric/predict`;
  const truthA = await localTruth(modelA);
  assert.ok(new Set([...truthA.values()].map((t) => t.verdict)).size === 2, 'the images hold good and defect verdicts');

  // Four rounds of every image at once.
  const files = [...images, ...images, ...images, ...images];
  const answers = await Promise.all(files.map((f) => post(url, f)));
  for (const [i, a] of answers.entries()) {
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(judged(a.body), truthA.get(files[i]!), files[i]);
    assert.equal(a.body.model, 'fabric');
    assert.equal(a.body.model_sha256, sha256(modelA));
  }
  const judgedBy = new Set(answers.map((a) => a.body.worker));
  assert.equal(judgedBy.size, 2, `both workers judged images: ${[...judgedBy].join(', ')}`);

  // The pictures are the local detector's, byte for byte.
  const local = await loadDetector(modelA, { threads: 1 });
  // Replies as the server's OpenAPI document describes them.
  const checker = new ReplyChecker((await (await fetch(`${base}/openapi.json`)).json()) as Doc);
  const template = '/v1/models/{name}/predict';
  const withPictures = await fetch(`${url}?heatmap=png&mask=png&map=json`, {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: readFileSync(images[0]!),
  });
  const pictured = (await checker.check('POST', template, withPictures)) as Record<string, string>;
  const pred = await local.predictImage(readFileSync(images[0]!));
  assert.equal(pictured.heatmap, `data:image/png;base64,${(await local.heatmapPng(pred)).toString('base64')}`);
  assert.equal(pictured.mask, `data:image/png;base64,${(await local.maskPng(pred)).toString('base64')}`);
  assert.deepEqual(pictured.map, downsampleMax(pred.map, pred.width, pred.height, 128), 'the map as a lone server shrinks it');

  // A retrained model lands in the store (atomically, as the store writes it): the next answers are the new model's, no restart.
  const truthB = await localTruth(modelB);
  assert.notDeepEqual([...truthB.values()], [...truthA.values()], 'the two models judge differently');
  copyFileSync(modelB, `${storeModel}.tmp`);
  renameSync(`${storeModel}.tmp`, storeModel);
  const again = await Promise.all(images.map((f) => post(url, f)));
  for (const [i, a] of again.entries()) {
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(judged(a.body), truthB.get(images[i]!), images[i]);
    assert.equal(a.body.model_sha256, sha256(modelB));
  }
  for (const w of workers) assert.equal(w.child.exitCode, null, 'the workers were not restarted');

  // A model outside the workers' store: an error from the worker, no verdict.
  const refusedRes = await fetch(`${base}/v1/models/other/predict`, {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: readFileSync(images[0]!),
  });
  assert.equal(refusedRes.status, 500);
  const refused = await checker.check('POST', template, refusedRes);
  assert.equal(refused.error.code, 'E_MODEL_LOAD');
  assert.match(refused.error.message, /outside this worker's store/);
  assert.equal(refused.verdict, undefined);
  // A PNG cut short (its header passes the server's check; the worker cannot decode it): the client's error, no verdict.
  const cut = await fetch(url, { method: 'POST', headers: { 'content-type': 'image/png' }, body: readFileSync(images[0]!).subarray(0, 120) });
  const cutBody = (await checker.check('POST', template, cut)) as Record<string, unknown>;
  assert.equal(cut.status, 400, JSON.stringify(cutBody));
  assert.equal(cutBody.verdict, undefined);

  // A job put in the queue by anyone else is checked like a request: a map of a billion pixels a side is refused.
  const connection = { host: '127.0.0.1', port: redis.port };
  const queue = new Queue(QUEUE_NAMES.predict, { connection });
  // from the stream's start: a job refused in a few milliseconds can end before a reader at '$'
  // (the default) issues its first read, whose outcome waitUntilFinished would then never hear
  const events = new QueueEvents(QUEUE_NAMES.predict, { connection, lastEventId: '0-0' });
  try {
    await events.waitUntilReady();
    const image = readFileSync(images[0]!).toString('base64');
    const job = await queue.add('predict', { model: 'fabric', file: storeModel, image, fileName: 'x.png', maxBytes: 1e6, maxPixels: 1e6, mapSize: 1e9 });
    assert.deepEqual(await job.waitUntilFinished(events, 30_000), {
      ok: false,
      error: { status: 400, code: 'E_BAD_JOB', message: "the job's mapSize is not valid" },
    });
  } finally {
    await events.close();
    await queue.close();
  }
}

test('serve --redis: past --max-queue waiting jobs a 503 with Retry-After; no worker within the timeout a 504; Redis gone a 503', {
  skip: redisSkip,
  timeout: 120_000,
}, async () => {
  const { base, child: serve } = await startServe(['--max-queue', '2', '--predict-timeout', '4']);
  const url = `${base}/v1/models/fabric/predict`;
  const queue = new Queue(QUEUE_NAMES.predict, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    await queue.obliterate({ force: true }); // nothing left from the first test
    const t0 = Date.now();
    const waiting = [post(url, images[0]!), post(url, images[1]!)];
    while ((await queue.getWaitingCount()) < 2) {
      assert.ok(Date.now() - t0 < 3000, 'the two jobs reached the queue');
      await new Promise((r) => setTimeout(r, 20));
    }
    const busy = await post(url, images[2]!);
    assert.equal(busy.status, 503, JSON.stringify(busy.body));
    assert.equal((busy.body.error as { code: string }).code, 'E_BUSY');
    assert.match(busy.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    for (const w of await Promise.all(waiting)) {
      assert.equal(w.status, 504, JSON.stringify(w.body));
      assert.equal((w.body.error as { code: string }).code, 'E_TIMEOUT');
      assert.equal(w.body.verdict, undefined);
    }
    assert.ok(Date.now() - t0 >= 4000, 'the timeout was waited out');
    assert.equal(await queue.getWaitingCount(), 0, 'the abandoned jobs were taken out of the queue');
  } finally {
    await queue.close();
  }
  // Redis gone: a 503 at once, not a hang and not a verdict.
  await redis.kill();
  const t1 = Date.now();
  const gone = await post(url, images[0]!);
  assert.equal(gone.status, 503, JSON.stringify(gone.body));
  assert.equal((gone.body.error as { code: string }).code, 'E_CLUSTER_UNAVAILABLE');
  assert.match(gone.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.ok(Date.now() - t1 < 3000, 'answered at once');
  // and SIGTERM still ends the server (its queue connections are cut, not waited for).
  const t2 = Date.now();
  await stop(serve);
  assert.equal(serve.exitCode, 0);
  assert.ok(Date.now() - t2 < 10_000, `the server stopped in ${Date.now() - t2} ms`);
});

test('serve --redis with Redis unreachable: one line naming it, exit code 1, nothing served', { skip: redisSkip, timeout: 60_000 }, async () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--model', `fabric=${modelA}`, '--redis', 'redis://127.0.0.1:1', '--port', '0'],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^pyramidflow: Redis at redis:\/\/127\.0\.0\.1:1\S*: connection refused[^\n]*\n$/);
  assert.doesNotMatch(r.stdout, /serving/);
});
