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
import type { ModelRegistry } from './models.js';
import type { BoundedQueue } from './queue.js';
import type { OneTimeStore } from './results.js';
import { PREDICT_URL, predictSchema, resultSchema } from './schemas.js';

export interface PredictDeps {
  registry: ModelRegistry;
  queue: BoundedQueue;
  store: OneTimeStore;
  maxBytes: number;
  maxPixels: number;
}

interface PredictQuery {
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

function checkFinite(q: PredictQuery): void {
  for (const key of FINITE_PARAMETERS) {
    const v = q[key];
    if (v !== undefined && !Number.isFinite(v)) throw new HttpError(400, 'E_BAD_REQUEST', `the query parameter ${key} must be a finite number, got ${v}`);
  }
}

interface Upload {
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

async function readUpload(request: FastifyRequest, maxBytes: number): Promise<Upload> {
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
function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

function dataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

export function registerPredictRoutes(app: FastifyInstance, deps: PredictDeps): void {
  const { registry, queue, store } = deps;

  app.post<{ Params: { name: string }; Querystring: PredictQuery }>(PREDICT_URL, { schema: predictSchema }, async (request, reply) => {
    const t0 = performance.now();
    const { name } = request.params;
    const q = request.query;
    checkFinite(q);
    if (!registry.get(name)) {
      const known = registry
        .list()
        .map((e) => e.name)
        .join(', ');
      throw new HttpError(404, 'E_UNKNOWN_MODEL', `unknown model "${name}"; this server has: ${known}`);
    }
    const upload = await readUpload(request, deps.maxBytes);
    const header = await readImageHeader(upload.bytes, upload.name);
    const pixels = header.width * header.height;
    if (pixels > deps.maxPixels) {
      throw new HttpError(
        413,
        'E_TOO_MANY_PIXELS',
        `${upload.name} has ${header.width}x${header.height} = ${pixels} pixels; the server accepts at most ${deps.maxPixels}`,
      );
    }
    const detectOpts: DetectOptions = { fileName: upload.name, threshold: q.threshold, pixelThreshold: q.pixel_threshold, minArea: q.min_area };
    const queuedAt = performance.now();
    const done = await queue.run(async () => {
      const startedAt = performance.now();
      // The detector current when the work starts; a reload meanwhile does not affect this request.
      const entry = registry.get(name)!;
      const pred: ImagePrediction = await entry.detector.predictImage(upload.bytes, detectOpts);
      const pictures: Record<string, Buffer> = {};
      if (q.heatmap) pictures.heatmap = await entry.detector.heatmapPng(pred);
      if (q.mask) pictures.mask = await entry.detector.maskPng(pred, q.pixel_threshold);
      return { entry, pred, pictures, queuedMs: startedAt - queuedAt };
    }, clientGone(reply));
    const { entry, pred, pictures } = done;
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
    if (Object.keys(pictures).length > 0) {
      if (q.pictures === 'url') {
        const id = store.put(pictures);
        for (const key of Object.keys(pictures)) body[key] = `/v1/results/${id}/${key}.png`;
      } else {
        for (const [key, png] of Object.entries(pictures)) body[key] = dataUrl(png);
      }
    }
    if (q.map) body.map = downsampleMax(pred.map, pred.width, pred.height, q.map_size ?? 128);
    body.queued_ms = round1(done.queuedMs);
    body.elapsed_ms = round1(performance.now() - t0);
    return body;
  });

  app.get<{ Params: { id: string; picture: string } }>('/v1/results/:id/:picture', { schema: resultSchema }, async (request, reply) => {
    const m = /^(heatmap|mask)\.png$/.exec(request.params.picture);
    const png = m ? store.take(request.params.id, m[1]!) : undefined;
    if (!png) throw new HttpError(404, 'E_NOT_FOUND', 'no such picture: result URLs are served once and expire after a minute');
    return reply.type('image/png').header('cache-control', 'no-store').send(png);
  });
}
