/** `predict`, `calibrate`, `info` and the long-lived Detector of the server. */
import { statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import type { CalibrateOptions, ImagePrediction, ModelInfo, PredictOptions, Thresholds } from './types.js';
import type { Detector, DetectOptions } from './detector-types.js';
import { PyramidFlowError } from '../util/errors.js';
import { decodeImage, readImage } from '../data/image.js';
import { listImageFiles, isImageFile } from '../data/files.js';
import { restoreModel } from '../flow/saved-model.js';
import { readModelFile, saveModelFile } from './model-files.js';
import { calibrateThresholds } from '../detect/thresholds.js';
import { LoadedModel, modelInfo } from './loaded-model.js';
import { heatmapPng, maskPng, outlinePng, overlayPng } from './pictures.js';
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

export async function predict(opts: PredictOptions): Promise<ImagePrediction[]> {
  await ensureBackend(opts.threads);
  const model = LoadedModel.load(opts.model);
  const files = expandInputs(opts.inputs);
  const t = model.thresholds;
  const pixelThr = opts.pixelThreshold ?? t.pixel;
  if (opts.out) await mkdir(opts.out, { recursive: true });
  const out: ImagePrediction[] = [];
  const used = new Set<string>();
  for (const file of files) {
    const img = await readImage(file);
    const pred = model.predict(img, { file, threshold: opts.threshold, pixelThreshold: opts.pixelThreshold, minArea: opts.minArea });
    if (opts.out) {
      let stem = basename(file, extname(file));
      for (let k = 2; used.has(stem); k++) stem = `${basename(file, extname(file))}-${k}`;
      used.add(stem);
      const pictures = { heatmap: join(opts.out, `${stem}_heatmap.png`), overlay: join(opts.out, `${stem}_overlay.png`), outline: join(opts.out, `${stem}_outline.png`) };
      await writeFile(pictures.heatmap, await heatmapPng(pred, t));
      await writeFile(pictures.overlay, await overlayPng(pred, img, t));
      await writeFile(pictures.outline, await outlinePng(pred, img, pixelThr));
      pred.pictures = pictures;
    }
    out.push(pred);
  }
  return out;
}

export async function calibrate(opts: CalibrateOptions): Promise<Thresholds> {
  await ensureBackend(opts.threads);
  const model = LoadedModel.load(opts.model);
  const files = expandInputs([opts.good]);
  const images = await Promise.all(files.map((f) => readImage(f)));
  const thresholds = calibrateThresholds(model.modelMaps(images), {
    image: opts.fpr?.image ?? model.thresholds.imageFpr,
    pixel: opts.fpr?.pixel ?? model.thresholds.pixelFpr,
  }, 'calibrate');
  saveModelFile(opts.model, { ...model.saved, thresholds });
  return thresholds;
}

export async function info(modelFile: string): Promise<ModelInfo> {
  const saved = readModelFile(modelFile);
  return modelInfo(modelFile, saved, restoreModel(saved).parameterCount());
}

export async function loadDetector(file: string, opts: { threads?: number } = {}): Promise<Detector> {
  await ensureBackend(opts.threads);
  const model = LoadedModel.load(file);
  const modelInfoValue = model.info();
  return {
    file,
    info: modelInfoValue,
    async predictImage(encoded: Uint8Array, o: DetectOptions = {}): Promise<ImagePrediction> {
      const img = await decodeImage(encoded, o.fileName ?? 'request body');
      return model.predict(img, { file: o.fileName, threshold: o.threshold, pixelThreshold: o.pixelThreshold, minArea: o.minArea });
    },
    heatmapPng: (pred) => heatmapPng(pred, model.thresholds),
    maskPng: (pred, pixelThreshold) => maskPng(pred, pixelThreshold ?? model.thresholds.pixel),
  };
}
