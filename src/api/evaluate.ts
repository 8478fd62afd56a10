/** `test`: a trained model on a labelled test set -> metrics, curves, maps and the HTML report. */
import { join, relative, dirname, basename, extname, resolve } from 'node:path';
import type { GalleryItem, MetricSet, TestImageResult, TestOptions, TestResult } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { openDataset, type Sample } from '../data/datasets.js';
import { readImage, readMask, readMaskOriginal, resizeImage, planarToInterleaved, writeFloatTiff } from '../data/image.js';
import { MAP_FILE_RULE } from '../data/tiff.js';
import { evaluate } from '../metrics/index.js';
import { maxOf } from '../detect/inference.js';
import { readDetector } from './image-detector.js';
import { ensureBackend } from './runtime.js';
import { checkApiOptions } from './option-values.js';
import { REPORT_FILE_RULE, writeReport } from '../report/index.js';
import { checkOutputFile } from '../util/output-file.js';

interface Evaluated {
  sample: Sample;
  map: Float32Array;
  mask: Uint8Array | null;
  width: number;
  height: number;
  score: number;
}

function metricSet(items: Evaluated[], fprLimit: number): MetricSet & { curves: ReturnType<typeof evaluate>['curves'] } {
  return evaluate({
    maps: items.map((e) => e.map),
    masks: items.map((e) => e.mask),
    widths: items.map((e) => e.width),
    heights: items.map((e) => e.height),
    fprLimit,
  });
}

/**
 * Evaluates a model on the test images of a data set; with `report`, also writes the HTML report
 * there (`reportFile` says where). Test images the model was trained on or calibrated with (its
 * file lists them) are left out, with a note.
 */
export async function test(opts: TestOptions): Promise<TestResult> {
  const t0 = Date.now();
  checkApiOptions('test', opts); // the option table's types and ranges, the CLI's messages
  await ensureBackend(opts.threads);
  const model = readDetector(opts.model);
  // Where the report and the maps go is checked before any work: a file that is not ours stops the run now.
  if (opts.report !== undefined) checkOutputFile(join(opts.report, 'index.html'), REPORT_FILE_RULE);
  const dataset = await openDataset({
    data: opts.data,
    category: opts.category,
    format: opts.format,
    normalDir: opts.normalDir,
    normalTestDir: opts.normalTestDir,
    normalSplitRatio: opts.normalSplitRatio,
    abnormalDir: opts.abnormalDir,
    maskDir: opts.maskDir,
  });
  const notes: string[] = [];
  const seen = new Set([...model.saved.training.trainFiles, ...model.saved.training.holdoutFiles].map((f) => resolve(f)));
  const trainedOn = dataset.test.filter((s) => seen.has(resolve(s.path)));
  if (trainedOn.length > 0) {
    dataset.test = dataset.test.filter((s) => !seen.has(resolve(s.path)));
    notes.push(
      `${trainedOn.length} test image(s) left out: the model was trained or calibrated on them (e.g. ${trainedOn[0]!.path}); ` +
        'give test the same --normal-dir, --normal-test-dir and --normal-split-ratio as train',
    );
  }
  const mapFile = (s: Sample): string => join(opts.maps!, dataset.category, 'test', s.type, `${basename(s.path, extname(s.path))}.tiff`);
  if (opts.maps) for (const s of dataset.test) checkOutputFile(mapFile(s), MAP_FILE_RULE);
  if (dataset.test.length === 0) throw new PyramidFlowError(`${dataset.category}: the data set has no test images${notes.length ? ` (${notes[0]})` : ''}`);
  const evalSize = opts.evalSize ?? 'model';
  const fprLimit = opts.fprLimit ?? 0.3;
  const { height: H, width: W } = model.config;
  const t = model.thresholds;

  const evaluated: Evaluated[] = [];
  const batch = 4;
  for (let i = 0; i < dataset.test.length; i += batch) {
    const samples = dataset.test.slice(i, i + batch);
    const images = await Promise.all(samples.map((s) => readImage(s.path, { maxPixels: opts.maxPixels })));
    const maps = model.modelMaps(images, batch);
    for (let k = 0; k < samples.length; k++) {
      const s = samples[k]!,
        img = images[k]!,
        modelMap = maps[k]!;
      const score = maxOf(modelMap);
      if (evalSize === 'model') {
        const mask = s.maskPath ? await readMask(s.maskPath, H, W) : null;
        evaluated.push({ sample: s, map: modelMap, mask, width: W, height: H, score });
      } else {
        let mask: Uint8Array | null = null;
        if (s.maskPath) {
          const m = await readMaskOriginal(s.maskPath);
          if (m.width !== img.width || m.height !== img.height) {
            throw new PyramidFlowError(`${s.maskPath}: mask is ${m.width}x${m.height} but its image ${s.path} is ${img.width}x${img.height}`);
          }
          mask = m.mask;
        }
        evaluated.push({ sample: s, map: model.toImageSize(modelMap, img.width, img.height), mask, width: img.width, height: img.height, score });
      }
    }
  }

  if (opts.maps) {
    for (const e of evaluated) {
      await writeFloatTiff(mapFile(e.sample), e.map, e.width, e.height);
    }
  }

  const overall = metricSet(evaluated, fprLimit);
  const perType: Record<string, MetricSet> = {};
  const good = evaluated.filter((e) => e.sample.label === 0);
  for (const type of [...new Set(evaluated.filter((e) => e.sample.label === 1).map((e) => e.sample.type))].sort()) {
    const { curves: _c, ...m } = metricSet([...evaluated.filter((e) => e.sample.type === type), ...good], fprLimit);
    perType[type] = m;
  }
  const images: TestImageResult[] = evaluated.map((e) => ({
    file: relative(dirname(dataset.root), e.sample.path) || e.sample.path,
    type: e.sample.type,
    label: e.sample.label,
    score: e.score,
    verdict: e.score > t.image ? 'defect' : 'good',
  }));
  const defects = images.filter((r) => r.label === 1);
  const goods = images.filter((r) => r.label === 0);

  // The gallery: defects scored lowest and good images scored highest first.
  const galleryCount = opts.galleryCount ?? 24;
  const badness = (e: Evaluated): number => (e.sample.label === 1 ? t.image - e.score : e.score - t.image);
  const worst = [...evaluated].sort((a, b) => badness(b) - badness(a)).slice(0, galleryCount);
  const gallery: GalleryItem[] = [];
  for (const e of worst) {
    const img = resizeImage(await readImage(e.sample.path, { maxPixels: opts.maxPixels }), e.height, e.width);
    gallery.push({
      file: e.sample.path,
      type: e.sample.type,
      label: e.sample.label,
      score: e.score,
      verdict: e.score > t.image ? 'defect' : 'good',
      width: e.width,
      height: e.height,
      rgb: planarToInterleaved(img),
      mask: e.mask,
      map: e.map,
    });
  }
  const { curves, ...overallMetrics } = overall;
  const result: TestResult = {
    category: dataset.category,
    model: opts.model,
    config: model.config,
    seconds: (Date.now() - t0) / 1000,
    overall: overallMetrics,
    perType,
    thresholds: t,
    confusion: {
      goodImages: goods.length,
      goodRejected: goods.filter((r) => r.verdict === 'defect').length,
      defectImages: defects.length,
      defectsMissed: defects.filter((r) => r.verdict === 'good').length,
    },
    thresholdGap: { image: t.image - overall.image_f1_threshold, pixel: t.pixel - overall.pixel_f1_threshold },
    curves,
    lossPerEpoch: model.saved.training.lossPerEpoch,
    images,
    gallery,
    ...(notes.length > 0 ? { notes } : {}),
  };
  if (opts.report !== undefined) result.reportFile = await writeReport(opts.report, result);
  return result;
}
