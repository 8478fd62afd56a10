/**
 * `pyramidflow worker` as a user runs it (a child process from source): usage errors and an
 * unreachable or refusing Redis are one line, never a stack; the password from the environment
 * works, and a worker stopped with SIGTERM exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnWorker } from './cluster-helpers.js';
import { redisSkip, startRedis } from './redis-server.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-cluster-worker-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function pyramidflow(args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 30_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('usage errors name the option: exit code 2, one line', () => {
  const cases: [string[], string][] = [
    [['worker'], 'pyramidflow: --redis is required\n'],
    [['worker', '--redis', 'redis://127.0.0.1:1', '--queues', 'train,nope'], 'pyramidflow: --queues: unknown queue nope (train, predict)\n'],
    [['worker', '--redis', 'redis://127.0.0.1:1', '--store', join(dir, 'missing')], `pyramidflow: --store ${join(dir, 'missing')}: no such folder\n`],
    [
      ['worker', '--redis', 'http://127.0.0.1:1', '--store', dir],
      'pyramidflow: --redis http://127.0.0.1:1: the scheme must be redis:// or rediss://, not http://\n',
    ],
    [['worker', '--redis', 'redis://h', '--lock-duration', 'soon'], "pyramidflow: --lock-duration must be a number (got 'soon')\n"],
  ];
  for (const [args, message] of cases) {
    const r = pyramidflow(args);
    assert.equal(r.stderr, message, args.join(' '));
    assert.equal(r.code, 2, args.join(' '));
  }
});

test('a refused connection is one line and exit code 1', () => {
  const r = pyramidflow(['worker', '--redis', 'redis://127.0.0.1:1', '--store', dir, '--data-root', dir]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'pyramidflow: Redis at redis://127.0.0.1:1: connection refused (is redis-server running there?)\n');
  // The same from a config file (keys as the flags), a flag overriding it.
  const config = join(dir, 'worker.yaml');
  writeFileSync(config, `redis: redis://127.0.0.1:2\nstore: ${dir}\ndata-root: ${dir}\nlock-duration: 60\n`);
  const fromFile = pyramidflow(['worker', '--config', config, '--redis', 'redis://127.0.0.1:1']);
  assert.equal(fromFile.stderr, 'pyramidflow: Redis at redis://127.0.0.1:1: connection refused (is redis-server running there?)\n');
  writeFileSync(config, 'queue: train\n');
  assert.equal(
    pyramidflow(['worker', '--config', config]).stderr,
    `pyramidflow: ${config}: unknown option 'queue' for worker (see pyramidflow worker --help)\n`,
  );
});

test('a password-protected Redis: a wrong password is one line; the right one from PYRAMIDFLOW_REDIS_PASSWORD starts the worker; SIGTERM stops it', {
  skip: redisSkip,
}, async () => {
  const redis = await startRedis({ password: 'pw-0' });
  try {
    const args = ['--redis', redis.url, '--queues', 'train', '--store', dir, '--data-root', dir];
    const wrong = pyramidflow(['worker', ...args], { ...process.env, PYRAMIDFLOW_REDIS_PASSWORD: 'nope' });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, `pyramidflow: Redis at ${redis.url}: wrong password (or user)\n`);
    const none = pyramidflow(['worker', ...args], { ...process.env, PYRAMIDFLOW_REDIS_PASSWORD: '' });
    assert.match(none.stderr, /^pyramidflow: Redis at .*: the server needs a password \(give it in the URL or in PYRAMIDFLOW_REDIS_PASSWORD\)\n$/);
    const worker = spawnWorker(args, { ...process.env, PYRAMIDFLOW_REDIS_PASSWORD: 'pw-0' });
    try {
      await worker.waitFor(/^worker: queues train on redis:\/\/127\.0\.0\.1:\d+/m, 30_000);
      assert.doesNotMatch(worker.log(), /pw-0/, 'the password is not printed');
      const exited = new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code)));
      worker.child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(worker.log(), /worker: SIGTERM, stopping/);
    } finally {
      await worker.kill();
    }
  } finally {
    await redis.stop();
  }
});
