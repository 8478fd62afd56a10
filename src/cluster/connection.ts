/**
 * Connecting to the Redis server behind the BullMQ queues: ioredis options from a redis:// or
 * rediss:// URL, the queue names, and a check that turns a refused connection or a wrong password
 * into one line naming the server.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { PyramidFlowError } from '../util/errors.js';

/** The BullMQ queue of each kind of job; every worker, submitter and server uses these names. */
export const QUEUE_NAMES = { train: 'pyramidflow-train', predict: 'pyramidflow-predict' } as const;

/** A kind of job: the key of {@link QUEUE_NAMES}. */
export type QueueKind = keyof typeof QUEUE_NAMES;

/** The environment variable a Redis password may come from, so that it need not be on argv. */
export const REDIS_PASSWORD_ENV = 'PYRAMIDFLOW_REDIS_PASSWORD';

/** The error code of an unreachable or refusing Redis server. */
export const REDIS_ERROR = 'E_REDIS';

/** How {@link redisOptions} builds the options. */
export interface RedisConnectionOptions {
  /** The password; else the URL's, else the environment's {@link REDIS_PASSWORD_ENV}. */
  password?: string;
  /**
   * For a BullMQ Worker (or anything that blocks on Redis): `maxRetriesPerRequest: null`, which
   * BullMQ requires of a worker's connection, so that a blocking call is retried, not failed.
   */
  worker?: boolean;
}

/**
 * The URL as given, for messages and logs: its password (if any) replaced by `***`, its query
 * (`?tls=` with a whole certificate, say) left out.
 */
export function redactedUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, '$1:***@').replace(/\?.*$/s, '');
}

/**
 * ioredis options from a `redis://[user[:password]@]host[:port][/db]` or `rediss://...` URL.
 * `rediss://` turns TLS on; `?tls=...` (a JSON object of Node's tls.connect options, or `true`)
 * is passed to ioredis as is. The password comes from `opts.password`, the URL or the environment
 * variable {@link REDIS_PASSWORD_ENV}, in that order.
 */
export function redisOptions(url: string, opts: RedisConnectionOptions = {}): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PyramidFlowError(`--redis ${url}: not a URL (redis://host:port or rediss://host:port)`, 'E_USAGE');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new PyramidFlowError(`--redis ${redactedUrl(url)}: the scheme must be redis:// or rediss://, not ${parsed.protocol}//`, 'E_USAGE');
  }
  const port = parsed.port ? Number(parsed.port) : 6379;
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
  };
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '') {
    if (!/^\d+$/.test(db)) throw new PyramidFlowError(`--redis ${redactedUrl(url)}: the path must be a database number, not /${db}`, 'E_USAGE');
    options.db = Number(db);
  }
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  const password = opts.password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined) ?? process.env[REDIS_PASSWORD_ENV];
  if (password !== undefined && password !== '') options.password = password;
  const tlsParam = parsed.searchParams.get('tls');
  if (tlsParam !== null) {
    if (tlsParam === '' || tlsParam === 'true' || tlsParam === '1') options.tls = {};
    else {
      try {
        const value: unknown = JSON.parse(tlsParam);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        options.tls = value as RedisOptions['tls'];
      } catch {
        throw new PyramidFlowError(`--redis ${redactedUrl(url)}: ?tls= must be true or a JSON object of TLS options`, 'E_USAGE');
      }
    }
  } else if (parsed.protocol === 'rediss:') options.tls = {};
  if (opts.worker) options.maxRetriesPerRequest = null;
  return options;
}

/** One line for a failed connection or command: refused, unknown host, wrong or missing password. */
export function redisErrorMessage(url: string, err: unknown): string {
  const where = `Redis at ${redactedUrl(url)}`;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text)) return `${where}: connection refused (is redis-server running there?)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${where}: unknown host`;
  if (/WRONGPASS|invalid username-password/i.test(text)) return `${where}: wrong password (or user)`;
  if (/NOAUTH/i.test(text)) return `${where}: the server needs a password (give it in the URL or in ${REDIS_PASSWORD_ENV})`;
  if (/without any password configured/i.test(text)) return `${where}: a password was given but the server has none`;
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(text)) return `${where}: no answer (timed out)`;
  return `${where}: ${text.split('\n')[0]}`;
}

/**
 * Connects once and pings, so that a refused connection, an unknown host or a wrong password is
 * one clear line ({@link REDIS_ERROR}) before any queue is opened. Gives up after `timeoutMs`.
 */
export async function checkRedis(url: string, opts: RedisConnectionOptions = {}, timeoutMs = 5000): Promise<void> {
  const options = redisOptions(url, opts);
  const client = new Redis({
    ...options,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  let lastError: unknown;
  client.on('error', (err) => {
    lastError = err;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new PyramidFlowError(
      redisErrorMessage(url, lastError && !(err instanceof Error && /NOAUTH|WRONGPASS/.test(err.message)) ? lastError : err),
      REDIS_ERROR,
    );
  } finally {
    client.disconnect();
  }
}
