/**
 * The engine's state and operations, inside the engine worker: the kernels (WebAssembly over a
 * shared memory, this worker being thread 0 of the pool), the models by handle number, and each
 * request of protocol.ts done with the library's own code (the Detector, the model file
 * encoding, the training loop), as the Node API does them.
 */
import { PyramidFlowError } from '../util/errors.js';
import { resizeImage } from '../data/pixels.js';
import { decodeSavedModel, encodeSavedModel, type SavedModel } from '../flow/saved-model.js';
import { Detector } from '../detect/detector.js';
import { setBackend } from '../tensor/index.js';
import { createWasmBackend } from '../tensor/kernels/wasm/backend.js';
import { browserPlatform } from './platform.js';
import { bytesOf, decodeImageBytes, type BrowserDecoded } from './decode.js';
import { browserConfig, trainMore, trainNew, type NamedPixels, type TrainControl, type TrainedModel } from './train.js';
import type { EngineReady, EngineRequest, WireImage, WireModel } from './protocol.js';
import type { BrowserPrediction, DecodedImageInfo, RgbPixels } from './types.js';

/** A side of an image in pixels: a whole number the model sizes allow. */
const isSide = (v: number): boolean => Number.isInteger(v) && v >= 1 && v <= 16384;

interface HeldModel {
  name: string;
  saved: SavedModel;
  detector: Detector;
}

/** One engine's worker-side state. */
export class EngineSession {
  private readonly models = new Map<number, HeldModel>();
  private nextModel = 1;
  private threads = 1;

  /** Starts the kernels: as many threads as asked where the worker is isolated, else one (with a note). */
  async init(req: Extract<EngineRequest, { op: 'init' }>): Promise<EngineReady> {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    const wanted = req.threads ?? Math.max(1, navigator.hardwareConcurrency || 1);
    if (!Number.isInteger(wanted) || wanted < 1) throw new PyramidFlowError(`threads must be a positive integer, got ${req.threads}`, 'E_OPTION');
    const threads = isolated ? wanted : 1;
    const backend = await createWasmBackend({ threads, relaxedSimd: req.relaxedSimd, platform: browserPlatform(req.baseUrl) });
    setBackend(backend);
    this.threads = backend.threads;
    const note = isolated
      ? undefined
      : 'not cross-origin isolated (the page is served without COOP same-origin and COEP require-corp headers): training and prediction run on one thread';
    return { threads: backend.threads, isolated, simd: backend.relaxedSimd ? 'relaxed' : 'plain', backend: backend.name, ...(note ? { note } : {}) };
  }

  /** Decodes one image (PyramidFlowError naming it when it cannot be read). */
  async decodeImage(image: WireImage): Promise<BrowserDecoded> {
    return decodeImageBytes(await bytesOf(image.data), image.name);
  }

  async info(image: WireImage): Promise<DecodedImageInfo> {
    const { width, height, format } = await this.decodeImage(image);
    return { name: image.name, format, width, height };
  }

  async pixels(image: WireImage, size?: { width: number; height: number }): Promise<RgbPixels> {
    const decoded = await this.decodeImage(image);
    if (size && !(isSide(size.width) && isSide(size.height))) {
      throw new PyramidFlowError(`pixels: the size must be whole numbers of pixels from 1 to 16384, got ${size.width} x ${size.height}`, 'E_OPTION');
    }
    const img = size ? resizeImage(decoded, size.height, size.width) : decoded;
    return { width: img.width, height: img.height, rgb: img.rgb };
  }

  /**
   * Decodes every image and resizes it to the model's size at once (as Node's loadResized does:
   * a folder of large photos is never held at full size), reporting progress; the first that
   * fails stops it, by name.
   */
  private async decodeAll(images: WireImage[], control: TrainControl, size: { height: number; width: number }): Promise<NamedPixels[]> {
    if (images.length === 0) throw new PyramidFlowError('train: no images given', 'E_INPUT');
    const out: NamedPixels[] = [];
    for (const image of images) {
      out.push({ name: image.name, image: resizeImage(await this.decodeImage(image), size.height, size.width) });
      control.onProgress?.({ kind: 'decode', step: 0, steps: 0, epoch: 0, epochs: 0, done: out.length, total: images.length });
    }
    return out;
  }

  async train(req: Extract<EngineRequest, { op: 'train' }>, control: TrainControl): Promise<WireModel> {
    const options = req.options ?? {};
    const images = await this.decodeAll(req.images, control, browserConfig(options)); // a bad model option fails before any decoding
    return this.hold(await trainNew(images, options, this.threads, control), options.name ?? 'browser');
  }

  async continueTraining(req: Extract<EngineRequest, { op: 'continue' }>, control: TrainControl): Promise<WireModel> {
    const held = this.model(req.model);
    const images = await this.decodeAll(req.images, control, held.saved.config);
    return this.hold(await trainMore(held.saved, held.name, images, this.threads, control), held.name);
  }

  async load(bytes: Uint8Array | Blob, name: string): Promise<WireModel> {
    const saved = decodeSavedModel(await bytesOf(bytes), name);
    return this.hold({ saved, finished: saved.resume === null }, name);
  }

  bytes(id: number): Uint8Array {
    return encodeSavedModel(this.model(id).saved);
  }

  async predict(req: Extract<EngineRequest, { op: 'predict' }>): Promise<BrowserPrediction> {
    const held = this.model(req.model);
    const img = await this.decodeImage(req.image);
    const o = req.options ?? {};
    // A threshold that is not a number would make every verdict 'good': refused by name.
    for (const [what, v] of [
      ['threshold', o.threshold],
      ['pixelThreshold', o.pixelThreshold],
    ] as const) {
      if (v !== undefined && !Number.isFinite(v)) throw new PyramidFlowError(`${req.image.name}: ${what} must be a finite number, got ${v}`, 'E_OPTION');
    }
    if (o.minArea !== undefined && !(Number.isInteger(o.minArea) && o.minArea >= 1)) {
      throw new PyramidFlowError(`${req.image.name}: minArea must be a whole number of pixels, at least 1, got ${o.minArea}`, 'E_OPTION');
    }
    const p = held.detector.predict(img, { fileName: req.image.name, threshold: o.threshold, pixelThreshold: o.pixelThreshold, minArea: o.minArea });
    const t = held.detector.thresholds;
    return {
      name: req.image.name,
      width: p.width,
      height: p.height,
      map: p.map,
      score: p.score,
      normalizedScore: p.normalizedScore,
      verdict: p.verdict,
      threshold: o.threshold ?? t.image,
      pixelThreshold: o.pixelThreshold ?? t.pixel,
      regions: p.regions,
      scaleMin: t.scaleMin,
      scaleMax: t.scaleMax,
    };
  }

  setThresholds(id: number, image?: number, pixel?: number): WireModel {
    const held = this.model(id);
    for (const [what, v] of [
      ['image', image],
      ['pixel', pixel],
    ] as const) {
      if (v !== undefined && !Number.isFinite(v))
        throw new PyramidFlowError(`${held.name}: the ${what} threshold must be a finite number, got ${v}`, 'E_OPTION');
    }
    const t = held.detector.thresholds;
    held.saved.thresholds = { ...t, image: image ?? t.image, pixel: pixel ?? t.pixel };
    return this.handle(id, held);
  }

  release(id: number): void {
    this.model(id);
    this.models.delete(id);
  }

  private model(id: number): HeldModel {
    const held = this.models.get(id);
    if (!held) throw new PyramidFlowError(`model ${id} is not loaded in this engine (released, or from another engine)`, 'E_INPUT');
    return held;
  }

  /** Keeps a model under a new number; refuses one that cannot judge (Detector's one-line reasons). */
  private hold(trained: TrainedModel, name: string): WireModel {
    const detector = Detector.fromSavedModel(trained.saved, name);
    void detector.thresholds; // a model without thresholds cannot give verdicts: refused now, in the Detector's words
    const id = this.nextModel++;
    const held = { name, saved: detector.saved, detector };
    this.models.set(id, held);
    return this.handle(id, held);
  }

  private handle(id: number, { name, saved }: HeldModel): WireModel {
    const t = saved.training;
    return {
      id,
      name,
      config: { ...saved.config },
      thresholds: { ...saved.thresholds! },
      finished: saved.resume === null,
      training: {
        epochs: t.epochs,
        epochsDone: t.epochsDone,
        steps: t.steps,
        seed: t.seed,
        trainImages: [...t.trainFiles],
        holdoutImages: [...t.holdoutFiles],
        lossPerEpoch: [...t.lossPerEpoch],
        seconds: t.seconds,
      },
    };
  }
}
