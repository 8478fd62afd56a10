/**
 * The public, typed contract of pyramidflow: one options type and one result type per command.
 * The CLI (src/cli), the server (src/server) and the report (src/report) are thin layers over
 * the functions in src/api/index.ts that take and return these.
 */

export type VolumeNorm = 'cvn' | 'svn';
export type Downsample = 'maxpool' | 'nearest';
export type DatasetFormat = 'mvtec' | 'btad' | 'folder';
export type AugmentMode = 'texture' | 'none' | 'auto';

/** Everything that defines the network; saved in the model file, printed by `info`. */
export interface ModelConfig {
  channels: number; // C, default 16
  kernel: number; // k, odd, default 7
  levels: number; // L >= 2, default 4
  stacks: number; // S >= 1, default 4
  volumeNorm: VolumeNorm;
  height: number; // model input size; divisible by 2^(L-1)
  width: number;
  downsample: Downsample; // 'maxpool' (official code) or 'nearest' (paper)
}

/** Model options as a user gives them: anything left out takes the default or `auto`. */
export interface ModelOptions {
  size?: number; // square size shortcut, default 256
  height?: number;
  width?: number;
  channels?: number;
  kernel?: number;
  levels?: number | 'auto';
  stacks?: number;
  volumeNorm?: VolumeNorm | 'auto';
  downsample?: Downsample;
}

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

export interface TrainProgress {
  kind: 'start' | 'step' | 'epoch' | 'checkpoint' | 'note' | 'done';
  epoch: number; // 1-based
  epochs: number;
  step: number; // 1-based within the epoch
  stepsPerEpoch: number;
  loss?: number; // this step's loss ('step'), the epoch's mean ('epoch')
  imagesPerSecond?: number;
  secondsLeft?: number;
  message?: string;
}

export interface Thresholds {
  image: number; // image-score threshold: score > image means defect
  pixel: number; // pixel threshold for defect regions
  imageFpr: number; // the target rates they were set for
  pixelFpr: number;
  source: 'holdout' | 'train' | 'calibrate';
  images: number; // how many good images set them
  note?: string; // e.g. too few images to resolve the rate
  /** Fixed colour scale of heat maps, so pictures compare across images and runs. */
  scaleMin: number;
  scaleMax: number;
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

/** One connected region of the pixel mask (8-connected), at the image's own size. */
export interface DefectRegion {
  area: number;
  x: number;
  y: number;
  width: number;
  height: number;
  peak: number; // maximum anomaly score inside
}

export interface ImagePrediction {
  file?: string;
  width: number; // the image's own size
  height: number;
  score: number; // raw image score: the maximum of the anomaly map
  normalizedScore: number; // score mapped so that the image threshold is 0.5
  verdict: 'good' | 'defect';
  regions: DefectRegion[];
  /** Anomaly map at the image's own size, row-major. */
  map: Float32Array;
  /** PNG files written, when an output folder was given. */
  pictures?: { heatmap: string; overlay: string; outline: string };
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

export interface MetricSet {
  pixel_auroc: number;
  image_auroc: number;
  aupro: number; // standard AUPRO up to fprLimit, normalised by it
  aupro_fpr_limit: number;
  pro_full: number; // the official PyramidFlow code's full-range PRO (not the standard)
  pixel_f1_max: number;
  pixel_f1_threshold: number;
  image_f1_max: number;
  image_f1_threshold: number;
  images: number;
}

export interface Curve {
  x: number[];
  y: number[];
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

export interface ModelInfo {
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
    from?: { file: string; epochs: number }; // the model this training started from (TrainOptions.from)
  };
  thresholds: Thresholds | null;
  createdAt: string;
}

export interface ConformanceCheck {
  name: string;
  maxError: number;
  tolerance: number;
  ok: boolean;
}

export interface ConformanceOptions {
  /** Kernels to run: 'wasm' (default, what training and detection use) or 'js' (the reference). */
  backend?: 'js' | 'wasm';
  /** Kernel threads (default: all cores). */
  threads?: number;
}

export interface ConformanceReport {
  file: string;
  ok: boolean;
  checks: ConformanceCheck[];
  /** The kernel backend the checks ran on (e.g. 'wasm-relaxed-simd x2', 'js'). */
  backend?: string;
}
