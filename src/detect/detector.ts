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
    const { height, width } = this.config;
    return anomalyMaps(
      this.model,
      this.template,
      images.map((img) => normalizeImage(resizeImage(img, height, width))),
      batch,
    );
  }

  /**
   * Score, verdict and regions of one image, with its map at the image's own size. A score that
   * is not a finite number is an error, never a verdict: a part that could not be judged is not good.
   */
  predict(img: DecodedImage, opts: DetectOptions = {}): ImagePrediction {
    const t = this.thresholds;
    const modelMap = this.modelMaps([img])[0]!;
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
  for (const [name, data] of arrays) if (!data.every(Number.isFinite)) return name;
  const t = s.thresholds;
  if (t && ![t.image, t.pixel, t.scaleMin, t.scaleMax].every(Number.isFinite)) return 'the thresholds';
  return null;
}
