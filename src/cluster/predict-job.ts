/**
 * A prediction job, both sides of the queue: what `serve --redis` puts in a job (the image's bytes
 * as base64 and the request's options), and the worker's processor, which judges the image with a
 * detector it keeps per model file (model-cache.ts) and returns the same fields the server's
 * predict route answers. Errors the client caused (an undecodable image) and a model that cannot
 * judge come back as an outcome with `error`, so that the server answers them like a local
 * prediction would; anything else fails the job, and the server answers 502, never a verdict.
 */
import { hostname } from 'node:os';
import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Job } from 'bullmq';
import { decodeImage, encodePng } from '../data/image.js';
import { shrink, shrinkFactor, shrunkSize } from '../detect/pictures.js';
import { ensureBackend } from '../api/runtime.js';
import { PyramidFlowError } from '../util/errors.js';
import { ModelCache } from './model-cache.js';

/** What the server puts in a prediction job. */
export interface PredictJobData {
  /** The model's name in the server's URLs (echoed in the answer). */
  model: string;
  /** The model file (absolute; the same path on every machine: a shared store). */
  file: string;
  /** The uploaded file's bytes, base64. */
  image: string;
  /** The name errors give the image. */
  fileName: string;
  /** The server's largest upload: a larger image is refused, whoever put the job in the queue. */
  maxBytes: number;
  /** The server's largest image in pixels. */
  maxPixels: number;
  /** Image threshold instead of the model's. */
  threshold?: number;
  /** Pixel threshold instead of the model's. */
  pixelThreshold?: number;
  /** Smallest region reported. */
  minArea?: number;
  /** Add the heat map as PNG (base64). */
  heatmap?: boolean;
  /** Add the defect mask as PNG (base64). */
  mask?: boolean;
  /** Add the anomaly map max-pooled to this longer side. */
  mapSize?: number;
  /** Epoch milliseconds after which nobody waits for the answer: the worker skips the job. */
  deadline?: number;
}

/** The anomaly map shrunk by max-pooling (no peak vanishes), as the server's `map` field. */
export interface LowResMap {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Row-major values, 5 significant digits. */
  values: number[];
}

/** A judged image: the server's answer fields, pictures still as base64 PNG. */
export interface PredictJobResult {
  /** The model's name. */
  model: string;
  /** Anomaly score of the image. */
  score: number;
  /** The score over the image threshold. */
  normalized_score: number | null;
  /** 'good' or 'defect'. */
  verdict: string;
  /** The thresholds applied. */
  thresholds: { image: number | null; pixel: number | null };
  /** Defect regions. */
  regions: unknown[];
  /** Image width. */
  width: number;
  /** Image height. */
  height: number;
  /** Heat map PNG, base64. */
  heatmap?: string;
  /** Mask PNG, base64. */
  mask?: string;
  /** Low-resolution anomaly map. */
  map?: LowResMap;
  /** Which worker judged it (host:pid). */
  worker: string;
  /** SHA-256 of the model file that judged it. */
  model_sha256: string;
  /** Milliseconds the worker spent. */
  worker_ms: number;
}

/** An error to answer as the local server would: its HTTP status, code and one-line message. */
export interface PredictJobError {
  /** HTTP status. */
  status: number;
  /** Error code (E_...). */
  code: string;
  /** One line. */
  message: string;
}

/** What a prediction job returns: a result, or an error the client gets as is. */
export type PredictJobOutcome = { ok: true; result: PredictJobResult } | { ok: false; error: PredictJobError };

/** What the processor needs from the worker. */
export interface PredictProcessorContext {
  /** Kernel threads of this worker process (default: all cores). */
  threads?: number;
  /** The model store: when given, only model files inside it are read. */
  store?: string;
  /** Models kept loaded (default 32). */
  maxModels?: number;
}

/** A worker's prediction processor and its model cache. */
export interface PredictProcessor {
  /** BullMQ's processor function. */
  (job: Job<PredictJobData>): Promise<PredictJobOutcome>;
  /** The models held (tests read `loads`). */
  cache: ModelCache;
}

/** The anomaly map max-pooled to at most `maxSide` on its longer side. */
export function downsampleMax(map: Float32Array, width: number, height: number, maxSide: number): LowResMap {
  const factor = shrinkFactor(width, height, maxSide);
  const values = Array.from(shrink(map, width, height, 1, factor, 'max'), (v) => Number(v.toPrecision(5)));
  return { ...shrunkSize(width, height, factor), values };
}

/** The image's bytes from a job, checked against the server's limit (a job is input like any other). */
function imageBytes(data: PredictJobData): Buffer {
  if (typeof data.image !== 'string' || data.image.length === 0) throw new PyramidFlowError('the job holds no image', 'E_EMPTY_BODY');
  const maxBytes = Number.isSafeInteger(data.maxBytes) && data.maxBytes > 0 ? data.maxBytes : 0;
  if (Math.floor((data.image.length * 3) / 4) > maxBytes + 3) {
    throw new PyramidFlowError(`${data.fileName}: the image is larger than the server accepts (${maxBytes} bytes)`, 'E_TOO_LARGE');
  }
  return Buffer.from(data.image, 'base64');
}

/** The options of a job checked as the server's query schema checks them: a job is untrusted input. */
function checkJob(data: PredictJobData): void {
  const bad = (what: string): never => {
    throw new PyramidFlowError(`the job's ${what} is not valid`, 'E_BAD_JOB');
  };
  if (typeof data !== 'object' || data === null) bad('data');
  if (typeof data.model !== 'string' || typeof data.fileName !== 'string') bad('model or file name');
  for (const key of ['threshold', 'pixelThreshold'] as const) if (data[key] !== undefined && !Number.isFinite(data[key])) bad(key);
  if (data.minArea !== undefined && !(Number.isSafeInteger(data.minArea) && data.minArea >= 0)) bad('minArea');
  if (data.mapSize !== undefined && !(Number.isSafeInteger(data.mapSize) && data.mapSize >= 8 && data.mapSize <= 1024)) bad('mapSize');
  if (!(Number.isSafeInteger(data.maxPixels) && data.maxPixels > 0)) bad('maxPixels');
}

/** The status a client gets for an error met while judging: its input (400), or the server's fault (500). */
function errorOutcome(err: PyramidFlowError): PredictJobOutcome {
  const serverSide = err.code === 'E_NOT_JUDGED' || err.code === 'E_MODEL_FILE';
  const status = err.code === 'E_TOO_LARGE' ? 413 : serverSide ? 500 : 400;
  return { ok: false, error: { status, code: err.code === 'E_MODEL_FILE' ? 'E_MODEL_LOAD' : err.code, message: err.message.split('\n')[0]! } };
}

/** The model file a job names, refused when the worker has a store and the file lies outside it. */
function modelFile(data: PredictJobData, store: string | undefined): string {
  if (typeof data.file !== 'string' || data.file === '') throw new PyramidFlowError('the job names no model file', 'E_MODEL_FILE');
  let file: string;
  try {
    file = realpathSync(resolve(data.file)); // a symbolic link cannot lead out of the store
  } catch {
    throw new PyramidFlowError(`${data.file}: model file not found`, 'E_MODEL_FILE');
  }
  if (store !== undefined && !file.startsWith(realpathSync(store) + sep)) {
    throw new PyramidFlowError(`model "${data.model}": its file is outside this worker's store`, 'E_MODEL_FILE');
  }
  return file;
}

/** The prediction processor of a worker: one detector per model version, kept between jobs. */
export function createPredictProcessor(ctx: PredictProcessorContext = {}): PredictProcessor {
  const cache = new ModelCache(ctx.maxModels);
  const worker = `${hostname()}:${process.pid}`;
  const processor = async (job: Job<PredictJobData>): Promise<PredictJobOutcome> => {
    const t0 = performance.now();
    const data = job.data;
    if (typeof data?.deadline === 'number' && Date.now() > data.deadline) {
      return { ok: false, error: { status: 504, code: 'E_TIMEOUT', message: 'the job waited past its deadline; nobody waits for its answer' } };
    }
    await ensureBackend(ctx.threads);
    try {
      checkJob(data);
      const bytes = imageBytes(data);
      const { detector, sha256 } = cache.get(modelFile(data, ctx.store));
      const img = await decodeImage(bytes, data.fileName, { maxPixels: data.maxPixels });
      const pred = detector.predict(img, { fileName: data.fileName, threshold: data.threshold, pixelThreshold: data.pixelThreshold, minArea: data.minArea });
      const saved = detector.saved.thresholds;
      const result: PredictJobResult = {
        model: data.model,
        score: pred.score,
        normalized_score: pred.normalizedScore,
        verdict: pred.verdict,
        thresholds: { image: data.threshold ?? saved?.image ?? null, pixel: data.pixelThreshold ?? saved?.pixel ?? null },
        regions: pred.regions,
        width: pred.width,
        height: pred.height,
        worker,
        model_sha256: sha256,
        worker_ms: 0,
      };
      if (data.heatmap) result.heatmap = (await encodePng(detector.heatmap(pred))).toString('base64');
      if (data.mask) result.mask = (await encodePng(detector.mask(pred, data.pixelThreshold))).toString('base64');
      if (data.mapSize !== undefined) result.map = downsampleMax(pred.map, pred.width, pred.height, data.mapSize);
      result.worker_ms = Math.round((performance.now() - t0) * 10) / 10;
      return { ok: true, result };
    } catch (err) {
      if (err instanceof PyramidFlowError) return errorOutcome(err);
      throw err; // a bug or an outage: the job fails, the server answers 502
    }
  };
  return Object.assign(processor, { cache });
}
