/**
 * POST /v1/models/:name/predict and GET /v1/results/:id/:picture: read one uploaded image, check
 * it cheaply, wait for a prediction slot, run the detector and answer JSON (with pictures inline
 * as data URLs or behind one-time URLs, and a low-resolution anomaly map for the web page).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart'; // request.isMultipart() and request.parts()
import type { DetectOptions, ImagePrediction } from '../api/index.js';
import { formError, HttpError } from './errors.js';
import { readImageHeader } from './image-header.js';
import { shrink, shrinkFactor, shrunkSize } from '../detect/pictures.js';
import type { ModelEntry, ModelRegistry } from './models.js';
import { BatchingQueue, type BoundedQueue, type ItemOutcome } from './queue.js';
import type { ImageOutcome } from '../api/image-detector.js';
import { autoInferenceBatch } from '../detect/inference.js';
import type { OneTimeStore } from './results.js';
import { PREDICT_URL, predictSchema, resultSchema } from './schemas.js';

export interface PredictDeps {
  registry: ModelRegistry;
  queue: BoundedQueue;
  store: OneTimeStore;
  maxBytes: number;
  maxPixels: number;
  /** Requests judged in one pass of the flow, from those already waiting (default 1; auto: by memory). */
  batch?: number | 'auto';
}

/** One request's work: its image and options, and when it joined the queue. */
interface PredictJob {
  upload: Upload;
  detectOpts: DetectOptions;
  queuedAt: number;
}

/** What a request's work gave: the model entry that judged it, the prediction, and how long it waited. */
interface PredictDone {
  entry: ModelEntry;
  pred: ImagePrediction;
  queuedMs: number;
}

/**
 * Judges the requests of a batch with the model's detector current when the batch starts (a
 * reload meanwhile affects none of them): in one pass of the flow when there are several and the
 * detector can, else one after the other. Every request gets its own outcome.
 */
async function judgeBatch(registry: ModelRegistry, name: string, jobs: PredictJob[]): Promise<Array<ItemOutcome<PredictDone>>> {
  const startedAt = performance.now();
  const entry = registry.get(name)!;
  const { detector } = entry;
  let outcomes: ImageOutcome[] = [];
  if (jobs.length > 1 && detector.predictImages) {
    outcomes = await detector.predictImages(
      jobs.map((j) => j.upload.bytes),
      jobs.map((j) => j.detectOpts),
    );
  } else {
    for (const j of jobs)
      outcomes.push(
        await detector.predictImage(j.upload.bytes, j.detectOpts).then(
          (prediction) => ({ prediction }),
          (error: unknown) => ({ error }),
        ),
      );
  }
  // The pictures (PNG encoding) are made by each request after the batch, outside its slot.
  return jobs.map(({ queuedAt }, k): ItemOutcome<PredictDone> => {
    const pred = outcomes[k]?.prediction;
    if (!pred) return { error: outcomes[k]?.error ?? new Error('the image was not judged') };
    return { value: { entry, pred, queuedMs: startedAt - queuedAt } };
  });
}

/** The pictures a request asked for, from the detector that judged it (outside the prediction slot). */
async function makePictures(done: PredictDone, q: PredictQuery): Promise<Record<string, Buffer>> {
  const { detector } = done.entry;
  const pictures: Record<string, Buffer> = {};
  if (q.heatmap) pictures.heatmap = await detector.heatmapPng(done.pred);
  if (q.mask) pictures.mask = await detector.maskPng(done.pred, q.pixel_threshold);
  return pictures;
}

/** The predict route's query parameters (schemas.ts checks them). */
export interface PredictQuery {
  heatmap?: 'png';
  mask?: 'png';
  map?: 'json';
  map_size?: number;
  pictures?: 'inline' | 'url';
  threshold?: number;
  pixel_threshold?: number;
  min_area?: number;
}

/** The anomaly map shrunk by max-pooling (so no peak vanishes), for thresholding in a browser. */
export interface LowResMap {
  width: number;
  height: number;
  values: number[]; // row-major, 5 significant digits
}

export function downsampleMax(map: Float32Array, width: number, height: number, maxSide: number): LowResMap {
  const factor = shrinkFactor(width, height, maxSide);
  const values = Array.from(shrink(map, width, height, 1, factor, 'max'), (v) => Number(v.toPrecision(5)));
  return { ...shrunkSize(width, height, factor), values };
}

/** One image file per form; a few text fields are allowed (and ignored). Past these, errors.ts answers 4xx. */
export const FORM_LIMITS = { files: 1, fields: 8, parts: 9 };

/** Query numbers that must be finite: Ajv's coercion turns "Infinity" and "1e999" into Infinity, which `type: number` (and `integer`) accept. */
const FINITE_PARAMETERS = ['threshold', 'pixel_threshold', 'min_area'] as const;

/** Refuses a threshold or area given as Infinity (400). */
export function checkFinite(q: PredictQuery): void {
  for (const key of FINITE_PARAMETERS) {
    const v = q[key];
    if (v !== undefined && !Number.isFinite(v)) throw new HttpError(400, 'E_BAD_REQUEST', `the query parameter ${key} must be a finite number, got ${v}`);
  }
}

/** One uploaded image: its bytes and the name errors give it. */
export interface Upload {
  bytes: Buffer;
  name: string;
}

/**
 * Reads the form to its end rather than stopping at the first file: only then is a second file
 * (or a form cut short) seen and refused, instead of predicting on half of what was sent.
 */
async function readForm(request: FastifyRequest, maxBytes: number): Promise<Upload> {
  let upload: Upload | undefined;
  try {
    for await (const part of request.parts({ limits: { ...FORM_LIMITS, fileSize: maxBytes } })) {
      if (part.type !== 'file') continue;
      if (upload) throw new HttpError(400, 'E_TOO_MANY_FILES', 'the form holds more than one file; send one image file per request');
      upload = { bytes: await part.toBuffer(), name: part.filename || 'the uploaded image' };
    }
  } catch (err) {
    throw formError(err);
  }
  if (!upload) throw new HttpError(400, 'E_EMPTY_BODY', 'the multipart form holds no file; send the image in one file field');
  if (upload.bytes.length === 0) throw new HttpError(400, 'E_EMPTY_BODY', `${upload.name} is empty`);
  return upload;
}

/** The image of a request: the raw body or the one file of a multipart form (4xx otherwise). */
/** The model an URL names, or 404 listing the models this server has. */
export function modelEntry(registry: ModelRegistry, name: string): ModelEntry {
  const entry = registry.get(name);
  if (entry) return entry;
  const known = registry
    .list()
    .map((e) => e.name)
    .join(', ');
  throw new HttpError(404, 'E_UNKNOWN_MODEL', `unknown model "${name}"; this server has: ${known}`);
}

/** The upload, read within `maxBytes`, whose header says it has at most `maxPixels` pixels (413 otherwise). */
export async function readCheckedUpload(request: FastifyRequest, maxBytes: number, maxPixels: number): Promise<Upload> {
  const upload = await readUpload(request, maxBytes);
  const header = await readImageHeader(upload.bytes, upload.name);
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    throw new HttpError(
      413,
      'E_TOO_MANY_PIXELS',
      `${upload.name} has ${header.width}x${header.height} = ${pixels} pixels; the server accepts at most ${maxPixels}`,
    );
  }
  return upload;
}

export async function readUpload(request: FastifyRequest, maxBytes: number): Promise<Upload> {
  if (request.isMultipart()) return readForm(request, maxBytes);
  const body = request.body;
  if (body === undefined || body === null || body === '' || (Buffer.isBuffer(body) && body.length === 0)) {
    throw new HttpError(400, 'E_EMPTY_BODY', 'the request has no body; send the image bytes');
  }
  if (!Buffer.isBuffer(body)) {
    throw new HttpError(
      415,
      'E_NOT_IMAGE',
      'send the image bytes as the body with an image/* or application/octet-stream content type, or as multipart/form-data with one file',
    );
  }
  return { bytes: body, name: 'the uploaded image' };
}

/** An AbortSignal that fires when the client goes away before its reply was written. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** A PNG as a data: URL. */
function dataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * Puts a result's pictures into its answer: as one-time URLs (`pictures=url`, kept in `store`)
 * or inline as data URLs. The local and the cluster routes answer alike.
 */
export function placePictures(body: Record<string, unknown>, pictures: Record<string, Buffer>, q: Pick<PredictQuery, 'pictures'>, store: OneTimeStore): void {
  if (Object.keys(pictures).length === 0) return;
  if (q.pictures === 'url') {
    const id = store.put(pictures);
    for (const key of Object.keys(pictures)) body[key] = `/v1/results/${id}/${key}.png`;
  } else {
    for (const [key, png] of Object.entries(pictures)) body[key] = dataUrl(png);
  }
}

export function registerPredictRoutes(app: FastifyInstance, deps: PredictDeps): void {
  const { registry, queue, store } = deps;
  const batch = deps.batch ?? 1;
  const batcher = new BatchingQueue<PredictJob, PredictDone>(
    queue,
    (name) => (batch === 'auto' ? autoInferenceBatch(registry.get(name)!.detector.info.config) : batch),
    (name, jobs) => judgeBatch(registry, name, jobs),
  );

  app.post<{ Params: { name: string }; Querystring: PredictQuery }>(PREDICT_URL, { schema: predictSchema }, async (request, reply) => {
    const t0 = performance.now();
    const { name } = request.params;
    const q = request.query;
    checkFinite(q);
    modelEntry(registry, name);
    // The connection, when kept alive: a batch forming just after this request's answer expects
    // the client's next request (closed-loop clients stay in step, see BatchingQueue).
    const source = request.raw.headers.connection?.toLowerCase() === 'close' ? undefined : request.raw.socket;
    const arrived = batcher.arrive(source); // a batch forming meanwhile waits for this request
    let upload: Upload;
    try {
      upload = await readCheckedUpload(request, deps.maxBytes, deps.maxPixels);
    } finally {
      arrived();
    }
    const detectOpts: DetectOptions = { fileName: upload.name, threshold: q.threshold, pixelThreshold: q.pixel_threshold, minArea: q.min_area };
    const done = await batcher.run(name, { upload, detectOpts, queuedAt: performance.now() }, clientGone(reply), source);
    const { entry, pred } = done;
    const pictures = await makePictures(done, q);
    const saved = entry.detector.info.thresholds;
    const body: Record<string, unknown> = {
      model: name,
      score: pred.score,
      normalized_score: pred.normalizedScore,
      verdict: pred.verdict,
      thresholds: { image: q.threshold ?? saved?.image ?? null, pixel: q.pixel_threshold ?? saved?.pixel ?? null },
      regions: pred.regions,
      width: pred.width,
      height: pred.height,
    };
    placePictures(body, pictures, q, store);
    if (q.map) body.map = downsampleMax(pred.map, pred.width, pred.height, q.map_size ?? 128);
    body.queued_ms = round1(done.queuedMs);
    body.elapsed_ms = round1(performance.now() - t0);
    return body;
  });

  registerResultsRoute(app, store);
}

/** GET /v1/results/:id/:picture: a picture of an answer, served once (the local and the cluster routes share it). */
export function registerResultsRoute(app: FastifyInstance, store: OneTimeStore): void {
  app.get<{ Params: { id: string; picture: string } }>('/v1/results/:id/:picture', { schema: resultSchema }, async (request, reply) => {
    const m = /^(heatmap|mask)\.png$/.exec(request.params.picture);
    const png = m ? store.take(request.params.id, m[1]!) : undefined;
    if (!png) throw new HttpError(404, 'E_NOT_FOUND', 'no such picture: result URLs are served once and expire after a minute');
    return reply.type('image/png').header('cache-control', 'no-store').send(png);
  });
}
