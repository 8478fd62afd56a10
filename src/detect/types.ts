/** Types of detection: thresholds, regions and one image's prediction. */

import type { ModelConfig, Thresholds } from '../flow/types.js';

export type { Thresholds } from '../flow/types.js';

/** One connected region of the pixel mask (8-connected), at the image's own size. */
export interface DefectRegion {
  /** Pixels in the region. */
  area: number;
  /** Left edge of the bounding box. */
  x: number;
  /** Top edge of the bounding box. */
  y: number;
  width: number;
  height: number;
  /** Maximum anomaly score inside. */
  peak: number;
}

/** One image's result. */
export interface ImagePrediction {
  file?: string;
  /** The image's own width. */
  width: number;
  /** The image's own height. */
  height: number;
  /** Raw image score: the maximum of the anomaly map at the model size. */
  score: number;
  /** The score mapped so that the image threshold is 0.5, clamped to [0, 1]. */
  normalizedScore: number;
  verdict: 'good' | 'defect';
  regions: DefectRegion[];
  /** Anomaly map at the image's own size, row-major. */
  map: Float32Array;
  /** PNG files written, when an output folder was given. */
  pictures?: { heatmap: string; overlay: string; outline: string };
}

/** Per-call overrides of one prediction. */
export interface DetectOptions {
  /** Name the result carries (and errors name). */
  fileName?: string;
  /** Image threshold override. */
  threshold?: number;
  /** Pixel threshold override. */
  pixelThreshold?: number;
  /** Smallest region in pixels (default 16). */
  minArea?: number;
}

/** What `info` says about a model file. */
export interface ModelInfo {
  /** The model's name: its file on Node. */
  file: string;
  formatVersion: number;
  config: ModelConfig;
  parameters: number;
  training: {
    data: string;
    category: string;
    trainImages: number;
    holdoutImages: number;
    epochs: number;
    epochsDone: number;
    steps: number;
    seed: number;
    augment: string;
    lossPerEpoch: number[];
    /** The model this training started from (`train --from`) and the epochs it had done. */
    from?: { file: string; epochs: number };
  };
  thresholds: Thresholds | null;
  createdAt: string;
}
