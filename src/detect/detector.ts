/**
 * A trained model ready to judge images: the flow in evaluation mode, its latent template and
 * thresholds. One object does the whole path of a prediction (resize, normalise, anomaly map,
 * score, verdict, regions) and draws its pictures as raw pixels; the API, the server and the
 * CLI all use it. No files and no encoders here: callers decode images and encode pictures.
 */
import { PyramidFlowError } from '../util/errors.js';
import { normalizeImage, planarToInterleaved, resizeImage, type DecodedImage, type RasterImage } from '../data/pixels.js';
import { resizePlane } from '../data/resize.js';
import { restoreModel, restoreTemplate, type SavedModel } from '../flow/saved-model.js';
import type { PyramidFlow } from '../flow/model.js';
import type { ModelConfig, Thresholds } from '../flow/types.js';
import type { Tensor } from '../tensor/index.js';
import { anomalyMaps, maxOf } from './inference.js';
import { normalizeScore } from './thresholds.js';
import { findRegions, pixelMask } from './regions.js';
import { heatmapRgb, outlineOfMask, overlayRgb, paintMask, OUTLINE_COLOUR } from './pictures.js';
import type { DetectOptions, ImagePrediction, ModelInfo } from './types.js';

/** Smallest defect region reported, in pixels of the image, unless a call says otherwise. */
export const DEFAULT_MIN_AREA = 16;

/** One image's outcome in `Detector.predictBatch` (the library's `predictImages`): its prediction, or the error that stopped it (and only it). */
export type BatchOutcome =
  | {
      /** The image's score, verdict, regions and map. */
      prediction: ImagePrediction;
      /** Absent: the image was judged. */
      error?: undefined;
    }
  | {
      /** Absent: the image was not judged. */
      prediction?: undefined;
      /** Why this image could not be judged (a PyramidFlowError, or what the kernels threw). */
      error: unknown;
    };

export class Detector {
  private constructor(
    /** The model's name in messages and results (its file on Node). */
    readonly name: string,
    readonly saved: SavedModel,
    readonly model: PyramidFlow,
    readonly template: Tensor[],
  ) {
    model.training = false;
  }

  /**
   * A detector from a model file's content. Refuses a model that cannot judge: training not
   * finished (no template), or weights, running means, template or thresholds that are not finite.
   */
  static fromSavedModel(saved: SavedModel, name: string): Detector {
    const template = restoreTemplate(saved);
    if (!template) {
      throw new PyramidFlowError(
        `${name}: training has not finished (epoch ${saved.training.epochsDone} of ${saved.training.epochs}); ` +
          'resume it with `pyramidflow train ... --resume` before using the model',
        'E_MODEL_FILE',
      );
    }
    const bad = firstNonFinite(saved);
    if (bad) throw new PyramidFlowError(`${name}: ${bad} holds values that are not finite numbers; the model cannot judge images (retrain it)`, 'E_MODEL_FILE');
    return new Detector(name, saved, restoreModel(saved), template);
  }

  get config(): ModelConfig {
    return this.saved.config;
  }

  get thresholds(): Thresholds {
    if (!this.saved.thresholds) throw new PyramidFlowError(`${this.name}: the model has no thresholds; run \`pyramidflow calibrate\``, 'E_MODEL_FILE');
    return this.saved.thresholds;
  }

  info(): ModelInfo {
    return describeModel(this.saved, this.name, this.model.parameterCount());
  }

  /** Anomaly maps at the model size, one per image (any size in: resized as training images are). */
  modelMaps(images: readonly DecodedImage[], batch = 4): Float32Array[] {
    return anomalyMaps(
      this.model,
      this.template,
      images.map((img) => this.modelInput(img)),
      batch,
    );
  }

  /**
   * Score, verdict and regions of one image, with its map at the image's own size. A score that
   * is not a finite number is an error, never a verdict: a part that could not be judged is not good.
   */
  predict(img: DecodedImage, opts: DetectOptions = {}): ImagePrediction {
    const [outcome] = this.predictBatch([img], [opts]);
    if (outcome!.error !== undefined) throw outcome!.error;
    return outcome!.prediction!;
  }

  /**
   * {@link predict} of several images, their flow passes run as one batch (which keeps the
   * cores busier in the small levels); `opts[i]` goes with `images[i]`. Each image gets its own
   * outcome, in order: an image that cannot be judged (its pixels do not fit its size, a score
   * that is not finite) is that image's error and changes nothing for the others, whose maps
   * are those {@link predict} gives them one at a time (to float rounding: a batch may convolve
   * with other FFT tiles). Errors of the model itself (no thresholds) are thrown.
   */
  predictBatch(images: readonly DecodedImage[], opts: readonly DetectOptions[] = []): BatchOutcome[] {
    const t = this.thresholds; // the model's fault, not an image's: thrown
    const outcomes: BatchOutcome[] = new Array(images.length);
    const ready: number[] = [];
    const inputs: Float32Array[] = [];
    images.forEach((img, i) => {
      try {
        inputs.push(this.modelInput(img, opts[i]?.fileName));
        ready.push(i);
      } catch (error) {
        outcomes[i] = { error };
      }
    });
    const maps = this.mapsEachOrAll(inputs);
    ready.forEach((i, k) => {
      const map = maps[k]!;
      try {
        if (!(map instanceof Float32Array)) throw map.error;
        outcomes[i] = { prediction: this.judge(images[i]!, map, opts[i] ?? {}, t) };
      } catch (error) {
        outcomes[i] = { error };
      }
    });
    return outcomes;
  }

  /** The image resized to the model's size and normalised, as the flow reads it. */
  private modelInput(img: DecodedImage, name = 'image'): Float32Array {
    const { height, width } = this.config;
    const expected = 3 * img.width * img.height;
    if (!(img.rgb instanceof Uint8Array) || img.rgb.length !== expected) {
      throw new PyramidFlowError(
        `${name}: ${img.width} x ${img.height} RGB pixels take ${expected} values, the image holds ${img.rgb?.length}`,
        'E_NOT_JUDGED',
      );
    }
    return normalizeImage(img.width === width && img.height === height ? img : resizeImage(img, height, width));
  }

  /**
   * The maps of the inputs in one batch; should the batch fail as a whole (out of memory), each
   * input alone, so that an error belongs to the image that caused it.
   */
  private mapsEachOrAll(inputs: readonly Float32Array[]): Array<Float32Array | { error: unknown }> {
    if (inputs.length === 0) return [];
    try {
      return anomalyMaps(this.model, this.template, inputs, inputs.length);
    } catch (error) {
      if (inputs.length === 1) return [{ error }];
      return inputs.flatMap((input) => this.mapsEachOrAll([input]));
    }
  }

  /** Score, verdict and regions of an image from its map at the model size. */
  private judge(img: DecodedImage, modelMap: Float32Array, opts: DetectOptions, t: Thresholds): ImagePrediction {
    const score = maxOf(modelMap);
    const file = opts.fileName;
    if (!Number.isFinite(score)) {
      throw new PyramidFlowError(`${file ?? 'image'}: the anomaly score is ${score}; the image could not be judged`, 'E_NOT_JUDGED');
    }
    const map = this.toImageSize(modelMap, img.width, img.height);
    const imageThreshold = opts.threshold ?? t.image;
    const pixelThreshold = opts.pixelThreshold ?? t.pixel;
    return {
      file,
      width: img.width,
      height: img.height,
      score,
      normalizedScore: normalizeScore(score, { ...t, image: imageThreshold }),
      verdict: score > imageThreshold ? 'defect' : 'good',
      regions: findRegions(map, img.width, img.height, pixelThreshold, opts.minArea ?? DEFAULT_MIN_AREA),
      map,
    };
  }

  /** The heat map on the model's fixed colour scale, RGB at the image's size. */
  heatmap(pred: ImagePrediction): RasterImage {
    const t = this.thresholds;
    return { width: pred.width, height: pred.height, channels: 3, data: heatmapRgb(pred.map, t.scaleMin, t.scaleMax) };
  }

  /** The heat map laid over the image. */
  overlay(pred: ImagePrediction, img: DecodedImage): RasterImage {
    const t = this.thresholds;
    return { width: pred.width, height: pred.height, channels: 3, data: overlayRgb(planarToInterleaved(img), pred.map, t.scaleMin, t.scaleMax) };
  }

  /** The image with the outlines of the defect regions drawn in red. */
  outline(pred: ImagePrediction, img: DecodedImage, pixelThreshold = this.thresholds.pixel): RasterImage {
    const edge = outlineOfMask(pixelMask(pred.map, pixelThreshold), pred.width, pred.height);
    return { width: pred.width, height: pred.height, channels: 3, data: paintMask(planarToInterleaved(img), edge, OUTLINE_COLOUR) };
  }

  /** The defect mask (the pixel threshold's rule) as grey 0/255. */
  mask(pred: ImagePrediction, pixelThreshold = this.thresholds.pixel): RasterImage {
    const mask = pixelMask(pred.map, pixelThreshold);
    for (let i = 0; i < mask.length; i++) mask[i] = mask[i]! * 255;
    return { width: pred.width, height: pred.height, channels: 1, data: mask };
  }

  /** A map at the model size resized (bilinear) to width x height. */
  toImageSize(map: Float32Array, width: number, height: number): Float32Array {
    const { height: mh, width: mw } = this.config;
    return mh === height && mw === width ? map : resizePlane(map, mh, mw, height, width);
  }
}

/** What `info` prints about a model file's content. */
export function describeModel(s: SavedModel, name: string, parameters: number): ModelInfo {
  const t = s.training;
  return {
    file: name,
    formatVersion: s.formatVersion,
    config: s.config,
    parameters,
    training: {
      data: t.data,
      category: t.category,
      trainImages: t.trainFiles.length,
      holdoutImages: t.holdoutFiles.length,
      epochs: t.epochs,
      epochsDone: t.epochsDone,
      steps: t.steps,
      seed: t.seed,
      augment: t.augment,
      lossPerEpoch: t.lossPerEpoch,
      ...(t.from ? { from: t.from } : {}),
    },
    thresholds: s.thresholds,
    createdAt: s.createdAt,
  };
}

/** The name of the first part of a model's state that holds NaN or an infinity, or null. */
function firstNonFinite(s: SavedModel): string | null {
  const arrays: [string, Float32Array][] = [
    ...Object.entries(s.params).map(([k, v]): [string, Float32Array] => [k, v.data]),
    ...Object.entries(s.buffers).map(([k, v]): [string, Float32Array] => [k, v.data]),
    ...(s.template ?? []).map((t, k): [string, Float32Array] => [`the template's level ${k}`, t.data]),
  ];
  for (const [name, data] of arrays) if (!allFinite(data)) return name;
  const t = s.thresholds;
  if (t && ![t.image, t.pixel, t.scaleMin, t.scaleMax].every(Number.isFinite)) return 'the thresholds';
  return null;
}

/** Whether every value is a finite number (a plain loop: a model holds millions of them). */
function allFinite(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return false;
  return true;
}
