/**
 * The public, typed contract of pyramidflow: one options type and one result type per command.
 * The CLI (src/cli), the server (src/server) and the report (src/report) are thin layers over
 * the functions in src/api/index.ts that take and return these.
 */

export type { VolumeNorm, Downsample, ModelConfig, ModelOptions } from '../flow/types.js';
export type { DatasetFormat } from '../data/dataset-types.js';
export type { Thresholds, DefectRegion, ImagePrediction, DetectOptions, ModelInfo } from '../detect/types.js';
export type { TrainProgress, ConformanceCheck, ConformanceReport } from '../train/types.js';
export type { Metrics as MetricSet, PlotCurve as Curve } from '../metrics/types.js';
import type { ModelConfig, ModelOptions } from '../flow/types.js';
import type { DatasetFormat } from '../data/dataset-types.js';
import type { AugmentKind } from '../data/augment.js';
import type { Thresholds, ImagePrediction } from '../detect/types.js';
import type { Metrics as MetricSet, PlotCurve as Curve } from '../metrics/types.js';

/** Augmentation of training images: 'auto' picks 'texture' or 'none' from the data set. */
export type AugmentMode = AugmentKind | 'auto';

export interface DataOptions {
  data: string; // root folder
  category?: string; // MVTec / BTAD category; optional for the folder layout
  format?: DatasetFormat; // detected when left out
}

export interface FprTargets {
  image?: number; // false-positive rate on good images, default 0.01
  pixel?: number; // false-positive rate on good pixels, default 0.001
}

export interface TrainOptions extends DataOptions, ModelOptions {
  out: string; // model file to write
  batch?: number; // >= 2, default 2
  epochs?: number; // default 15
  lr?: number; // default 2e-4
  seed?: number; // default 0
  threads?: number; // default: all cores
  saveMemory?: boolean | 'auto'; // default auto: on above 256x256
  augment?: AugmentMode; // default auto
  holdout?: number; // share of good training images kept for calibration, default 0.1
  fpr?: FprTargets;
  checkpointEvery?: number; // steps between checkpoints besides every epoch; 0 = epochs only
  resume?: boolean; // continue from `out` (or its checkpoint) if present
  from?: string; // start from this model file's weights (finished or a checkpoint), to train further or on other images; its configuration, a fresh optimizer
  maxImages?: number; // use at most this many training images (quick runs)
}

export interface TrainSummary {
  modelFile: string;
  config: ModelConfig;
  epochs: number;
  steps: number;
  seconds: number;
  trainImages: number;
  holdoutImages: number;
  lossPerEpoch: number[];
  thresholds: Thresholds;
  notes: string[];
}

export interface PredictOptions {
  model: string;
  inputs: string[]; // image files or folders
  out?: string; // folder for the PNGs; none written when left out
  threshold?: number; // image threshold override
  pixelThreshold?: number;
  minArea?: number; // smallest region in pixels, default 16
  threads?: number;
}

export interface TestImageResult {
  file: string;
  type: string; // 'good' or the defect type
  label: 0 | 1;
  score: number;
  verdict: 'good' | 'defect';
}

/** A test image with its pictures' ingredients, for the report's gallery. */
export interface GalleryItem extends TestImageResult {
  width: number;
  height: number;
  /** The input image resized to width x height, RGB interleaved, 8-bit. */
  rgb: Uint8Array;
  mask: Uint8Array | null; // {0,1}, width x height
  map: Float32Array; // width x height
}

export interface TestOptions extends DataOptions {
  model: string;
  maps?: string; // write every map as float32 TIFF under DIR/<category>/test/<type>/<stem>.tiff
  report?: string; // folder for index.html (written by the report layer)
  evalSize?: 'model' | 'original';
  fprLimit?: number; // AUPRO limit, default 0.3
  threads?: number;
  galleryCount?: number; // worst images kept for the report, default 24
}

export interface TestResult {
  category: string;
  model: string;
  config: ModelConfig;
  seconds: number;
  overall: MetricSet;
  perType: Record<string, MetricSet>;
  thresholds: Thresholds;
  /** Counts at the model's calibrated thresholds. */
  confusion: { goodImages: number; goodRejected: number; defectImages: number; defectsMissed: number };
  /** How far the calibrated image threshold is from the F1-max one (calibrated - best). */
  thresholdGap: { image: number; pixel: number };
  curves: { pixelRoc: Curve; imageRoc: Curve; pro: Curve };
  lossPerEpoch: number[];
  images: TestImageResult[];
  gallery: GalleryItem[];
}

export interface CalibrateOptions {
  model: string;
  good: string; // folder of good images
  fpr?: FprTargets;
  threads?: number;
}

export interface ConformanceOptions {
  /** Kernels to run: 'wasm' (default, what training and detection use) or 'js' (the reference). */
  backend?: 'js' | 'wasm';
  /** Kernel threads (default: all cores). */
  threads?: number;
}
