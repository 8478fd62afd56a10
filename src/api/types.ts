/**
 * The public, typed contract of pyramidflow: one options type and one result type per command.
 * The CLI (src/cli), the server (src/server) and the report (src/report) are thin layers over
 * the functions in src/api/index.ts that take and return these.
 *
 * The range, default and help of every option are in one place, the option table
 * (src/api/options.ts; `pyramidflow <command> --help` prints them): the comments here say what
 * an option is, not its numbers.
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
import type { OptionValue, RecordedOptions } from '../flow/saved-model.js';

export type { OptionValue, RecordedOptions };

/** Augmentation of training images: 'auto' picks 'texture' or 'none' from the data set. */
export type AugmentMode = AugmentKind | 'auto';

export interface DataOptions {
  data: string; // root folder
  category?: string; // MVTec / BTAD category; optional for the folder layout
  format?: DatasetFormat; // detected when left out
}

export interface FprTargets {
  image?: number; // false-positive rate on good images the image threshold is set for (--fpr)
  pixel?: number; // false-positive rate on good pixels the pixel threshold is set for (--pixel-fpr)
}

export interface TrainOptions extends DataOptions, ModelOptions {
  out: string; // model file to write
  batch?: number; // images per step
  epochs?: number; // may change on resume: the resumed run goes on to this many
  lr?: number; // learning rate; may change on resume: the resumed run uses it
  seed?: number; // weights, data order and augmentation
  threads?: number; // kernel threads
  saveMemory?: boolean | 'auto'; // recompute activations instead of keeping them
  augment?: AugmentMode;
  holdout?: number; // share of good training images kept for calibration
  fpr?: FprTargets; // may change on resume
  checkpointEvery?: number; // steps between checkpoints besides every epoch; 0 = epochs only
  resume?: boolean; // continue from `out` (or its checkpoint) if present; options that define the model or the data order must not change
  from?: string; // start from this model file's weights (finished or a checkpoint), to train further or on other images; its configuration, a fresh optimizer
  maxImages?: number; // use at most this many training images (quick runs)
}

/** The options a model was trained with (`pyramidflow info --config`). */
export interface TrainingOptionsOfModel {
  file: string;
  /** Resolved (defaults, `auto` and detected values filled in), by option name, in the table's order. */
  values: Record<string, OptionValue>;
  /** True for a model file of an earlier version: read back from its configuration and training record. */
  reconstructed: boolean;
  /** What resumed runs changed, and where they resumed. */
  resumed: NonNullable<RecordedOptions['resumed']>;
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
  minArea?: number; // smallest region in pixels
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
  fprLimit?: number; // false-positive rate limit of AUPRO
  threads?: number;
  galleryCount?: number; // worst images kept for the report
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
  fpr?: FprTargets; // each left out: the model's own target
  threads?: number;
}

export interface ConformanceOptions {
  /** Kernels to run: 'wasm' (what training and detection use) or 'js' (the reference). */
  backend?: 'js' | 'wasm';
  /** Kernel threads. */
  threads?: number;
}
