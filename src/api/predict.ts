/** `predict`, `calibrate` and `info`. */
import * as fs from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { CalibrateOptions, ModelInfo, PredictedImage, PredictFailure, PredictOptions, PredictResult, Thresholds } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { writeError } from '../util/atomic-file.js';
import { readHead } from '../util/output-file.js';
import { encodePng, readImage, sniffFormat } from '../data/image.js';
import { listImageFiles, isImageFile } from '../data/files.js';
import { restoreModel } from '../flow/saved-model.js';
import { describeModel } from '../detect/detector.js';
import { readModelFile, saveModelFile } from './model-files.js';
import { readDetector } from './image-detector.js';
import { calibrateThresholds } from '../detect/thresholds.js';
import { checkApiOptions } from './option-values.js';
import { ensureBackend } from './runtime.js';

/** Image files named directly or found in the folders named (sorted by name). */
export function expandInputs(inputs: string[]): string[] {
  if (inputs.length === 0) throw new PyramidFlowError('no input images given');
  const files: string[] = [];
  for (const p of inputs) {
    let st: ReturnType<typeof fs.statSync>;
    try {
      st = fs.statSync(p);
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

type Pictures = NonNullable<PredictedImage['pictures']>;

/** The pictures of each image under `out`: `<stem>_heatmap.png` etc., a `-2`, `-3`... suffix for a stem seen before. */
function picturePaths(files: string[], out: string): Pictures[] {
  const used = new Set<string>();
  return files.map((file) => {
    const base = basename(file, extname(file));
    let stem = base;
    for (let k = 2; used.has(stem); k++) stem = `${base}-${k}`;
    used.add(stem);
    return { heatmap: join(out, `${stem}_heatmap.png`), overlay: join(out, `${stem}_overlay.png`), outline: join(out, `${stem}_outline.png`) };
  });
}

/**
 * Before any image is scored: the folder `out` exists or is created and is writable, and no
 * picture would replace a file that is not a PNG, or one of the input images. An existing PNG of
 * that name is replaced: it is taken for the picture of an earlier run (a PNG of ours cannot be
 * told from another PNG without a marker, and re-running predict into the same folder is the
 * expected use).
 */
function checkPictureFolder(out: string, files: string[], pictures: Pictures[]): void {
  try {
    fs.mkdirSync(out, { recursive: true });
    if (!fs.statSync(out).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    fs.accessSync(out, fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new PyramidFlowError(`${out} is not a folder: --out names the folder the pictures go to`, 'E_OUTPUT');
    throw writeError(out, err);
  }
  const inputs = new Set(files.map((f) => resolve(f)));
  for (const path of pictures.flatMap((p) => [p.heatmap, p.overlay, p.outline])) {
    if (inputs.has(resolve(path))) {
      throw new PyramidFlowError(`${path} is one of the input images; refusing to write a picture over it: choose another --out folder`, 'E_OUTPUT');
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw writeError(path, err);
    }
    if (!stat.isFile() || sniffFormat(readHead(path, 8)) !== 'png') {
      throw new PyramidFlowError(`${path} exists and is not a PNG image; refusing to overwrite it: move it or choose another --out folder`, 'E_OUTPUT');
    }
  }
}

/** The code and one-line message of an error that stopped one image. */
function failureOf(err: unknown): PredictFailure['error'] {
  if (err instanceof PyramidFlowError) return { code: err.code, message: err.message };
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return { code: typeof code === 'string' ? code : 'E_INTERNAL', message };
}

/**
 * Score, verdict and regions of each image, and its pictures when `out` is given. One image that
 * fails (unreadable, over the pixel limit, a score that is not finite) is a result with `error`
 * set; the others go on. `onResult` gets each result as soon as it is done, in input order.
 * The anomaly maps are dropped after each image unless `keepMaps` is set. Errors that concern
 * every image (the model, the inputs, the output folder) are thrown before any image is scored.
 */
export async function predict(opts: PredictOptions, onResult?: (result: PredictResult) => void): Promise<PredictResult[]> {
  checkApiOptions('predict', opts);
  await ensureBackend(opts.threads);
  const detector = readDetector(opts.model);
  const pixelThreshold = opts.pixelThreshold ?? detector.thresholds.pixel;
  const files = expandInputs(opts.inputs);
  const pictures = opts.out !== undefined ? picturePaths(files, opts.out) : undefined;
  if (opts.out !== undefined && pictures) checkPictureFolder(opts.out, files, pictures);
  const results: PredictResult[] = [];
  for (const [i, file] of files.entries()) {
    let result: PredictResult;
    try {
      const img = await readImage(file, { maxPixels: opts.maxPixels });
      const pred = detector.predict(img, { fileName: file, threshold: opts.threshold, pixelThreshold: opts.pixelThreshold, minArea: opts.minArea });
      const { map, ...rest } = pred;
      const done: PredictedImage = { ...rest, file };
      const paths = pictures?.[i];
      if (paths) {
        const write = async (path: string, png: Promise<Uint8Array>): Promise<void> => {
          const bytes = await png;
          try {
            await writeFile(path, bytes);
          } catch (err) {
            throw writeError(path, err);
          }
        };
        await write(paths.heatmap, encodePng(detector.heatmap(pred)));
        await write(paths.overlay, encodePng(detector.overlay(pred, img)));
        await write(paths.outline, encodePng(detector.outline(pred, img, pixelThreshold)));
        done.pictures = paths;
      }
      if (opts.keepMaps) done.map = map;
      result = done;
    } catch (err) {
      result = { file, error: failureOf(err) };
    }
    results.push(result);
    onResult?.(result);
  }
  return results;
}

/** Re-sets a model's thresholds from a folder of good images; writes them into the model file. */
export async function calibrate(opts: CalibrateOptions): Promise<Thresholds> {
  checkApiOptions('calibrate', opts);
  await ensureBackend(opts.threads);
  const detector = readDetector(opts.model);
  const files = expandInputs([opts.good]);
  const images = await Promise.all(files.map((f) => readImage(f, { maxPixels: opts.maxPixels })));
  const thresholds = calibrateThresholds(
    detector.modelMaps(images),
    {
      image: opts.fpr?.image ?? detector.thresholds.imageFpr,
      pixel: opts.fpr?.pixel ?? detector.thresholds.pixelFpr,
    },
    'calibrate',
  );
  saveModelFile(opts.model, { ...detector.saved, thresholds });
  return thresholds;
}

/** What a model file holds: configuration, training, thresholds. */
export async function info(modelFile: string): Promise<ModelInfo> {
  const saved = readModelFile(modelFile);
  return describeModel(saved, modelFile, restoreModel(saved).parameterCount());
}
