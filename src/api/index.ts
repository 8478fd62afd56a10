/**
 * The typed library API: one function per CLI command. (Bodies are being filled in; the
 * signatures are the contract the CLI, the report and the server are written against.)
 */
import type {
  CalibrateOptions,
  ConformanceReport,
  ImagePrediction,
  ModelInfo,
  PredictOptions,
  TestOptions,
  TestResult,
  Thresholds,
  TrainOptions,
  TrainProgress,
  TrainSummary,
} from './types.js';

export * from './types.js';

export async function train(opts: TrainOptions, onProgress?: (p: TrainProgress) => void): Promise<TrainSummary> {
  void opts; void onProgress;
  throw new Error('pending: train');
}

export async function test(opts: TestOptions): Promise<TestResult> {
  void opts;
  throw new Error('pending: test');
}

export async function predict(opts: PredictOptions): Promise<ImagePrediction[]> {
  void opts;
  throw new Error('pending: predict');
}

export async function calibrate(opts: CalibrateOptions): Promise<Thresholds> {
  void opts;
  throw new Error('pending: calibrate');
}

export async function info(modelFile: string): Promise<ModelInfo> {
  void modelFile;
  throw new Error('pending: info');
}

export async function conformance(file: string): Promise<ConformanceReport> {
  void file;
  throw new Error('pending: conformance');
}

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

export async function loadDetector(file: string, opts: { threads?: number } = {}): Promise<Detector> {
  void file; void opts;
  throw new Error('pending: loadDetector');
}
