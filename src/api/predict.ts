/** `predict`, `calibrate` and `info`. */
import { statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import type { CalibrateOptions, ImagePrediction, ModelInfo, PredictOptions, Thresholds } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { encodePng, readImage } from '../data/image.js';
import { listImageFiles, isImageFile } from '../data/files.js';
import { restoreModel } from '../flow/saved-model.js';
import { describeModel } from '../detect/detector.js';
import { readModelFile, saveModelFile } from './model-files.js';
import { readDetector } from './image-detector.js';
import { calibrateThresholds } from '../detect/thresholds.js';
import { ensureBackend } from './runtime.js';

/** Image files named directly or found in the folders named (sorted by name). */
export function expandInputs(inputs: string[]): string[] {
  if (inputs.length === 0) throw new PyramidFlowError('no input images given');
  const files: string[] = [];
  for (const p of inputs) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new PyramidFlowError(`${p}: no such file or folder`);
    }
    if (st.isDirectory()) {
      const found = listImageFiles(p, 'input folder');
      if (found.length === 0) throw new PyramidFlowError(`${p}: the folder has no images (.png .jpg .jpeg .bmp .tif .tiff)`);
      files.push(...found);
    } else if (isImageFile(p)) files.push(p);
    else throw new PyramidFlowError(`${p}: not an image file (expected .png .jpg .jpeg .bmp .tif .tiff)`);
  }
  return files;
}

/** Score, verdict and regions of each image (and its pictures when `out` is given). */
export async function predict(opts: PredictOptions): Promise<ImagePrediction[]> {
  await ensureBackend(opts.threads);
  const detector = readDetector(opts.model);
  const files = expandInputs(opts.inputs);
  const pixelThreshold = opts.pixelThreshold ?? detector.thresholds.pixel;
  if (opts.out) await mkdir(opts.out, { recursive: true });
  const out: ImagePrediction[] = [];
  const used = new Set<string>();
  for (const file of files) {
    const img = await readImage(file);
    const pred = detector.predict(img, { fileName: file, threshold: opts.threshold, pixelThreshold: opts.pixelThreshold, minArea: opts.minArea });
    if (opts.out) {
      let stem = basename(file, extname(file));
      for (let k = 2; used.has(stem); k++) stem = `${basename(file, extname(file))}-${k}`;
      used.add(stem);
      const pictures = { heatmap: join(opts.out, `${stem}_heatmap.png`), overlay: join(opts.out, `${stem}_overlay.png`), outline: join(opts.out, `${stem}_outline.png`) };
      await writeFile(pictures.heatmap, await encodePng(detector.heatmap(pred)));
      await writeFile(pictures.overlay, await encodePng(detector.overlay(pred, img)));
      await writeFile(pictures.outline, await encodePng(detector.outline(pred, img, pixelThreshold)));
      pred.pictures = pictures;
    }
    out.push(pred);
  }
  return out;
}

/** Re-sets a model's thresholds from a folder of good images; writes them into the model file. */
export async function calibrate(opts: CalibrateOptions): Promise<Thresholds> {
  await ensureBackend(opts.threads);
  const detector = readDetector(opts.model);
  const files = expandInputs([opts.good]);
  const images = await Promise.all(files.map((f) => readImage(f)));
  const thresholds = calibrateThresholds(detector.modelMaps(images), {
    image: opts.fpr?.image ?? detector.thresholds.imageFpr,
    pixel: opts.fpr?.pixel ?? detector.thresholds.pixelFpr,
  }, 'calibrate');
  saveModelFile(opts.model, { ...detector.saved, thresholds });
  return thresholds;
}

/** What a model file holds: configuration, training, thresholds. */
export async function info(modelFile: string): Promise<ModelInfo> {
  const saved = readModelFile(modelFile);
  return describeModel(saved, modelFile, restoreModel(saved).parameterCount());
}
