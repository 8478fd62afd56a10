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
import { describeModel, type Detector } from '../detect/detector.js';
import type { ImagePrediction } from '../detect/types.js';
import type { DecodedImage } from '../data/pixels.js';
import { readModelFile, saveModelFile } from './model-files.js';
import { inferenceBatchSize, readDetector } from './image-detector.js';
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
 * Bytes an image holds per pixel of its own size while it is judged: its decoded RGB (3), its
 * map at its size (4), and the pictures drawn from them (RGB, 3, and a mask).
 */
const BYTES_PER_PIXEL = 12;

/**
 * What the images of one batch may hold at their own size (BYTES_PER_PIXEL each): batches of
 * large photos are smaller than `inferenceBatch` (one image of 40 MP at a time).
 */
const IN_FLIGHT_BYTES = 512 << 20;

/** Images in a batch of at most `batch` when the largest image seen has `pixels` pixels: 1 to `batch`, within IN_FLIGHT_BYTES. */
export function imagesPerBatch(batch: number, pixels: number): number {
  return Math.max(1, Math.min(batch, Math.floor(IN_FLIGHT_BYTES / (BYTES_PER_PIXEL * pixels))));
}

/** A decoded image, or why it could not be read (the decoding never rejects). */
type Decoded = { img: DecodedImage; error?: undefined } | { img?: undefined; error: unknown };

/** Starts reading and decoding files (sharp works on its own threads meanwhile). */
function startDecoding(files: readonly string[], maxPixels: number | undefined): Array<Promise<Decoded>> {
  return files.map((file) =>
    readImage(file, { maxPixels }).then(
      (img): Decoded => ({ img }),
      (error: unknown): Decoded => ({ error }),
    ),
  );
}

/** Writes the three pictures of an image (encoded at once, on sharp's threads). */
async function writePictures(detector: Detector, pred: ImagePrediction, img: DecodedImage, paths: Pictures, pixelThreshold: number): Promise<void> {
  const write = async (path: string, png: Promise<Uint8Array>): Promise<void> => {
    const bytes = await png;
    try {
      await writeFile(path, bytes);
    } catch (err) {
      throw writeError(path, err);
    }
  };
  await Promise.all([
    write(paths.heatmap, encodePng(detector.heatmap(pred))),
    write(paths.overlay, encodePng(detector.overlay(pred, img))),
    write(paths.outline, encodePng(detector.outline(pred, img, pixelThreshold))),
  ]);
}

/**
 * Score, verdict and regions of each image, and its pictures when `out` is given. One image that
 * fails (unreadable, over the pixel limit, a score that is not finite) is a result with `error`
 * set; the others go on, with the results they have alone. `onResult` gets each result as soon
 * as it is done, in input order. Images go through the flow `inferenceBatch` at a time (`auto`:
 * by memory, see autoInferenceBatch; fewer for large photos), the first one alone; the next
 * batch's files are read and decoded while the flow runs on this one. The anomaly maps are dropped after each image unless `keepMaps` is set.
 * Errors that concern every image (the model, the inputs, the output folder) are thrown before
 * any image is scored.
 */
export async function predict(opts: PredictOptions, onResult?: (result: PredictResult) => void): Promise<PredictResult[]> {
  checkApiOptions('predict', opts);
  await ensureBackend(opts.threads);
  const detector = readDetector(opts.model);
  void detector.thresholds; // a model without thresholds is refused before anything else
  const files = expandInputs(opts.inputs);
  const pictures = opts.out !== undefined ? picturePaths(files, opts.out) : undefined;
  if (opts.out !== undefined && pictures) checkPictureFolder(opts.out, files, pictures);
  return predictFiles(detector, files, opts, pictures, onResult);
}

/** Where the pictures of one image go (`predict` with `out`). */
export type PicturePaths = Pictures;

/**
 * The work of {@link predict} once its checks are done: `files` read, decoded and judged by a
 * loaded detector in batches, the pictures written to `pictures[i]` for `files[i]` when given.
 * The benchmark times this part: from reading the first file to the last result.
 */
export async function predictFiles(
  detector: Detector,
  files: readonly string[],
  opts: Omit<PredictOptions, 'model' | 'inputs' | 'out'>,
  pictures?: readonly PicturePaths[],
  onResult?: (result: PredictResult) => void,
): Promise<PredictResult[]> {
  const pixelThreshold = opts.pixelThreshold ?? detector.thresholds.pixel;
  const batch = inferenceBatchSize(opts.inferenceBatch ?? 'auto', detector.config);
  const results: PredictResult[] = [];
  let next = 0;
  /** The next `count` files, their reading and decoding started. */
  const take = (count: number): { from: number; names: string[]; decoding: Array<Promise<Decoded>> } => {
    const names = files.slice(next, next + count);
    next += names.length;
    return { from: next - names.length, names, decoding: startDecoding(names, opts.maxPixels) };
  };
  // The first image alone (its result comes as soon as it would one at a time, and its size says
  // how many of the next ones fit IN_FLIGHT_BYTES), then batches of up to `batch`.
  let chunk = take(1);
  while (chunk.names.length > 0) {
    const { from, names } = chunk;
    const decoded = await Promise.all(chunk.decoding);
    // libvips keeps one error message for all its threads: a file that failed among others is
    // decoded again alone (before the next batch starts), so that its error is its own
    if (names.length > 1)
      for (const [k, d] of decoded.entries()) if (d.error !== undefined) decoded[k] = (await startDecoding([names[k]!], opts.maxPixels)[0])!;
    chunk = take(imagesPerBatch(batch, Math.max(1, ...decoded.map((d) => (d.img ? d.img.width * d.img.height : 1)))));
    const judged = decoded.flatMap((d, k) => (d.img ? [k] : []));
    const outcomes = detector.predictBatch(
      judged.map((k) => decoded[k]!.img!),
      judged.map((k) => ({ fileName: names[k]!, threshold: opts.threshold, pixelThreshold: opts.pixelThreshold, minArea: opts.minArea })),
    );
    // Each image's result (its pictures written at once, on sharp's threads), printed in order.
    const done = names.map(async (file, k): Promise<PredictResult> => {
      const outcome = judged.includes(k) ? outcomes[judged.indexOf(k)]! : { error: decoded[k]!.error };
      try {
        if (!outcome.prediction) throw outcome.error ?? new PyramidFlowError(`${file}: the image could not be judged`, 'E_NOT_JUDGED');
        const { map, ...rest } = outcome.prediction;
        const result: PredictedImage = { ...rest, file };
        const paths = pictures?.[from + k];
        if (paths) {
          await writePictures(detector, outcome.prediction, decoded[k]!.img!, paths, pixelThreshold);
          result.pictures = paths;
        }
        if (opts.keepMaps) result.map = map;
        return result;
      } catch (err) {
        return { file, error: failureOf(err) };
      }
    });
    for (const pending of done) {
      const result = await pending;
      results.push(result);
      onResult?.(result);
    }
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
