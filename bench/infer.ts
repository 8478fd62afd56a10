/**
 * `npm run bench -- infer [model options] [--images N] [--threads N] [--json]`: seconds per image
 * through the same path as `pyramidflow predict` (a model file loaded, image resized,
 * normalised, the flow in evaluation mode, the map composed and resized back, regions found).
 */
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/flow/config.js';
import { PyramidFlow } from '../src/flow/model.js';
import { snapshot, type TrainingRecord } from '../src/flow/saved-model.js';
import { saveModelFile } from '../src/api/model-files.js';
import { computeTemplate, anomalyMaps } from '../src/detect/inference.js';
import { calibrateThresholds } from '../src/detect/thresholds.js';
import { LoadedModel } from '../src/api/loaded-model.js';
import { ensureBackend } from '../src/api/runtime.js';
import { setProfiling, profileTotals } from '../src/tensor/index.js';
import type { DecodedImage } from '../src/data/image.js';
import { normalizeImage } from '../src/data/image.js';
import { Random } from '../src/util/random.js';
import { countOption, median, peakRssMb } from './_util.js';
import { modelArgs, modelOptionsFrom, modelUsage, printBreakdown } from './_model-args.js';
import { describe, medianBreakdown } from './train.js';

export const usage = `npm run bench -- infer ${modelUsage} [--images N] [--threads N] [--json]`;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...modelArgs, images: { type: 'string', default: '5' }, threads: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const config = resolveConfig(modelOptionsFrom(values));
  const backendName = await ensureBackend(values.threads ? countOption('--threads', values.threads) : undefined);
  const rng = new Random(2);
  const image = (): DecodedImage => ({ width: config.width, height: config.height, rgb: Uint8Array.from({ length: 3 * config.width * config.height }, () => rng.int(256)) });
  // A model file like a trained one: template and thresholds from a few images.
  const model = PyramidFlow.create(config, 0);
  model.training = false;
  const normal = [image(), image()].map(normalizeImage);
  const template = computeTemplate(model, normal.length, (i) => normal[i]!);
  const thresholds = calibrateThresholds(anomalyMaps(model, template, normal), {}, 'train');
  const record = { data: 'bench', category: 'bench', format: 'mvtec', augment: 'none', seed: 0, batch: 2, lr: 2e-4, epochs: 0, epochsDone: 0, steps: 0, threads: 0, saveMemory: false, holdout: 0, fpr: { image: 0.01, pixel: 0.001 }, checkpointEvery: 0, trainFiles: [], holdoutFiles: [], lossPerEpoch: [], seconds: 0 } satisfies TrainingRecord;
  const file = join(mkdtempSync(join(tmpdir(), 'pf-bench-')), 'bench.pf');
  saveModelFile(file, snapshot(model, record, { template, thresholds }));
  const loaded = LoadedModel.load(file);
  const img = image();
  loaded.predict(img); // warm-up
  const times: number[] = [];
  const breakdowns: Record<string, number>[] = [];
  const images = countOption('--images', values.images);
  for (let i = 0; i < images; i++) {
    setProfiling(true);
    const t0 = performance.now();
    loaded.predict(img);
    times.push((performance.now() - t0) / 1000);
    breakdowns.push(profileTotals());
    setProfiling(false);
  }
  const result = { bench: 'infer', backend: backendName, config, images: times.length, image_seconds_median: median(times), image_seconds: times, peak_rss_mb: Math.round(peakRssMb()), breakdown_ms: medianBreakdown(breakdowns, median(times) * 1000) };
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`inference, ${describe(config)}, one image at a time, ${backendName}`);
    console.log(`  median ${result.image_seconds_median.toFixed(3)} s per image over ${times.length}; peak RSS ${result.peak_rss_mb} MB`);
    printBreakdown(result.breakdown_ms);
  }
}
