/**
 * A trained model loaded for inference: the flow in evaluation mode, its template and
 * thresholds. Turns decoded images into anomaly maps at the model size or the image's own size.
 */
import type { ImagePrediction, ModelInfo, Thresholds } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import type { DecodedImage } from '../data/image.js';
import { normalizeImage, resizeImage, resizePlane } from '../data/image.js';
import { restoreModel, restoreTemplate, type SavedModel } from '../flow/saved-model.js';
import { readModelFile } from './model-files.js';
import type { PyramidFlow } from '../flow/model.js';
import type { Tensor } from '../tensor/index.js';
import { anomalyMaps, maxOf } from '../detect/inference.js';
import { normalizeScore } from '../detect/thresholds.js';
import { findRegions } from '../detect/regions.js';

export class LoadedModel {
  private constructor(
    readonly file: string,
    readonly saved: SavedModel,
    readonly model: PyramidFlow,
    readonly template: Tensor[],
  ) {
    model.training = false;
  }

  static load(file: string): LoadedModel {
    const saved = readModelFile(file);
    const template = restoreTemplate(saved);
    if (!template) {
      throw new PyramidFlowError(
        `${file}: training has not finished (epoch ${saved.training.epochsDone} of ${saved.training.epochs}); ` +
          'resume it with `pyramidflow train ... --resume` before using the model',
        'E_MODEL_FILE',
      );
    }
    return new LoadedModel(file, saved, restoreModel(saved), template);
  }

  get config() {
    return this.saved.config;
  }

  get thresholds(): Thresholds {
    if (!this.saved.thresholds) throw new PyramidFlowError(`${this.file}: the model has no thresholds; run \`pyramidflow calibrate\``);
    return this.saved.thresholds;
  }

  /** Maps at the model resolution, one per image (any size in; resized like training images). */
  modelMaps(images: readonly DecodedImage[], batch = 4): Float32Array[] {
    const { height, width } = this.config;
    return anomalyMaps(this.model, this.template, images.map((img) => normalizeImage(resizeImage(img, height, width))), batch);
  }

  /** A map at the model size resized (bilinear) to width x height. */
  toSize(map: Float32Array, width: number, height: number): Float32Array {
    const { height: mh, width: mw } = this.config;
    return mh === height && mw === width ? map : resizePlane(map, mh, mw, height, width);
  }

  predict(img: DecodedImage, opts: { file?: string; threshold?: number; pixelThreshold?: number; minArea?: number } = {}): ImagePrediction {
    const t = this.thresholds;
    const modelMap = this.modelMaps([img])[0]!;
    const score = maxOf(modelMap);
    const map = this.toSize(modelMap, img.width, img.height);
    const imageThr = opts.threshold ?? t.image;
    const pixelThr = opts.pixelThreshold ?? t.pixel;
    return {
      file: opts.file,
      width: img.width,
      height: img.height,
      score,
      normalizedScore: normalizeScore(score, { ...t, image: imageThr }),
      verdict: score > imageThr ? 'defect' : 'good',
      regions: findRegions(map, img.width, img.height, pixelThr, opts.minArea ?? 16),
      map,
    };
  }

  info(): ModelInfo {
    const s = this.saved;
    return modelInfo(this.file, s, this.model.parameterCount());
  }
}

export function modelInfo(file: string, s: SavedModel, parameters: number): ModelInfo {
  const t = s.training;
  return {
    file,
    formatVersion: s.formatVersion,
    config: s.config,
    parameters,
    training: {
      data: t.data, category: t.category, trainImages: t.trainFiles.length, holdoutImages: t.holdoutFiles.length,
      epochs: t.epochs, epochsDone: t.epochsDone, steps: t.steps, seed: t.seed, augment: t.augment, lossPerEpoch: t.lossPerEpoch,
      ...(t.from ? { from: t.from } : {}),
    },
    thresholds: s.thresholds,
    createdAt: s.createdAt,
  };
}
