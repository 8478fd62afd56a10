/**
 * The public, typed contract of pyramidflow: one options type and one result type per command.
 * The CLI (src/cli) and the server (src/server) are thin layers over the functions in
 * src/api/index.ts that take and return these; `test` writes the report (src/report, below this
 * layer, where its result types live).
 *
 * The range, default and help of every option are in one place, the option table
 * (src/api/options.ts; `pyramidflow <command> --help` prints them): the comments here say what
 * an option is, not its numbers.
 */

export type { VolumeNorm, Downsample, ModelConfig, ModelOptions } from '../flow/types.js';
export type { DatasetFormat, FolderLayoutOptions } from '../data/dataset-types.js';
export type { Thresholds, DefectRegion, ImagePrediction, DetectOptions, ModelInfo } from '../detect/types.js';
export type { TrainProgress, ConformanceCheck, ConformanceReport } from '../train/types.js';
export type { Metrics as MetricSet, PlotCurve as Curve } from '../metrics/types.js';
export type { TestResult, TestImageResult, GalleryItem } from '../report/types.js';
import type { ModelConfig, ModelOptions } from '../flow/types.js';
import type { DatasetFormat, FolderLayoutOptions } from '../data/dataset-types.js';
import type { AugmentKind } from '../data/augment.js';
import type { Thresholds, ImagePrediction } from '../detect/types.js';
import type { OptionValue, RecordedOptions, ResumedChange, OptionChange } from '../flow/saved-model.js';

export type { OptionValue, RecordedOptions, ResumedChange, OptionChange };
export type { AugmentKind };

/** Augmentation of training images: 'auto' picks 'texture' or 'none' from the data set. */
export type AugmentMode = AugmentKind | 'auto';

/**
 * Where the images are. The folder layout's options (normalDir, normalTestDir, normalSplitRatio;
 * abnormalDir and maskDir for `test`) say where its parts are; other layouts refuse them.
 */
export interface DataOptions extends FolderLayoutOptions {
  /** The data set's root folder. */
  data: string;
  /** MVTec / BTAD category; optional for the folder layout. */
  category?: string;
  /** The layout; detected when left out. */
  format?: DatasetFormat;
}

/** The false-positive rates thresholds are set for, on good images. */
export interface FprTargets {
  /** False-positive rate on good images the image threshold is set for (`--fpr`, default 0.01). */
  image?: number;
  /** False-positive rate on good pixels the pixel threshold is set for (`--pixel-fpr`, default 0.001). */
  pixel?: number;
}

export interface TrainOptions extends DataOptions, ModelOptions {
  /** Model file to write. */
  out: string;
  /** Images per step, >= 2 (default 2). */
  batch?: number;
  /** Epochs (default 15; 0 = the untrained flow, a baseline). May change on resume: the resumed run goes on to this many. */
  epochs?: number;
  /** Adam's learning rate (default 2e-4); may change on resume: the resumed run uses it. */
  lr?: number;
  /** Seed of the weights, the data order and the augmentation (default 0). */
  seed?: number;
  /** Kernel threads (default: all cores). */
  threads?: number;
  /** Recompute activations instead of keeping them (default 'auto': on above 256 x 256). */
  saveMemory?: boolean | 'auto';
  /** Augmentation of the training images (default 'auto'). */
  augment?: AugmentMode;
  /** Share of good training images kept for calibration, 0..0.9 (default 0.1). */
  holdout?: number;
  /** Rates the thresholds are set for; may change on resume. */
  fpr?: FprTargets;
  /** Steps between checkpoints besides every epoch (default 0: each epoch only). */
  checkpointEvery?: number;
  /** Continue from `out` (or its checkpoint) if present; options that define the model or the data order must not change. */
  resume?: boolean;
  /** Start from this model file's weights (finished or a checkpoint), to train further or on other images; its configuration, a fresh optimizer. */
  from?: string;
  /** Use at most this many training images (quick runs) */
  maxImages?: number;
  /**
   * Replace an existing model file at `out` (a new run). Without it (or `resume`) an existing `out`
   * is refused; a file that is not a pyramidflow model is refused even with it.
   */
  force?: boolean;
  /** Refuse an image of more pixels than this (from its header, before decoding) */
  maxPixels?: number;
}

/** The options a model was trained with (`pyramidflow info --config`). */
export interface TrainingOptionsOfModel {
  /** The model file. */
  file: string;
  /** Resolved (defaults, `auto` and detected values filled in), by option name, in the table's order. */
  values: Record<string, OptionValue>;
  /** True for a model file of an earlier version: read back from its configuration and training record. */
  reconstructed: boolean;
  /** What resumed runs changed, and where they resumed. */
  resumed: NonNullable<RecordedOptions['resumed']>;
}

/** What a finished `train` did. */
export interface TrainSummary {
  /** The model file written. */
  modelFile: string;
  /** The network trained. */
  config: ModelConfig;
  /** Epochs done in all (a resumed run counts the checkpoint's too). */
  epochs: number;
  /** Optimisation steps in all. */
  steps: number;
  /** Wall-clock seconds of this run. */
  seconds: number;
  /** Good images trained on. */
  trainImages: number;
  /** Good images kept aside to set the thresholds. */
  holdoutImages: number;
  /** Mean loss of each epoch. */
  lossPerEpoch: number[];
  /** The thresholds set at the end. */
  thresholds: Thresholds;
  /** Things worth knowing (too few images for the rate, stale files removed, ...). */
  notes: string[];
}

/** What `predict` judges and where its pictures go. */
export interface PredictOptions {
  /** The model file. */
  model: string;
  /** Image files or folders. */
  inputs: string[];
  /** Folder for the PNGs; none written when left out. */
  out?: string;
  /** Image threshold override (default: the model's calibrated one). */
  threshold?: number;
  /** Pixel threshold override (default: the model's calibrated one). */
  pixelThreshold?: number;
  /** Smallest region in pixels (default 16). */
  minArea?: number;
  /** Kernel threads (default: all cores). */
  threads?: number;
  /** An image of more pixels than this fails, from its header, before decoding (default 40 MP). */
  maxPixels?: number;
  /**
   * Images judged in one pass of the flow (default `auto`: as many as fit 400 MB, at most 8);
   * the results are those of one image at a time. Not the training batch.
   */
  inferenceBatch?: number | 'auto';
  /**
   * Keep each image's anomaly map in its result (`map`). Off by default: a map is the image's own
   * size in float32, and a folder of large images would otherwise be held in memory at once.
   */
  keepMaps?: boolean;
}

/**
 * One image's result from `predict()`: the detector's score, verdict and regions, its pictures
 * when `out` was given, and its anomaly map only with `keepMaps: true`.
 */
export interface PredictedImage extends Omit<ImagePrediction, 'file' | 'map'> {
  /** The image file. */
  file: string;
  /** Anomaly map at the image's own size, row-major: only with `keepMaps: true`. */
  map?: Float32Array;
  /** Absent: the image was judged (see PredictFailure). */
  error?: undefined;
}

/** An image `predict()` could not judge: unreadable, over the pixel limit, or a score that is not finite (E_NOT_JUDGED). */
export interface PredictFailure {
  /** The image file. */
  file: string;
  /** Why: the error's code (E_INPUT, E_TOO_MANY_PIXELS, E_NOT_JUDGED, E_WRITE, ...) and its one-line message. */
  error: {
    /** E_INPUT, E_TOO_MANY_PIXELS, E_NOT_JUDGED, E_WRITE, ... */
    code: string;
    /** One line, naming the file. */
    message: string;
  };
}

/** `predict()` gives one per image, in input order: a result, or the error that stopped that image alone (`error` set). */
export type PredictResult = PredictedImage | PredictFailure;

/** What `test` evaluates and what it writes besides its result. */
export interface TestOptions extends DataOptions {
  /** The model file to test. */
  model: string;
  /** Write every map as float32 TIFF under DIR/<category>/test/<type>/<stem>.tiff. */
  maps?: string;
  /** Folder of the HTML report: test() writes DIR/index.html and returns its path as `reportFile`. */
  report?: string;
  /** Compare maps at the model's size ('model') or at each image's own size ('original'). */
  evalSize?: 'model' | 'original';
  /** False-positive rate limit of AUPRO. */
  fprLimit?: number;
  /** Kernel threads (default: all cores). */
  threads?: number;
  /** Worst images kept with their pictures for the report's gallery. */
  galleryCount?: number;
  /** Refuse an image of more pixels than this (from its header, before decoding). */
  maxPixels?: number;
}

/** What `calibrate` sets the thresholds from. */
export interface CalibrateOptions {
  /** The model file (updated in place). */
  model: string;
  /** Folder of good images. */
  good: string;
  /** Each left out: the model's own target. */
  fpr?: FprTargets;
  /** Kernel threads (default: all cores). */
  threads?: number;
  /** Refuse an image of more pixels than this, from its header, before decoding (default 40 MP). */
  maxPixels?: number;
}

/** How `conformance` replays the official implementation's vectors. */
export interface ConformanceOptions {
  /** Kernels to run: 'wasm' (what training and detection use) or 'js' (the reference). */
  backend?: 'js' | 'wasm';
  /** Kernel threads (default: all cores). */
  threads?: number;
}
