/**
 * Bearer-token authentication. With a token, every route but /healthz and the page needs
 * `Authorization: Bearer <token>`, checked in an onRequest hook, so that an unauthenticated
 * upload is refused before its body is read. The comparison is @fastify/bearer-auth's (constant
 * time for tokens of the token's length). Without a token, the server only listens on loopback
 * unless told `insecure`: anyone who can reach it could otherwise use (and reload) the models.
 */
import { BlockList, isIP } from 'node:net';
import { open } from 'node:fs/promises';
import bearerAuth from '@fastify/bearer-auth';
import type { FastifyInstance } from 'fastify';
import { PyramidFlowError } from '../util/errors.js';

/** Routes anyone may fetch: the health probe (for load balancers) and the page (it asks for the token). */
// The in-browser app is static files: it holds no data and runs on the visitor's machine, and a
// browser's navigation cannot send a bearer token.
const OPEN_ROUTES = new Set(['/healthz', '/', '/app', '/app/', '/app/*']);

/** Whether a route (its URL as declared, e.g. '/v1/models/:name') is open to anyone even with a token. */
export function isOpenRoute(url: string): boolean {
  return OPEN_ROUTES.has(url);
}

export const TOKEN_ENV = 'PYRAMIDFLOW_TOKEN';

/** A bearer token is one word (RFC 6750 token68-like): one with whitespace could never be sent. */
export function checkToken(token: string, source = 'the token'): string {
  if (token.length === 0) throw new PyramidFlowError(`serve: ${source} is empty`, 'E_OPTION');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\s\0-\x1f\x7f]/.test(token)) {
    throw new PyramidFlowError(`serve: ${source} holds whitespace or control characters; a bearer token is one word`, 'E_OPTION');
  }
  return token;
}

/** Guards every route but OPEN_ROUTES (unknown ones included, so nothing new is open by accident). */
export async function registerAuth(app: FastifyInstance, token: string): Promise<void> {
  checkToken(token);
  // addHook: false gives us verifyBearerAuth to call for the guarded routes only; its errors go
  // through our error handler (errors.ts turns them into 401 E_UNAUTHORIZED, logged on the access
  // line). Its own note goes to debug: its default, a line at error level per refusal, would let
  // any client fill the log with errors.
  // rfc6749: the scheme is case-insensitive ("bearer" too), as HTTP auth schemes are (RFC 7235).
  await app.register(bearerAuth, { keys: [token], addHook: false, verifyErrorLogLevel: 'debug', specCompliance: 'rfc6749' });
  const verify = app.verifyBearerAuth!;
  app.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.url !== undefined && isOpenRoute(request.routeOptions.url)) return done();
    verify(request, reply, done);
  });
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped, bracketed) and `localhost`; any other name could resolve anywhere. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  if (h.toLowerCase() === 'localhost') return true;
  const family = isIP(h);
  if (family === 4) return loopback.check(h, 'ipv4');
  if (family === 6) return loopback.check(h, 'ipv6') || /^::ffff:127\.\d+\.\d+\.\d+$/i.test(h);
  return false;
}

/** Refuses to serve an address beyond loopback without a token, unless `insecure` (one line, for the CLI). */
export function checkListenAddress(host: string, token: string | undefined, insecure: boolean): void {
  if (token !== undefined || insecure || isLoopbackHost(host)) return;
  throw new PyramidFlowError(
    `serve: refusing to listen on ${host} without a token: anyone who can reach it could use the models; give --token-file FILE or ${TOKEN_ENV}, or --insecure to serve it open`,
    'E_OPTION',
  );
}

/**
 * Reads a token file: trimmed, one word, not empty, and not readable by others (like ssh keys;
 * a group-readable file is allowed, for a service group). Every error names the file.
 */
export async function readTokenFile(file: string): Promise<string> {
  let text: string;
  let mode: number;
  try {
    const handle = await open(file, 'r');
    try {
      mode = (await handle.stat()).mode; // of the file read, not of whatever the path names later
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new PyramidFlowError(`serve: cannot read the token file ${file}: ${(err as Error).message}`, 'E_OPTION');
  }
  if (process.platform !== 'win32' && (mode & 0o004) !== 0) {
    throw new PyramidFlowError(`serve: the token file ${file} is readable by others; chmod o-r ${file} (or chmod 600)`, 'E_OPTION');
  }
  return checkToken(text.trim(), `the token file ${file}`);
}

/** The token from `--token-file` or PYRAMIDFLOW_TOKEN (trimmed); both at once, or an empty variable, is an error. */
export async function resolveToken(opts: { tokenFile?: string; env?: Record<string, string | undefined> }): Promise<string | undefined> {
  const fromEnv = (opts.env ?? process.env)[TOKEN_ENV];
  if (opts.tokenFile !== undefined && fromEnv !== undefined) {
    throw new PyramidFlowError(`serve: give the token with --token-file or ${TOKEN_ENV}, not both`, 'E_OPTION');
  }
  if (opts.tokenFile !== undefined) return readTokenFile(opts.tokenFile);
  if (fromEnv === undefined) return undefined;
  return checkToken(fromEnv.trim(), TOKEN_ENV);
}
