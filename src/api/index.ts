/**
 * The typed library API: one function per CLI command, taking and returning the types of
 * ./types.ts. The CLI and the server are thin layers over these; `test` writes the HTML report
 * (src/report, a layer below) when asked.
 */
import type { ConformanceOptions, ConformanceReport } from './types.js';
import { runConformance } from '../train/conformance.js';
import { ensureBackend } from './runtime.js';

export * from './types.js';
export type { ImageDetector, ImageInput, ImageOutcome, RawImage } from './image-detector.js';
export type { BatchOutcome } from '../detect/detector.js';
export { loadDetector } from './image-detector.js';
export { train, trainingOptions } from './train.js';
export { test } from './evaluate.js';
export { trainCategories, testCategories, categoryMean, categoryModelFile } from './categories.js';
export type {
  TrainCategoriesOptions,
  TrainCategoriesResult,
  CategoryTrainResult,
  CategoryTrainProgress,
  CategoryStatus,
  TestCategoriesOptions,
  TestCategoriesResult,
  CategoryTestResult,
  CategoryMean,
} from './categories.js';
export { predict, calibrate, info } from './predict.js';
export { exportModel, EXPORT_FORMATS } from './export.js';
export type { ExportOptions, ExportSummary, ExportFormat, InputLayout, OnnxOutputs } from './export.js';
export { importCheckpoint } from './import.js';
export type { ImportOptions, ImportSummary, CheckpointFormat, OfficialState } from './import.js';
export { synthesize as synth } from '../data/synth.js';
export type { SynthOptions, SynthSummary, SynthCategorySummary } from '../data/synth.js';

/**
 * Replays a vector file of the official implementation and compares every quantity, on the
 * WebAssembly kernels that training and detection use (default) or the JS reference.
 */
export async function conformance(file: string, options: ConformanceOptions = {}): Promise<ConformanceReport> {
  const name = await ensureBackend(options.threads, options.backend ?? 'wasm');
  return { ...runConformance(file), backend: name };
}
