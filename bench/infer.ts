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
import { saveModelFile } from '../src/api/model-files.js';
import { finishModel } from '../src/detect/finish.js';
import { readDetector } from '../src/api/image-detector.js';
import { ensureBackend } from '../src/api/runtime.js';
import { setProfiling, profileTotals } from '../src/tensor/index.js';
import type { DecodedImage } from '../src/data/image.js';
import { Random } from '../src/util/random.js';
import { countOption, median, peakRssMb } from './_util.js';
import { benchRecord, MODEL_OPTIONS, modelOptionsFrom, printBreakdown, tableArgs, tableHelp, tableUsage, tableValues } from './_model-args.js';
import { describe, medianBreakdown } from './train.js';

/** The options of `pyramidflow train` / `predict` this benchmark takes (the option table's). */
const OPTIONS = [...MODEL_OPTIONS, 'threads'];

export const usage = `npm run bench -- infer ${tableUsage('train', OPTIONS)} [--images N] [--json]`;
export const help = tableHelp('train', OPTIONS, [
  ['--images <n>', 'timed images after a warm-up (default 5)'],
  ['--json', 'print one JSON object'],
]);

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...tableArgs('train', OPTIONS), images: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } },
  });
  const config = resolveConfig(modelOptionsFrom(values));
  const backendName = await ensureBackend(tableValues('train', OPTIONS, values).threads as number | undefined);
  const rng = new Random(2);
  const image = (): DecodedImage => ({
    width: config.width,
    height: config.height,
    rgb: Uint8Array.from({ length: 3 * config.width * config.height }, () => rng.int(256)),
  });
  // A model file like a trained one (untrained weights): finished as `train` finishes one, the
  // template and thresholds from a few images.
  const model = PyramidFlow.create(config, 0);
  const record = benchRecord();
  const file = join(mkdtempSync(join(tmpdir(), 'pf-bench-')), 'bench.pf');
  saveModelFile(file, finishModel({ model, record, trainImages: [image(), image()], holdoutImages: [] }).saved);
  const loaded = readDetector(file);
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
  const result = {
    bench: 'infer',
    backend: backendName,
    config,
    images: times.length,
    image_seconds_median: median(times),
    image_seconds: times,
    peak_rss_mb: Math.round(peakRssMb()),
    breakdown_ms: medianBreakdown(breakdowns, median(times) * 1000),
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`inference, ${describe(config)}, one image at a time, ${backendName}`);
    console.log(`  median ${result.image_seconds_median.toFixed(3)} s per image over ${times.length}; peak RSS ${result.peak_rss_mb} MB`);
    printBreakdown(result.breakdown_ms);
  }
}
