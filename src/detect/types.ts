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
  /** Width of the bounding box in pixels. */
  width: number;
  /** Height of the bounding box in pixels. */
  height: number;
  /** Maximum anomaly score inside. */
  peak: number;
}

/** One image's result. */
export interface ImagePrediction {
  /** The image's name: its path for `predict`, {@link DetectOptions.fileName} otherwise; absent when none was given. */
  file?: string;
  /** The image's own width. */
  width: number;
  /** The image's own height. */
  height: number;
  /** Raw image score: the maximum of the anomaly map at the model size. */
  score: number;
  /** The score mapped so that the image threshold is 0.5, clamped to [0, 1]. */
  normalizedScore: number;
  /** 'defect' when the score is above the image threshold (the model's, or the override). */
  verdict: 'good' | 'defect';
  /** Regions of pixels above the pixel threshold, at least `minArea` pixels each. */
  regions: DefectRegion[];
  /** Anomaly map at the image's own size, row-major. */
  map: Float32Array;
  /** PNG files written, when an output folder was given. */
  pictures?: {
    /** The anomaly map on the model's fixed colour scale: `<stem>_heatmap.png`. */
    heatmap: string;
    /** The heat map blended over the image: `<stem>_overlay.png`. */
    overlay: string;
    /** The image with the outlines of the defect regions drawn on it: `<stem>_outline.png`. */
    outline: string;
  };
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
  /** The model file format's version (the container's, see docs/model-file.md). */
  formatVersion: number;
  /** The network's configuration. */
  config: ModelConfig;
  /** Number of trainable weights (float32 values). */
  parameters: number;
  /** How the model was trained. */
  training: {
    /** The data folder it was trained on. */
    data: string;
    /** The category trained on. */
    category: string;
    /** Good images trained on. */
    trainImages: number;
    /** Good images held out to set the thresholds (0: the training images set them). */
    holdoutImages: number;
    /** Epochs the training was to run. */
    epochs: number;
    /** Epochs finished; less than `epochs` in a checkpoint. */
    epochsDone: number;
    /** Optimizer steps done. */
    steps: number;
    /** Seed of the weights, data order and augmentation. */
    seed: number;
    /** The augmentation used: 'texture' or 'none'. */
    augment: string;
    /** Mean training loss of each finished epoch. */
    lossPerEpoch: number[];
    /** The model this training started from (`train --from`) and the epochs it had done. */
    from?: {
      /** That model's file. */
      file: string;
      /** The epochs it had done. */
      epochs: number;
    };
  };
  /** The thresholds; null until training has finished (a checkpoint). */
  thresholds: Thresholds | null;
  /** When the file was written, ISO 8601 in UTC (e.g. '2025-01-31T12:00:00.000Z'). */
  createdAt: string;
}
