/**
 * Connecting to Redis: the options built from a URL, and against a real redis-server: a password
 * that works, a wrong or missing one and a refused connection as one line each, and TLS (Debian's
 * redis-server is built with it) with a self-signed certificate passed as is.
 */
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { checkRedis, QUEUE_NAMES, REDIS_PASSWORD_ENV, redisOptions } from '../../src/cluster/connection.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { redisSkip, startRedis } from './redis-server.js';

test('redisOptions: host, port, database, user and password from the URL; worker connections retry forever', () => {
  const o = redisOptions('redis://user:p%40ss@db.example:6380/3');
  assert.equal(o.host, 'db.example');
  assert.equal(o.port, 6380);
  assert.equal(o.db, 3);
  assert.equal(o.username, 'user');
  assert.equal(o.password, 'p@ss');
  assert.equal(o.tls, undefined);
  assert.equal('maxRetriesPerRequest' in o, false);
  assert.equal(redisOptions('redis://h', { worker: true }).maxRetriesPerRequest, null);
  assert.equal(redisOptions('redis://h').port, 6379);
});

test('redisOptions: rediss:// turns TLS on; ?tls= passes its options to ioredis as they are', () => {
  assert.deepEqual(redisOptions('rediss://h:6390').tls, {});
  const tls = { ca: '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n', servername: 'localhost' };
  assert.deepEqual(redisOptions(`rediss://h:6390?tls=${encodeURIComponent(JSON.stringify(tls))}`).tls, tls);
  assert.deepEqual(redisOptions('redis://h?tls=true').tls, {});
  assert.throws(() => redisOptions('redis://h?tls=%5B1%5D'), /\?tls= must be true or a JSON object/);
});

test('redisOptions: the password from the environment when the URL has none; the given one first', () => {
  const before = process.env[REDIS_PASSWORD_ENV];
  process.env[REDIS_PASSWORD_ENV] = 'from-env';
  try {
    assert.equal(redisOptions('redis://h').password, 'from-env');
    assert.equal(redisOptions('redis://:in-url@h').password, 'in-url');
    assert.equal(redisOptions('redis://:in-url@h', { password: 'given' }).password, 'given');
  } finally {
    if (before === undefined) delete process.env[REDIS_PASSWORD_ENV];
    else process.env[REDIS_PASSWORD_ENV] = before;
  }
});

test('redisOptions: a URL that is not redis:// or rediss:// is a usage error naming it, without its password', () => {
  assert.throws(
    () => redisOptions('http://:secret@h:1'),
    (e: unknown) => e instanceof PyramidFlowError && e.code === 'E_USAGE' && /scheme must be redis/.test(e.message) && !e.message.includes('secret'),
  );
  assert.throws(() => redisOptions('not a url'), /not a URL/);
  assert.throws(() => redisOptions('redis://h/x'), /database number/);
});

test('a refused connection is one line naming the server', { skip: redisSkip }, async () => {
  const redis = await startRedis();
  const url = redis.url;
  await redis.stop(); // the port is free now: nothing listens
  await assert.rejects(
    checkRedis(url),
    (e: unknown) =>
      e instanceof PyramidFlowError && e.code === 'E_REDIS' && e.message === `Redis at ${url}: connection refused (is redis-server running there?)`,
  );
});

test('a password: the right one works, a wrong one or none is one line', { skip: redisSkip }, async () => {
  const redis = await startRedis({ password: 's3cret' });
  try {
    await checkRedis(`redis://:s3cret@127.0.0.1:${redis.port}`);
    await checkRedis(redis.url, { password: 's3cret' });
    await assert.rejects(
      checkRedis(`redis://:wrong@127.0.0.1:${redis.port}`),
      (e: unknown) => e instanceof PyramidFlowError && /: wrong password/.test(e.message) && !e.message.includes('wrong@') && !e.message.includes('\n'),
    );
    const before = process.env[REDIS_PASSWORD_ENV];
    delete process.env[REDIS_PASSWORD_ENV];
    try {
      await assert.rejects(checkRedis(redis.url), (e: unknown) => e instanceof PyramidFlowError && /needs a password/.test(e.message));
    } finally {
      if (before !== undefined) process.env[REDIS_PASSWORD_ENV] = before;
    }
    // BullMQ over the password-protected connection: a job goes in and comes back.
    const queue = new Queue(`${QUEUE_NAMES.train}-password-test`, { connection: redisOptions(redis.url, { password: 's3cret' }) as never });
    try {
      const job = await queue.add('t', { x: 1 });
      assert.deepEqual((await queue.getJob(job.id!))?.data, { x: 1 });
    } finally {
      await queue.close();
    }
  } finally {
    await redis.stop();
  }
});

test("TLS: a rediss:// URL with the server's certificate in ?tls= connects; without trusting it, one line", { skip: redisSkip }, async () => {
  const redis = await startRedis({ tls: true });
  try {
    assert.ok(redis.tls);
    const tls = encodeURIComponent(JSON.stringify({ ca: redis.tls.ca, servername: 'localhost' }));
    await checkRedis(`${redis.url}?tls=${tls}`);
    const queue = new Queue(`${QUEUE_NAMES.train}-tls-test`, { connection: redisOptions(`${redis.url}?tls=${tls}`) as never });
    try {
      const job = await queue.add('t', { over: 'tls' });
      assert.deepEqual((await queue.getJob(job.id!))?.data, { over: 'tls' });
    } finally {
      await queue.close();
    }
    await assert.rejects(checkRedis(redis.url), (e: unknown) => e instanceof PyramidFlowError && e.code === 'E_REDIS' && !e.message.includes('\n'));
  } finally {
    await redis.stop();
  }
});

test('without redis-server the cluster tests are skipped with a loud notice; under CI they run and fail', () => {
  const helper = new URL('./redis-server.ts', import.meta.url).href;
  const probe = `import(${JSON.stringify(helper)}).then(async (m) => {
    console.log(JSON.stringify({ available: m.redisAvailable, skip: m.redisSkip }));
    await m.startRedis().then(() => console.log('started'), (e) => console.log(e.message));
  })`;
  const run = (ci: string | undefined): { out: string; err: string } => {
    const { CI: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...env, PYRAMIDFLOW_REDIS_SERVER: '/nonexistent/redis-server', ...(ci ? { CI: ci } : {}) },
    });
    return { out: r.stdout, err: r.stderr };
  };
  const local = run(undefined);
  const [state, started] = local.out.trim().split('\n');
  assert.deepEqual(JSON.parse(state!), {
    available: false,
    skip: '/nonexistent/redis-server is not installed: the Redis cluster tests are SKIPPED (apt-get install redis-server; CI requires it)',
  });
  assert.match(local.err, /^\n\*\*\* \/nonexistent\/redis-server is not installed: the Redis cluster tests are SKIPPED/);
  assert.match(started!, /is not installed \(apt-get install redis-server\)/);
  const ci = run('true');
  assert.deepEqual(JSON.parse(ci.out.trim().split('\n')[0]!), { available: false, skip: false });
  assert.match(ci.out, /the cluster tests need it/, 'under CI the tests run, and starting Redis fails them');
});
