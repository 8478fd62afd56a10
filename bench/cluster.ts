/**
 * `npm run bench -- cluster [--seconds 20] [--connections 4] [--size 64] [--model FILE]
 *   [--train-size 64] [--train-epochs 1] [--no-train] [--json]`:
 * a BullMQ/Redis cluster on loopback (a redis-server of its own, every pyramidflow process spawned
 * from source). Predictions: requests/s and latency percentiles (autocannon, one image) with the
 * server alone (its kernels on every core), then `serve --redis` with one and with two workers of
 * one kernel thread each. Training: three categories submitted at once, with one worker (every
 * core) and with two (one thread each): the wall time until all three models are in the store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { synth, train } from '../src/api/index.js';
import { QUEUE_NAMES } from '../src/cluster/connection.js';
import { submitTrain } from '../src/cluster/submit.js';
import { startRedis } from '../test/cluster/redis-server.js';
import { countOption, positiveOption } from './_util.js';
import { autocannon, completedPerSecond } from './_autocannon.js';

export const usage =
  'npm run bench -- cluster [--seconds 20] [--connections 4] [--size 64] [--model FILE] [--train-size 64] [--train-epochs 1] [--no-train] [--json]';
export const help = `  --seconds <s>       length of each prediction run (default 20)
  --connections <n>   concurrent clients (default 4)
  --size <px>         size of the model trained for the prediction runs, when no --model (default 64)
  --model <file>      a model to serve instead
  --train-size <px>   image size of the three categories trained (default 64; default network otherwise)
  --train-epochs <n>  their epochs (default 1)
  --no-train          predictions only`;

/** A pyramidflow command from source; `ready` resolves with the first output line matching `pattern`. */
function pyramidflow(args: string[], pattern: RegExp): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const ready = new Promise<string>((resolve, reject) => {
    const look = (chunk: Buffer): void => {
      if (text.length < 65536) text += chunk.toString(); // read on, so that the pipe never fills
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line) resolve(line);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`pyramidflow ${args[0]} exited (${code}): ${text.slice(-2000)}`)));
  });
  return { child, ready };
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** CPU milliseconds (user + system) a process has used so far, from /proc (Linux; 100 ticks a second). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime: fields 14 and 15
  } catch {
    return 0;
  }
}

/** The redis-server listening on `port` (it names itself `redis-server 127.0.0.1:PORT`). */
function redisPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`:${port}`)) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

interface PredictRun {
  setup: string;
  requests_per_second: number;
  /** CPU time per answered request of each part: where the cores go. */
  cpu_ms_per_request: { server: number; workers: number; redis: number; client: number };
  latency_ms: { p50: number; p90: number; p99: number; max: number };
  statuses: Record<string, number>;
  errors: number;
}

/** Starts the processes, warms every worker up, runs autocannon, stops them. */
async function predictRun(
  setup: string,
  serveArgs: string[],
  workerArgs: string[][],
  image: Buffer,
  seconds: number,
  connections: number,
  redis: number | undefined,
): Promise<PredictRun> {
  const children: ChildProcess[] = [];
  try {
    const workers = workerArgs.map((args) => pyramidflow(args, /^worker: queues/));
    children.push(...workers.map((w) => w.child));
    await Promise.all(workers.map((w) => w.ready));
    const serve = pyramidflow([...serveArgs, '--port', '0', '--log-level', 'warn'], /serving .* at http/);
    children.push(serve.child);
    const base = /(http:\/\/\S+?)\/?$/.exec(await serve.ready)![1]!;
    const url = `${base}/v1/models/bench/predict`;
    const headers = { 'content-type': 'application/octet-stream' };
    // Each worker loads the model on its first job: as many warm-up requests at once as workers, twice.
    for (let round = 0; round < 2; round++) {
      const warm = await Promise.all(
        Array.from({ length: Math.max(1, workerArgs.length) }, () => fetch(url, { method: 'POST', headers, body: new Uint8Array(image) })),
      );
      for (const r of warm) if (r.status !== 200) throw new Error(`${setup}: the warm-up request failed: HTTP ${r.status} ${await r.text()}`);
    }
    const cpu = (): number[] => {
      const own = process.cpuUsage();
      return [cpuMs(serve.child.pid), workers.reduce((sum, w) => sum + cpuMs(w.child.pid), 0), cpuMs(redis), (own.user + own.system) / 1000];
    };
    const before = cpu();
    const r = await autocannon({ url, method: 'POST', headers, body: image, connections, duration: seconds, timeout: 60 });
    const per = cpu().map((v, i) => Math.round(((v - before[i]!) / Math.max(1, r.requests.total)) * 10) / 10);
    return {
      setup,
      requests_per_second: Math.round(completedPerSecond(r) * 10) / 10,
      cpu_ms_per_request: { server: per[0]!, workers: per[1]!, redis: per[2]!, client: per[3]! },
      latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
      statuses: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
      errors: r.errors,
    };
  } finally {
    await stopAll(children);
  }
}

/** Submits three categories, starts the workers, and times until the three jobs are done. */
async function trainRun(
  setup: string,
  redisUrl: string,
  root: string,
  store: string,
  workerArgs: string[][],
  options: Record<string, number>,
): Promise<{ setup: string; seconds: number; failed: number }> {
  rmSync(store, { recursive: true, force: true });
  mkdirSync(store);
  const children: ChildProcess[] = [];
  const queue = new Queue(QUEUE_NAMES.train, { connection: { host: '127.0.0.1', port: Number(new URL(redisUrl).port) } });
  try {
    await queue.obliterate({ force: true });
    const jobs = await submitTrain({ redis: redisUrl, dataRoot: root, data: 'data', categories: 'all', options, force: true });
    const t0 = performance.now();
    const workers = workerArgs.map((args) => pyramidflow(args, /^worker: queues/));
    children.push(...workers.map((w) => w.child));
    let states: string[] = [];
    for (;;) {
      states = await Promise.all(jobs.map(async (j) => (await queue.getJob(j.id))?.getState() ?? 'missing'));
      if (states.every((s) => s === 'completed' || s === 'failed' || s === 'missing')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return { setup, seconds: Math.round((performance.now() - t0) / 100) / 10, failed: states.filter((s) => s !== 'completed').length };
  } finally {
    await stopAll(children);
    await queue.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '20' },
      connections: { type: 'string', default: '4' },
      size: { type: 'string', default: '64' },
      model: { type: 'string' },
      'train-size': { type: 'string', default: '64' },
      'train-epochs': { type: 'string', default: '1' },
      'no-train': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const seconds = positiveOption('--seconds', values.seconds);
  const connections = countOption('--connections', values.connections);
  const size = countOption('--size', values.size);
  const trainOptions = { size: countOption('--train-size', values['train-size']), epochs: countOption('--train-epochs', values['train-epochs']), seed: 1 };
  const dir = mkdtempSync(join(tmpdir(), 'pf-bench-cluster-'));
  const redis = await startRedis();
  try {
    const data = join(dir, 'data');
    const store = join(dir, 'store');
    mkdirSync(store);
    await synth({ out: data, categories: ['fabric', 'grid', 'wood'], size: Math.max(size, trainOptions.size), train: 12, testGood: 1, testDefect: 1, seed: 7 });
    const model = values.model ?? join(store, 'bench.pflow');
    if (!values.model) await train({ data, category: 'fabric', out: model, size, epochs: 1, seed: 1 });
    const test = join(data, 'fabric', 'test', 'good');
    const image = readFileSync(join(test, readdirSync(test)[0]!));
    const storeOf = values.model ? join(model, '..') : store;
    const serve = ['serve', '--model', `bench=${model}`, '--max-queue', '64'];
    const redisCpu = redisPid(redis.port);
    const worker = (threads: number, queue: string, s: string): string[] => [
      'worker',
      '--redis',
      redis.url,
      '--queues',
      queue,
      '--store',
      s,
      '--threads',
      String(threads),
      '--data-root',
      dir,
    ];
    const predictions = [
      await predictRun('server alone (kernels on every core)', serve, [], image, seconds, connections, undefined),
      await predictRun(
        'serve --redis + 1 worker (1 thread)',
        [...serve, '--redis', redis.url],
        [worker(1, 'predict', storeOf)],
        image,
        seconds,
        connections,
        redisCpu,
      ),
      await predictRun(
        'serve --redis + 2 workers (1 thread each)',
        [...serve, '--redis', redis.url],
        [worker(1, 'predict', storeOf), worker(1, 'predict', storeOf)],
        image,
        seconds,
        connections,
        redisCpu,
      ),
    ];
    const cores = availableParallelism();
    const trainStore = join(dir, 'train-store');
    const training = values['no-train']
      ? []
      : [
          await trainRun(`1 worker (${cores} threads)`, redis.url, dir, trainStore, [worker(cores, 'train', trainStore)], trainOptions),
          await trainRun(
            '2 workers (1 thread each)',
            redis.url,
            dir,
            trainStore,
            [worker(1, 'train', trainStore), worker(1, 'train', trainStore)],
            trainOptions,
          ),
        ];
    const summary = {
      bench: 'cluster',
      cores,
      image_bytes: image.length,
      model_size: size,
      connections,
      seconds,
      predictions,
      training,
      train_options: trainOptions,
    };
    if (values.json) {
      console.log(JSON.stringify(summary));
      return;
    }
    console.log(
      `cluster: ${cores} cores, loopback Redis, ${connections} connections, ${seconds} s per run, model ${size}x${size}, image ${image.length} bytes`,
    );
    const base = predictions[0]!.requests_per_second;
    for (const p of predictions) {
      const l = p.latency_ms;
      const statuses = Object.entries(p.statuses)
        .map(([c, n]) => `${c}: ${n}`)
        .join(', ');
      console.log(
        `  ${p.setup.padEnd(44)} ${p.requests_per_second.toFixed(1).padStart(7)} req/s (x${(p.requests_per_second / base).toFixed(2)})  p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms  [${statuses}; errors ${p.errors}]`,
      );
      const c = p.cpu_ms_per_request;
      console.log(`  ${''.padEnd(44)} CPU ms per request: server ${c.server}, workers ${c.workers}, redis ${c.redis}, client ${c.client}`);
    }
    for (const t of training) {
      console.log(
        `  train 3 categories (${trainOptions.size} px, ${trainOptions.epochs} epoch), ${t.setup.padEnd(26)} ${t.seconds.toFixed(1).padStart(7)} s${t.failed ? `  (${t.failed} failed)` : ''}`,
      );
    }
    if (predictions.some((p) => p.errors > 0 || Object.keys(p.statuses).some((c) => !c.startsWith('2')))) process.exitCode = 1;
    if (training.some((t) => t.failed > 0)) process.exitCode = 1;
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
