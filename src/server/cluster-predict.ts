/**
 * `serve --redis URL`: the predict route hands each image to the workers of the BullMQ queue
 * (src/cluster/predict-queue.ts) instead of judging it here, and answers with the worker's
 * outcome in the same JSON as a lone server. The server still reads each model file (its
 * configuration and thresholds, for /v1/models), but starts no kernels. Every job that ends
 * without an outcome is an error reply: 503 with Retry-After when the queue is full or Redis is
 * gone, 504 when no worker answered in time, 502 when the worker failed.
 */
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DetectOptions, ImageDetector } from '../api/index.js';
import { readDetector } from '../api/image-detector.js';
import type { PredictQueue, PredictQueueError } from '../cluster/predict-queue.js';
import type { PredictJobOutcome } from '../cluster/predict-job.js';
import { HttpError } from './errors.js';
import type { ModelRegistry } from './models.js';
import { checkFinite, clientGone, modelEntry, placePictures, readCheckedUpload, registerResultsRoute, type PredictQuery } from './predict.js';
import { BoundedQueue } from './queue.js';
import type { OneTimeStore } from './results.js';
import { PREDICT_URL, predictSchema } from './schemas.js';

/** Default seconds a request waits for a worker's answer (`--predict-timeout`). */
export const DEFAULT_PREDICT_TIMEOUT_S = 60;

/** Requests one server keeps waiting on the cluster at once; past that it answers 503 at once (a bound on the memory of their images). */
export const CLUSTER_IN_FLIGHT = 256;

/** How `serve --redis` reaches the cluster. */
export interface ClusterPredictOptions {
  /** redis:// or rediss:// URL of the queues. */
  redis: string;
  /** Redis password (else the URL's, else PYRAMIDFLOW_REDIS_PASSWORD). */
  redisPassword?: string;
  /** Jobs waiting in the cluster before new ones get 503. */
  maxQueue: number;
  /** Seconds to wait for a worker's answer. */
  predictTimeout?: number;
}

/** What the route needs. */
interface ClusterRouteDeps {
  registry: ModelRegistry;
  queue: BoundedQueue;
  store: OneTimeStore;
  maxBytes: number;
  maxPixels: number;
}

/** The cluster side of a server: how it loads models, its local queue, its routes. */
export interface ClusterPredict {
  /** The local queue: every request waiting on the cluster holds a slot (for /healthz and a graceful close). */
  localQueue(): BoundedQueue;
  /** Registers the predict and result routes, and closes the queue connection with the server. */
  register(app: FastifyInstance, deps: ClusterRouteDeps): void;
  /** Closes the queue connection (for a server that failed to start). */
  close(): Promise<void>;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

/** The loader of `serve --redis`: a model described but not judged here (predicting on it is a bug of the server). */
export async function describeOnlyLoader(file: string): Promise<ImageDetector> {
  const detector = readDetector(file); // refuses an unfinished model, as loadDetector does
  const remote = (): Promise<never> => Promise.reject(new Error('serve --redis: predictions run on the workers, not in the server'));
  return { file, info: detector.info(), predictImage: remote, heatmapPng: remote, maskPng: remote };
}

/** A queue error as the reply a client gets. */
function queueHttpError(err: PredictQueueError): HttpError {
  const retry = err.retryAfterSeconds ?? 5;
  switch (err.code) {
    case 'E_BUSY':
      return new HttpError(503, 'E_BUSY', err.message, { 'retry-after': String(retry) });
    case 'E_REDIS':
      return new HttpError(503, 'E_CLUSTER_UNAVAILABLE', err.message, { 'retry-after': String(retry) });
    case 'E_TIMEOUT':
      return new HttpError(504, 'E_TIMEOUT', err.message);
    case 'E_CLIENT_GONE':
      return new HttpError(499, 'E_CLIENT_GONE', err.message);
    default:
      return new HttpError(502, 'E_WORKER_FAILED', err.message);
  }
}

/** Connects to the queue (one clear line when Redis is unreachable) and returns the server's cluster side. */
export async function openClusterPredict(opts: ClusterPredictOptions): Promise<ClusterPredict> {
  const timeoutS = opts.predictTimeout ?? DEFAULT_PREDICT_TIMEOUT_S;
  // Loaded only here: a server without --redis (and `import 'pyramidflow'`) never loads BullMQ and ioredis.
  const { PredictQueue, PredictQueueError } = await import('../cluster/predict-queue.js');
  const isQueueError = (e: unknown): e is PredictQueueError => e instanceof PredictQueueError;
  const jobs = await PredictQueue.open({ url: opts.redis, password: opts.redisPassword, maxQueue: opts.maxQueue, timeoutMs: timeoutS * 1000 });
  return {
    localQueue: () => new BoundedQueue(CLUSTER_IN_FLIGHT, 0),
    close: () => jobs.close(),
    register(app, deps) {
      app.addHook('onClose', () => jobs.close());
      registerClusterRoutes(app, deps, jobs, isQueueError);
    },
  };
}

function registerClusterRoutes(app: FastifyInstance, deps: ClusterRouteDeps, jobs: PredictQueue, isQueueError: (e: unknown) => e is PredictQueueError): void {
  const { registry, queue, store } = deps;
  app.post<{ Params: { name: string }; Querystring: PredictQuery }>(PREDICT_URL, { schema: predictSchema }, async (request, reply) => {
    const t0 = performance.now();
    const { name } = request.params;
    const q = request.query;
    checkFinite(q);
    const entry = modelEntry(registry, name);
    const upload = await readCheckedUpload(request, deps.maxBytes, deps.maxPixels);
    const options: DetectOptions = { threshold: q.threshold, pixelThreshold: q.pixel_threshold, minArea: q.min_area };
    let outcome: PredictJobOutcome;
    try {
      outcome = await queue.run(
        () =>
          jobs.predict(
            {
              model: name,
              file: resolve(entry.file), // the same path on every machine (a shared store)
              image: upload.bytes.toString('base64'),
              fileName: upload.name,
              maxBytes: deps.maxBytes,
              maxPixels: deps.maxPixels,
              ...definedOf(options),
              ...(q.heatmap ? { heatmap: true } : {}),
              ...(q.mask ? { mask: true } : {}),
              ...(q.map ? { mapSize: q.map_size ?? 128 } : {}),
            },
            clientGone(reply),
          ),
        clientGone(reply),
      );
    } catch (err) {
      throw isQueueError(err) ? queueHttpError(err) : err;
    }
    if (!outcome.ok) {
      const e = outcome.error;
      // The worker's own codes: an input it could not read is the client's (4xx), a model it
      // could not use is the server's (5xx); either way, no verdict.
      throw new HttpError(e.status, e.code, e.message);
    }
    const { heatmap, mask, map, worker, model_sha256, worker_ms, ...judged } = outcome.result;
    const body: Record<string, unknown> = { ...judged, model: name };
    const pictures: Record<string, Buffer> = {};
    if (heatmap !== undefined) pictures.heatmap = Buffer.from(heatmap, 'base64');
    if (mask !== undefined) pictures.mask = Buffer.from(mask, 'base64');
    placePictures(body, pictures, q, store);
    if (map !== undefined) body.map = map;
    const elapsed = performance.now() - t0;
    body.worker = worker;
    body.model_sha256 = model_sha256;
    body.queued_ms = round1(Math.max(0, elapsed - worker_ms));
    body.elapsed_ms = round1(elapsed);
    return body;
  });

  registerResultsRoute(app, store);
}

/** The options that are set (a job's data is JSON: no undefined values). */
function definedOf(o: DetectOptions): Partial<DetectOptions> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
