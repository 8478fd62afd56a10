/**
 * A real Redis for the cluster tests: Debian's /usr/bin/redis-server on a free loopback port in a
 * temporary folder, stopped (or killed with SIGKILL, and restarted on the same port and folder)
 * by the test. No mock of Redis or BullMQ anywhere.
 *
 * Without redis-server the tests are skipped with a printed reason, except under CI (CI set):
 * there they run and fail, since CI installs it (.ci/run).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's redis-server (7.0; BullMQ needs >= 6.2). */
export const REDIS_SERVER = process.env.PYRAMIDFLOW_REDIS_SERVER ?? '/usr/bin/redis-server';

/** Whether redis-server is installed here. */
export const redisAvailable: boolean = existsSync(REDIS_SERVER);

/**
 * The `skip` option of the cluster tests: false when redis-server is here or under CI (where a
 * missing server must fail the tests, not skip them), else the reason, printed once, loudly.
 */
export const redisSkip: string | false = (() => {
  if (redisAvailable || process.env.CI) return false;
  const reason = `${REDIS_SERVER} is not installed: the Redis cluster tests are SKIPPED (apt-get install redis-server; CI requires it)`;
  process.stderr.write(`\n*** ${reason} ***\n\n`);
  return reason;
})();

/** TLS files of a server started with `tls: true`: a self-signed certificate for 127.0.0.1 and localhost. */
export interface RedisTls {
  /** The certificate in PEM, to trust as the CA. */
  ca: string;
}

/** A running redis-server. */
export interface RedisHandle {
  /** redis:// (or rediss:// with TLS) URL of the server, without the password. */
  url: string;
  /** Its port. */
  port: number;
  /** Its working folder (the append-only files). */
  dir: string;
  /** With `tls: true`: the certificate to trust. */
  tls?: RedisTls;
  /** Shuts it down (SIGTERM) and removes its folder unless it was given. */
  stop(): Promise<void>;
  /** SIGKILL: the machine gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder (after kill(), or kills it first). */
  restart(): Promise<void>;
}

/** How to start the server. */
export interface StartRedisOptions {
  /** requirepass. */
  password?: string;
  /** appendonly yes with appendfsync always: nothing acknowledged is lost to a SIGKILL. */
  appendOnly?: boolean;
  /** The working folder (default: a new temporary one, removed by stop()). */
  dir?: string;
  /** The port (default: a free one). */
  port?: number;
  /** Listen with TLS only (a self-signed certificate made with /usr/bin/openssl). */
  tls?: boolean;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One PING over a fresh socket: whether the server answers (any answer, NOAUTH included). */
async function answers(port: number, tls?: RedisTls): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = tls ? tlsConnect({ host: '127.0.0.1', port, ca: tls.ca, servername: 'localhost' }) : netConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^(\+PONG|-NOAUTH|-LOADING)/.test(data.toString()) && !/^-LOADING/.test(data.toString())));
  });
}

function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'redis.crt');
  const key = join(dir, 'redis.key');
  const r = spawnSync(
    '/usr/bin/openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.stderr}`);
  return { cert, key };
}

/** Starts redis-server; resolves when it answers PING. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  if (!redisAvailable) throw new Error(`${REDIS_SERVER} is not installed (apt-get install redis-server); the cluster tests need it`);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'pyramidflow-redis-'));
  const port = opts.port ?? (await freePort());
  const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--logfile', join(dir, 'redis.log')];
  let tls: RedisTls | undefined;
  if (opts.tls) {
    const { cert, key } = makeCertificate(dir);
    tls = { ca: readFileSync(cert, 'utf8') };
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-auth-clients', 'no');
  } else args.push('--port', String(port));
  if (opts.password !== undefined) args.push('--requirepass', opts.password);
  if (opts.appendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  writeFileSync(join(dir, 'args.txt'), `${args.join(' ')}\n`);

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const started = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    child = started;
    let exited = false;
    started.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + 15_000;
    while (!(await answers(port, tls))) {
      if (exited) throw new Error(`redis-server exited at start; its log: ${join(dir, 'redis.log')}: ${tail(join(dir, 'redis.log'))}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 15 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(sig);
    });
  };
  await launch();
  const scheme = tls ? 'rediss' : 'redis';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    dir,
    ...(tls ? { tls } : {}),
    async stop() {
      await signal('SIGTERM');
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await signal('SIGKILL');
    },
    async restart() {
      await signal('SIGKILL');
      await launch();
    },
  };
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '(no log)';
  }
}
