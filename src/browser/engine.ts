/**
 * The page's side of an engine: a thin asynchronous proxy to the engine worker (engine-worker.ts),
 * which does the work. Each method posts one request and resolves with its answer; errors come
 * back as PyramidFlowErrors with the worker's one-line message (naming the image or model).
 */
import { PyramidFlowError } from '../util/errors.js';
import type { EngineCall, EngineReady, EngineReply, EngineRequest, WireImage } from './protocol.js';
import type {
  BrowserEngine,
  BrowserModel,
  BrowserPredictOptions,
  BrowserPrediction,
  BrowserTrainOptions,
  BrowserTrainProgress,
  DecodedImageInfo,
  EngineOptions,
  ImageInput,
  RgbPixels,
  SimdKind,
  TrainHooks,
} from './types.js';

/** A request in flight. */
interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (p: BrowserTrainProgress) => void;
}

/** The image as it crosses: Blobs (Files) as they are, byte arrays copied (the caller keeps its own). */
function wireImage(image: ImageInput, index: number): WireImage {
  if (typeof File !== 'undefined' && image instanceof File) return { name: image.name, data: image };
  const named = image as { name?: unknown; data?: unknown };
  if (typeof named.name !== 'string' || !(named.data instanceof Blob || named.data instanceof Uint8Array)) {
    throw new PyramidFlowError(`image ${index + 1}: give a File, or { name, data } with data a Blob or Uint8Array`, 'E_INPUT');
  }
  return { name: named.name, data: named.data instanceof Uint8Array ? named.data.slice() : named.data };
}

class EngineProxy implements BrowserEngine {
  readonly threads: number;
  readonly isolated: boolean;
  readonly simd: SimdKind;
  readonly backend: string;
  readonly note?: string;

  constructor(
    private readonly worker: Worker,
    private readonly pending: Map<number, Pending>,
    private readonly next: () => number,
    ready: EngineReady,
  ) {
    this.threads = ready.threads;
    this.isolated = ready.isolated;
    this.simd = ready.simd;
    this.backend = ready.backend;
    if (ready.note) this.note = ready.note;
  }

  /** Posts a request; resolves with the worker's answer. */
  private call<T>(request: EngineRequest, onProgress?: (p: BrowserTrainProgress) => void, signal?: AbortSignal): Promise<T> {
    const id = this.next();
    return new Promise<T>((resolve, reject) => {
      const stop = (): void => this.worker.postMessage({ op: 'stop', call: id, id: this.next() } satisfies EngineCall);
      const done = (): void => signal?.removeEventListener('abort', stop);
      this.pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v as T);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        onProgress,
      });
      this.worker.postMessage({ ...request, id } as EngineCall);
      if (signal?.aborted) stop();
      else signal?.addEventListener('abort', stop, { once: true });
    });
  }

  decode(image: ImageInput): Promise<DecodedImageInfo> {
    return this.call({ op: 'decode', image: wireImage(image, 0) });
  }

  pixels(image: ImageInput, size?: { width: number; height: number }): Promise<RgbPixels> {
    return this.call({ op: 'pixels', image: wireImage(image, 0), size });
  }

  train(images: readonly ImageInput[], options: BrowserTrainOptions = {}, hooks: TrainHooks = {}): Promise<BrowserModel> {
    return this.call({ op: 'train', images: images.map(wireImage), options }, hooks.onProgress, hooks.signal);
  }

  continueTraining(model: BrowserModel, images: readonly ImageInput[], hooks: TrainHooks = {}): Promise<BrowserModel> {
    return this.call({ op: 'continue', model: model.id, images: images.map(wireImage) }, hooks.onProgress, hooks.signal);
  }

  loadModel(bytes: Uint8Array | ArrayBuffer | Blob, name = 'model.pflow'): Promise<BrowserModel> {
    const data = bytes instanceof Blob ? bytes : new Uint8Array(bytes instanceof ArrayBuffer ? bytes.slice(0) : bytes.slice());
    return this.call({ op: 'load', bytes: data, name });
  }

  modelBytes(model: BrowserModel): Promise<Uint8Array> {
    return this.call({ op: 'bytes', model: model.id });
  }

  predict(model: BrowserModel, image: ImageInput, options: BrowserPredictOptions = {}): Promise<BrowserPrediction> {
    return this.call({ op: 'predict', model: model.id, image: wireImage(image, 0), options });
  }

  setThresholds(model: BrowserModel, thresholds: { image?: number; pixel?: number }): Promise<BrowserModel> {
    return this.call({ op: 'thresholds', model: model.id, image: thresholds.image, pixel: thresholds.pixel });
  }

  releaseModel(model: BrowserModel): Promise<void> {
    return this.call({ op: 'release', model: model.id });
  }

  dispose(): void {
    this.worker.terminate();
    const error = new PyramidFlowError('the engine was disposed', 'E_ENGINE');
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/** The folder of the bundle's files: `baseUrl`, or this module's own. */
function bundleFolder(baseUrl: string | URL | undefined): string {
  return new URL('./', baseUrl ?? import.meta.url).href;
}

/**
 * Starts an engine: a module worker (engine-worker.js next to this bundle, or under
 * `options.baseUrl`) that loads the kernels and starts its threads. Rejects, in one line, when
 * the worker or the kernels cannot be loaded.
 */
export async function createEngine(options: EngineOptions = {}): Promise<BrowserEngine> {
  const base = bundleFolder(options.baseUrl);
  const workerUrl = new URL('engine-worker.js', base);
  let worker: Worker;
  try {
    worker = new Worker(workerUrl, { type: 'module', name: 'pyramidflow engine' });
  } catch (e) {
    throw new PyramidFlowError(`cannot start the engine worker ${workerUrl.href}: ${(e as Error).message}`, 'E_ENGINE');
  }
  const pending = new Map<number, Pending>();
  let counter = 0;
  const next = (): number => ++counter;
  const failAll = (message: string, code: string): void => {
    const error = new PyramidFlowError(message, code);
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.onmessage = (e: MessageEvent<EngineReply>) => {
    const reply = e.data;
    if (reply.kind === 'fatal') return failAll(`the engine failed: ${reply.message}`, reply.code);
    const p = pending.get(reply.id);
    if (!p) return;
    if (reply.kind === 'progress') p.onProgress?.(reply.progress);
    else {
      pending.delete(reply.id);
      if (reply.kind === 'result') p.resolve(reply.result);
      else p.reject(new PyramidFlowError(reply.message, reply.code));
    }
  };
  worker.onerror = (e) => {
    e.preventDefault();
    failAll(`the engine worker ${workerUrl.href} failed: ${e.message || 'it could not be loaded (is the file served, as JavaScript?)'}`, 'E_ENGINE');
  };
  const id = next();
  const ready = await new Promise<EngineReady>((resolve, reject) => {
    pending.set(id, { resolve: (v) => resolve(v as EngineReady), reject });
    worker.postMessage({ op: 'init', id, threads: options.threads, baseUrl: base, relaxedSimd: options.relaxedSimd !== false } satisfies EngineCall);
  }).catch((e: unknown) => {
    worker.terminate();
    throw e;
  });
  return new EngineProxy(worker, pending, next, ready);
}
