/**
 * The detector on Node: model files read from disk, images decoded from their bytes, pictures
 * encoded as PNG. The judging itself is src/detect/detector.ts.
 */
import type { DetectOptions, ImagePrediction, ModelInfo } from './types.js';
import { decodeImage, encodePng } from '../data/image.js';
import { Detector } from '../detect/detector.js';
import { readModelFile } from './model-files.js';
import { ensureBackend } from './runtime.js';

/** Reads a model file into a detector; every error names the file. */
export function readDetector(file: string): Detector {
  return Detector.fromSavedModel(readModelFile(file), file);
}

/** A model loaded once and used for many images (the server keeps one per name). */
export interface ImageDetector {
  readonly file: string;
  readonly info: ModelInfo;
  /** Decodes an encoded image (PNG, JPEG, BMP, TIFF), runs the model, finds regions. */
  predictImage(encoded: Uint8Array, opts?: DetectOptions): Promise<ImagePrediction>;
  /** The heat map on the model's fixed colour scale, as PNG, at the image's size. */
  heatmapPng(pred: ImagePrediction): Promise<Buffer>;
  /** The binary defect mask (pixel threshold) as a grey PNG, at the image's size. */
  maskPng(pred: ImagePrediction, pixelThreshold?: number): Promise<Buffer>;
}

/** Loads a model file for repeated predictions (the kernels start once, with `threads` threads). */
export async function loadDetector(file: string, opts: { threads?: number } = {}): Promise<ImageDetector> {
  await ensureBackend(opts.threads);
  const detector = readDetector(file);
  return {
    file,
    info: detector.info(),
    async predictImage(encoded, o = {}) {
      const img = await decodeImage(encoded, o.fileName ?? 'request body');
      return detector.predict(img, o);
    },
    heatmapPng: (pred) => encodePng(detector.heatmap(pred)),
    maskPng: (pred, pixelThreshold) => encodePng(detector.mask(pred, pixelThreshold)),
  };
}
