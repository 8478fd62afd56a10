/**
 * `pyramidflow serve`: an HTTP inspection service over the library's ImageDetector, and its web page.
 * buildServer() wires the routes onto a Fastify instance (models loaded, not listening);
 * startServer() listens, prints the URL, reloads on SIGHUP and closes gracefully on SIGINT/SIGTERM.
 * It fails closed: bad input is a 4xx JSON error, never a 500; with a token every route but
 * /healthz and the page needs it; without one it serves loopback only unless told `insecure`.
 * Every route has a schema (schemas.ts), described at /openapi.json and /docs (openapi.ts).
 */
import { basename } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { loadDetector as loadDetectorFromApi } from '../api/index.js';
import { DEFAULT_MAX_PIXELS } from '../data/decode.js';
import { registerAppRoutes } from './app-route.js';
import { describeOnlyLoader, openClusterPredict } from './cluster-predict.js';
import { AccessLog, noteError, type LogLevel, type LogStream } from './access-log.js';
import { checkListenAddress, checkToken, registerAuth } from './auth.js';
import { errorBody, HttpError, toErrorReply } from './errors.js';
import { Metrics, METRICS_CONTENT_TYPE } from './metrics.js';
import { ModelRegistry, type DetectorLoader, type ModelEntry, type ModelSpec } from './models.js';
import { registerOpenApi } from './openapi.js';
import { PAGE_CSP, pageHtml } from './page.js';
import { FORM_LIMITS, registerPredictRoutes } from './predict.js';
import { BoundedQueue } from './queue.js';
import { OneTimeStore } from './results.js';
import { getModelSchema, healthSchema, listModelsSchema, metricsSchema, pageSchema, PREDICT_URL, reloadModelSchema } from './schemas.js';

export { parseModelSpec, type ModelSpec, type DetectorLoader } from './models.js';
export { BoundedQueue } from './queue.js';
export { isLoopbackHost, readTokenFile, resolveToken, TOKEN_ENV } from './auth.js';
export type { LogLevel, LogStream } from './access-log.js';

/** What a server serves and how much work it takes on. */
export interface ServerOptions {
  /** The models, each under its name (`/v1/models/NAME/predict`). */
  models: ModelSpec[];
  /** How a model file becomes an ImageDetector; default: the library's loadDetector. */
  loadDetector?: DetectorLoader;
  /** Kernel threads per model (default loader only; default: all cores). */
  threads?: number;
  /** Predictions at once, default 1 (the kernels already use every core). */
  concurrency?: number;
  /** Requests waiting beyond that, default 16; more are answered 503. */
  maxQueue?: number;
  /**
   * Requests judged in one pass of the flow, taken only from those already waiting (default 1:
   * one at a time; `auto`: as many as fit 400 MB, at most 8). Answers are those of one at a time.
   */
  inferenceBatch?: number | 'auto';
  /** Largest upload, default 20 MB. */
  maxBytes?: number;
  /** Largest image, default 40 megapixels. */
  maxPixels?: number;
  /** Lifetime of one-time picture URLs, default 60 s. */
  resultTtlMs?: number;
  /** Bearer token every route but /healthz and the page then needs (one word, not empty). */
  token?: string;
  /**
   * Level of the JSON log (access lines at info, internal errors with their stack at error).
   * Default 'warn' here (an embedded server logs only its faults); startServer's is 'info'.
   */
  logLevel?: LogLevel;
  /** Where the JSON log lines go; default stdout. */
  logStream?: LogStream;
  /** Where reload notes go; default stderr. */
  log?: (line: string) => void;
  /** redis:// URL of a cluster's queues: predictions go to its workers (`pyramidflow worker`), not computed here. */
  redis?: string;
  /** With `redis`: its password (else the URL's, else PYRAMIDFLOW_REDIS_PASSWORD). */
  redisPassword?: string;
  /** With `redis`: seconds a request waits for a worker's answer before a 504, default 60. */
  predictTimeout?: number;
  /** The browser page's folder served at /app (default: the package's built dist/app). */
  appDir?: string;
}

/** A server that listens: the server's options and where to listen. */
export interface ServeOptions extends ServerOptions {
  /** Port, default 8080; 0 picks a free port. */
  port?: number;
  /** Address to listen on, default 127.0.0.1 (others need a token or `insecure`). */
  host?: string;
  /** SIGHUP reloads, SIGINT/SIGTERM close; default true. */
  handleSignals?: boolean;
  /** Serve an address beyond loopback without a token (refused otherwise). */
  insecure?: boolean;
  /** Called after a signal closed the server; default process.exit. */
  exit?: (code: number) => void;
  /** Where the URL and signal notes are printed; default stdout. */
  print?: (line: string) => void;
}

/** A listening server. */
export interface RunningServer {
  /** The Fastify instance (routes, inject() for tests). */
  app: FastifyInstance;
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Reads every model file again (as SIGHUP does); a model that fails keeps its old version. */
  reloadAll(): Promise<
    Array<{
      /** The model's name. */
      name: string;
      /** Whether the new file was loaded. */
      ok: boolean;
      /** Why not. */
      error?: string;
    }>
  >;
  /** Stops listening, lets running predictions finish, frees the models. */
  close(): Promise<void>;
}

export const DEFAULTS = { concurrency: 1, maxQueue: 16, maxBytes: 20 * 1024 * 1024, maxPixels: DEFAULT_MAX_PIXELS, port: 8080, host: '127.0.0.1' };

interface ServerState {
  registry: ModelRegistry;
  queue: BoundedQueue;
  metrics: Metrics;
}
const states = new WeakMap<FastifyInstance, ServerState>();

function describe(entry: ModelEntry): Record<string, unknown> {
  const info = entry.detector.info;
  return {
    name: entry.name,
    file: basename(entry.file), // which file, not where the server keeps it
    config: info.config,
    thresholds: info.thresholds,
    parameters: info.parameters,
    created_at: info.createdAt,
    loaded_at: entry.loadedAt.toISOString(),
  };
}

/** Loads every model and returns the Fastify instance with all routes (call listen() or inject()). */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  if (opts.token !== undefined) checkToken(opts.token); // before the (slow) model loads
  const maxBytes = opts.maxBytes ?? DEFAULTS.maxBytes;
  const maxPixels = opts.maxPixels ?? DEFAULTS.maxPixels;
  const log = opts.log ?? ((line: string) => console.error(line));
  const loader = opts.loadDetector ?? (opts.redis !== undefined ? describeOnlyLoader : (file: string) => loadDetectorFromApi(file, { threads: opts.threads }));
  const registry = new ModelRegistry(opts.models, loader);
  await registry.loadAll();
  // With --redis the workers predict; the queue's limit is the cluster's (cluster-predict.ts).
  const cluster = opts.redis !== undefined ? await openClusterPredict({ ...opts, redis: opts.redis, maxQueue: opts.maxQueue ?? DEFAULTS.maxQueue }) : undefined;
  const queue = cluster?.localQueue() ?? new BoundedQueue(opts.concurrency ?? DEFAULTS.concurrency, opts.maxQueue ?? DEFAULTS.maxQueue);
  const store = new OneTimeStore({ ttlMs: opts.resultTtlMs });
  const metrics = new Metrics();

  // Bugs and outages are logged with their stack; client errors only on their access line, so
  // that no client can fill the log with stack traces. Replies carry no server paths.
  const sendError = (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const r = toErrorReply(err);
    if (r.internal) request.log.error({ err }, 'internal error');
    noteError(request, r.code, r.message);
    metrics.countError(r.code);
    return reply
      .code(r.status)
      .headers(r.headers)
      .send(errorBody(r.code, registry.redact(r.message)));
  };
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'warn', ...(opts.logStream && { stream: opts.logStream }) },
    logController: new AccessLog(), // one line per request
    frameworkErrors: sendError, // URLs refused before routing (bad %-escapes, overlong parameters)
    bodyLimit: maxBytes,
    // Unknown query parameters are refused rather than silently dropped (a typo would go unnoticed).
    ajv: { customOptions: { removeAdditional: false } },
  });
  states.set(app, { registry, queue, metrics });
  // First: routes keep the error handler set when they are declared (openapi.ts declares some).
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => {
    const message = `no route ${request.method} ${request.url.split('?')[0]}`;
    noteError(request, 'E_NOT_FOUND', message);
    metrics.countError('E_NOT_FOUND');
    return reply.code(404).send(errorBody('E_NOT_FOUND', message));
  });
  if (opts.token !== undefined) await registerAuth(app, opts.token); // before the routes it guards
  // Replies are written as the handlers return them: the response schemas describe them (in
  // /openapi.json, checked by the tests) but never drop or coerce a field as fast-json-stringify would.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await registerOpenApi(app, { token: opts.token }); // before the routes it describes
  await app.register(multipart, { limits: { ...FORM_LIMITS, fileSize: maxBytes } });
  // Raw image bodies arrive as Buffers; their format is read from the bytes, not the header.
  const asBuffer = (_req: unknown, body: Buffer, done: (err: null, body: Buffer) => void): void => done(null, body);
  app.addContentTypeParser(/^image\/[\w.+-]+\s*(;.*)?$/i, { parseAs: 'buffer', bodyLimit: maxBytes }, asBuffer);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxBytes }, asBuffer);

  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== PREDICT_URL) return;
    const name = (request.params as { name: string }).name;
    // Unknown names share one label so that clients cannot grow the label set without bound.
    metrics.observeRequest(registry.get(name) ? name : '(unknown)', reply.statusCode, reply.elapsedTime / 1000);
  });

  if (cluster) cluster.register(app, { registry, queue, store, maxBytes, maxPixels });
  else registerPredictRoutes(app, { registry, queue, store, maxBytes, maxPixels, batch: opts.inferenceBatch });

  app.get('/v1/models', { schema: listModelsSchema }, async () => ({ models: registry.list().map(describe) }));
  app.get<{ Params: { name: string } }>('/v1/models/:name', { schema: getModelSchema }, async (request) => {
    const entry = registry.get(request.params.name);
    if (!entry) throw new HttpError(404, 'E_UNKNOWN_MODEL', `unknown model "${request.params.name}"`);
    return describe(entry);
  });
  app.post<{ Params: { name: string } }>('/v1/models/:name/reload', { schema: reloadModelSchema }, async (request) => {
    const { name } = request.params;
    if (!registry.get(name)) throw new HttpError(404, 'E_UNKNOWN_MODEL', `unknown model "${name}"`);
    try {
      const entry = await registry.reload(name);
      metrics.countReload(name, true);
      log(`pyramidflow serve: reloaded model "${name}" from ${entry.file}`);
      return { reloaded: true, model: describe(entry) };
    } catch (err) {
      metrics.countReload(name, false);
      const since = registry.get(name)!.loadedAt.toISOString();
      throw new HttpError(500, 'E_RELOAD_FAILED', `${(err as Error).message}; still serving the model loaded at ${since}`);
    }
  });

  app.get('/healthz', { schema: healthSchema }, async () => ({
    status: 'ok',
    models: registry.list().map((e) => e.name),
    queue: { active: queue.active, waiting: queue.waiting, concurrency: queue.concurrency, max_waiting: queue.maxQueue },
  }));
  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    const body = metrics.render({ queueLength: queue.waiting, inFlight: queue.active, models: registry.size });
    return reply.type(METRICS_CONTENT_TYPE).send(body);
  });
  app.get('/', { schema: pageSchema }, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(pageHtml);
  });
  registerAppRoutes(app, { dir: opts.appDir }); // the in-browser training page at /app/

  // While closing, replies still being prepared (in flight or queued) close their connection,
  // so that close() need not wait out the keep-alive timeout of their clients; once no
  // prediction runs or waits, connections left (e.g. opened but never used) are cut after 1 s.
  let closing = false;
  let cutTimer: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = true;
    void queue.onIdle().then(() => {
      cutTimer = setTimeout(() => app.server.closeAllConnections(), 1000);
      cutTimer.unref();
    });
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  // Expired one-time pictures are dropped on every use; this sweep also frees them when idle.
  const sweeper = setInterval(() => store.sweep(), 10_000);
  sweeper.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    clearTimeout(cutTimer);
    store.clear();
  });
  return app;
}

/** Reloads every model of a server built by buildServer (what SIGHUP does). */
export async function reloadAllModels(app: FastifyInstance): Promise<Array<{ name: string; ok: boolean; error?: string }>> {
  const state = states.get(app);
  if (!state) throw new Error('reloadAllModels: not a pyramidflow server');
  const results = await state.registry.reloadAll();
  for (const r of results) state.metrics.countReload(r.name, r.ok);
  return results;
}

/** Builds, listens and prints the URL; the `serve` command's whole job. */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const log = opts.log ?? ((line: string) => console.error(line));
  const host = opts.host ?? DEFAULTS.host;
  checkListenAddress(host, opts.token, opts.insecure ?? false); // before the (slow) model loads
  const app = await buildServer({ ...opts, log, logLevel: opts.logLevel ?? 'info' });
  const url = await app.listen({ port: opts.port ?? DEFAULTS.port, host });
  if (opts.token === undefined && opts.insecure) {
    log(`pyramidflow serve: serving ${host} without a token (insecure): anyone who can reach it can use and reload the models`);
  }
  const names = opts.models.map((m) => m.name).join(', ');
  print(`pyramidflow: serving ${names} at ${url}/`);

  const reloadAll = async (): Promise<Array<{ name: string; ok: boolean; error?: string }>> => {
    const results = await reloadAllModels(app);
    for (const r of results) log(r.ok ? `pyramidflow serve: reloaded "${r.name}"` : `pyramidflow serve: ${r.error}`);
    return results;
  };
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      removeSignals();
      await app.close(); // stops accepting; requests in flight finish first
    })();
    return closing;
  };
  const onHup = (): void => {
    log('pyramidflow serve: SIGHUP, reloading models');
    void reloadAll();
  };
  const onStop = (signal: 'SIGINT' | 'SIGTERM'): void => {
    const exit = opts.exit ?? ((code: number) => process.exit(code));
    if (closing) {
      exit(signal === 'SIGINT' ? 130 : 143); // a second signal: stop waiting
      return;
    }
    log(`pyramidflow serve: ${signal}, finishing requests in flight`);
    void close().then(
      () => exit(0),
      (err: unknown) => {
        log(`pyramidflow serve: close failed: ${(err as Error).message}`);
        exit(1);
      },
    );
  };
  const onInt = (): void => onStop('SIGINT');
  const onTerm = (): void => onStop('SIGTERM');
  const removeSignals = (): void => {
    process.off('SIGHUP', onHup);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
  if (opts.handleSignals ?? true) {
    process.on('SIGHUP', onHup);
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  }
  return { app, url, reloadAll, close };
}
