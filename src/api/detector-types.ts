import type { ImagePrediction, ModelInfo } from './types.js';

/** Options of one prediction through a loaded model (the server's path). */
export interface DetectOptions {
  fileName?: string;
  threshold?: number;
  pixelThreshold?: number;
  minArea?: number;
}

/** A model loaded once and used for many images (the server keeps one per name). */
export interface Detector {
  readonly file: string;
  readonly info: ModelInfo;
  /** Decodes an encoded image (PNG, JPEG, BMP, TIFF), runs the model, finds regions. */
  predictImage(encoded: Uint8Array, opts?: DetectOptions): Promise<ImagePrediction>;
  /** The heat map on the model's fixed colour scale, as PNG, at the image's size. */
  heatmapPng(pred: ImagePrediction): Promise<Buffer>;
  /** The binary defect mask (pixel threshold) as a grey PNG, at the image's size. */
  maskPng(pred: ImagePrediction, pixelThreshold?: number): Promise<Buffer>;
}
