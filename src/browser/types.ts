/**
 * The public types of the browser entry (`pyramidflow/browser`). Everything runs in a dedicated
 * "engine" Web Worker (thread 0 of the kernels' pool, which spawns the other pool workers),
 * because Chromium forbids `Atomics.wait` on a page's main thread; the API on the page is a thin
 * asynchronous proxy. Images cross as Blobs or bytes, maps come back as transferred arrays.
 *
 * No Node types here: this file is the contract the page code builds on, kept stable.
 */
import type { ModelConfig, Thresholds, VolumeNorm } from '../flow/types.js';
import type { DefectRegion } from '../detect/types.js';

export type { DefectRegion } from '../detect/types.js';
export type { ModelConfig, Thresholds, VolumeNorm } from '../flow/types.js';

/** Which WebAssembly kernel build runs: relaxed SIMD (fused multiply-add) or plain SIMD128. */
export type SimdKind = 'relaxed' | 'plain';

/** How to start an engine. */
export interface EngineOptions {
  /**
   * Kernel threads, the engine worker included (default: `navigator.hardwareConcurrency`). Without
   * cross-origin isolation (COOP `same-origin` + COEP `require-corp`) there is one thread whatever
   * this says, and {@link BrowserEngine.note} says why.
   */
  threads?: number;
  /**
   * The folder that holds the bundle's files (`engine-worker.js`, `kernels-simd.wasm`,
   * `kernels-relaxed.wasm`); default: the folder of the entry module (its `import.meta.url`).
   */
  baseUrl?: string | URL;
  /** Use the relaxed-SIMD build where the browser validates it (default true); false: plain SIMD always. */
  relaxedSimd?: boolean;
}

/** A started engine: one worker and its kernel threads; every method is asynchronous. */
export interface BrowserEngine {
  /** Kernel threads in use, the engine worker included. */
  readonly threads: number;
  /** Whether the page is cross-origin isolated (shared memory, and so more than one thread, is possible). */
  readonly isolated: boolean;
  /** The kernel build that runs. */
  readonly simd: SimdKind;
  /** The kernel backend in words, as the Node CLI names it (e.g. 'wasm-relaxed-simd x4'). */
  readonly backend: string;
  /** A remark to show the user, e.g. 'not cross-origin isolated (no COOP/COEP headers): one thread'. */
  readonly note?: string;
  /** Reads an image's header and pixels (PNG, JPEG, BMP; TIFF is refused): its size and format. */
  decode(image: ImageInput): Promise<DecodedImageInfo>;
  /**
   * Decodes an image to planar 8-bit RGB, resized (as the Node path resizes, Pillow's bilinear)
   * to `size` when given: the exact tensor the model sees, before normalisation.
   */
  pixels(image: ImageInput, size?: { width: number; height: number }): Promise<RgbPixels>;
  /**
   * Trains a model on good images (any sizes: each is resized to the model's, as on Node; at
   * least a batch after the hold-out), then computes the latent template and calibrates the
   * thresholds on the held-out images. The same images, seed and options give the Node CLI's
   * weights bit for bit (images are taken in code-unit order of their names). Stopping through
   * `hooks.signal` resolves with a usable model at the step reached (finished: false), which
   * {@link BrowserEngine.continueTraining} continues exactly.
   */
  train(images: readonly ImageInput[], options?: BrowserTrainOptions, hooks?: TrainHooks): Promise<BrowserModel>;
  /**
   * Continues a model stopped early (finished: false; also such a model's `.pflow` loaded again)
   * on the same images, matched by name: the result equals an uninterrupted run's. (A Node CLI
   * checkpoint without a template is refused by loadModel: finish it with `train --resume`.)
   */
  continueTraining(model: BrowserModel, images: readonly ImageInput[], hooks?: TrainHooks): Promise<BrowserModel>;
  /** Loads `.pflow` bytes (written by the Node CLI or by {@link BrowserEngine.modelBytes}); `name` is in errors. */
  loadModel(bytes: Uint8Array | ArrayBuffer | Blob, name?: string): Promise<BrowserModel>;
  /** The model's `.pflow` bytes, which the Node CLI reads (`pyramidflow predict --model ...`). */
  modelBytes(model: BrowserModel): Promise<Uint8Array>;
  /** Map, score, verdict and regions of one image (any size: resized to the model's as training images are). */
  predict(model: BrowserModel, image: ImageInput, options?: BrowserPredictOptions): Promise<BrowserPrediction>;
  /** Sets the model's thresholds (kept in its bytes from then on); returns the updated handle. */
  setThresholds(model: BrowserModel, thresholds: { image?: number; pixel?: number }): Promise<BrowserModel>;
  /** Frees a model's memory in the worker; the handle is unusable afterwards. */
  releaseModel(model: BrowserModel): Promise<void>;
  /** Stops the engine and its threads; every pending call rejects. */
  dispose(): void;
}

/** An image: a File (its name names it in errors), or bytes with a name. */
export type ImageInput = File | NamedImage;

/** Image bytes with the name errors give. */
export interface NamedImage {
  /** Named in errors and results (a file name). */
  name: string;
  /** The encoded image: PNG, JPEG or BMP. */
  data: Blob | Uint8Array;
}

/** What {@link BrowserEngine.decode} finds. */
export interface DecodedImageInfo {
  /** The image's name. */
  name: string;
  /** The container format. */
  format: 'png' | 'jpeg' | 'bmp';
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Planar 8-bit RGB: the R plane, then G, then B (3 x height x width). */
export interface RgbPixels {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3 x height x width bytes. */
  rgb: Uint8Array;
}

/** Training options; each default is the Node CLI's unless it says otherwise. */
export interface BrowserTrainOptions {
  /** Square model input in pixels (default 256); images of another size are resized to it. */
  size?: number;
  /** Latent channels C (default 16). */
  channels?: number;
  /** Odd kernel size (default 7). */
  kernel?: number;
  /** Pyramid levels L >= 2 (default 4). */
  levels?: number;
  /** Stacks of coupling blocks (default 4). */
  stacks?: number;
  /** Volume normalisation (default 'cvn'). */
  volumeNorm?: VolumeNorm;
  /**
   * Epochs (default: as many as make about 1,500 optimizer steps, at most 15). The steps of an
   * epoch are the training images (after the hold-out) divided by the batch, rounded down.
   */
  epochs?: number;
  /** Batch size, at least 2 (default 2). */
  batch?: number;
  /** Learning rate (default 2e-4). */
  lr?: number;
  /** Seed of the weights, the data order, the hold-out split and augmentation (default 0). */
  seed?: number;
  /** 'texture': flips and 90-degree rotations; 'none' (default). */
  augment?: 'texture' | 'none';
  /** Share of the images held out to calibrate the thresholds (default 0.1). */
  holdout?: number;
  /** False-positive rate of the image threshold on good images (default the CLI's). */
  fpr?: number;
  /** False-positive rate of the pixel threshold on good pixels (default the CLI's). */
  pixelFpr?: number;
  /** Memory-saving backpropagation (default: on above 256 x 256, as on Node). */
  saveMemory?: boolean;
  /** A name for the model (kept as its training category; default 'browser'). */
  name?: string;
}

/** Progress callbacks and the stop signal of a training. */
export interface TrainHooks {
  /** Called after every optimizer step and at phase changes. */
  onProgress?: (p: BrowserTrainProgress) => void;
  /** Aborting stops after the current step; the call still resolves, with a usable model (finished: false). */
  signal?: AbortSignal;
}

/** One progress report of a training. */
export interface BrowserTrainProgress {
  /** 'decode' (reading images), 'step', 'epoch', 'finish' (template and thresholds), 'done'. */
  kind: 'decode' | 'step' | 'epoch' | 'finish' | 'done';
  /** Optimizer steps done in all, this model's earlier runs included. */
  step: number;
  /** Optimizer steps of the whole training. */
  steps: number;
  /** 1-based epoch in progress. */
  epoch: number;
  /** Epochs of the whole training. */
  epochs: number;
  /** This step's loss ('step') or the epoch's mean ('epoch'). */
  loss?: number;
  /** Estimated seconds until training ends ('step'). */
  secondsLeft?: number;
  /** Images read so far ('decode'). */
  done?: number;
  /** Images to read ('decode'). */
  total?: number;
}

/** A model held in the engine worker. */
export interface BrowserModel {
  /** The handle's number in its engine. */
  readonly id: number;
  /** Its name in messages: the file it was loaded from, or the training's name. */
  readonly name: string;
  /** The network's configuration. */
  readonly config: ModelConfig;
  /** The thresholds its verdicts use. */
  readonly thresholds: Thresholds;
  /** False when training stopped early: the model works, and {@link BrowserEngine.continueTraining} goes on. */
  readonly finished: boolean;
  /** How it was trained. */
  readonly training: BrowserTrainingSummary;
}

/** What a model says about its training. */
export interface BrowserTrainingSummary {
  /** Epochs the training is to run. */
  epochs: number;
  /** Epochs finished. */
  epochsDone: number;
  /** Optimizer steps done. */
  steps: number;
  /** The seed. */
  seed: number;
  /** Names of the images trained on. */
  trainImages: string[];
  /** Names of the images held out for the thresholds. */
  holdoutImages: string[];
  /** Mean loss of each finished epoch. */
  lossPerEpoch: number[];
  /** Seconds of training. */
  seconds: number;
}

/** Per-call overrides of a prediction. */
export interface BrowserPredictOptions {
  /** Image threshold instead of the model's. */
  threshold?: number;
  /** Pixel threshold instead of the model's. */
  pixelThreshold?: number;
  /** Smallest region reported, in pixels (default 16). */
  minArea?: number;
}

/** One image's result, as the Node `predict` gives it. */
export interface BrowserPrediction {
  /** The image's name. */
  name: string;
  /** The image's own width. */
  width: number;
  /** The image's own height. */
  height: number;
  /** Anomaly map at the image's own size, row-major. */
  map: Float32Array;
  /** The image score: the maximum of the map at the model's size. */
  score: number;
  /** The score mapped so that the image threshold is 0.5, clamped to [0, 1]. */
  normalizedScore: number;
  /** 'defect' when the score is above the image threshold. */
  verdict: 'good' | 'defect';
  /** The image threshold used. */
  threshold: number;
  /** The pixel threshold used. */
  pixelThreshold: number;
  /** Connected regions of pixels above the pixel threshold. */
  regions: DefectRegion[];
  /** Bottom of the model's fixed heat-map colour scale. */
  scaleMin: number;
  /** Top of the model's fixed heat-map colour scale. */
  scaleMax: number;
}
