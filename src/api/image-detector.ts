/**
 * The detector on Node: model files read from disk, images decoded from their bytes (or taken as
 * raw pixels), pictures encoded as PNG. The judging itself is src/detect/detector.ts.
 */
import type { DetectOptions, ImagePrediction, ModelInfo } from './types.js';
import { checkPixels, decodeImage, encodePng, interleavedToPlanar, type DecodedImage } from '../data/image.js';
import { PyramidFlowError } from '../util/errors.js';
import { type BatchOutcome, Detector } from '../detect/detector.js';
import { autoInferenceBatch } from '../detect/inference.js';
import type { ModelConfig } from '../flow/types.js';
import { readModelFile } from './model-files.js';
import { ensureBackend } from './runtime.js';

/** Reads a model file into a detector; every error names the file. */
export function readDetector(file: string): Detector {
  return Detector.fromSavedModel(readModelFile(file), file);
}

/** Images per flow pass for a model: the number given, or `auto`'s choice by memory (autoInferenceBatch). */
export function inferenceBatchSize(value: number | 'auto', config: Pick<ModelConfig, 'channels' | 'height' | 'width'>): number {
  return value === 'auto' ? autoInferenceBatch(config) : value;
}

/** One image's outcome in {@link ImageDetector.predictImages}: its prediction, or the error that stopped it (and only it). */
export type ImageOutcome = BatchOutcome;

/**
 * Raw 8-bit pixels, as camera software hands them over: interleaved, rows top to bottom, no
 * padding between rows, so `data` holds exactly width x height x channels bytes.
 */
export interface RawImage {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** 1: grey; 3: RGB; 4: RGBA, whose alpha is dropped without compositing (as for decoded files). */
  channels: 1 | 3 | 4;
  /** width x height x channels 8-bit values, interleaved (RGBRGB...), row after row (a Buffer will do). */
  data: Uint8Array;
}

/** What predictImage takes: an encoded file's bytes (a Uint8Array or Buffer) or raw pixels. */
export type ImageInput = Uint8Array | RawImage;

function describeValue(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? `the text '${v}'` : String(v);
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer (wrap it: new Uint8Array(buffer))';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return Array.isArray(v) ? 'an array' : 'an object';
}

/**
 * Raw pixels as the planar RGB the model reads, checked: whole positive sizes, 1, 3 or 4
 * channels, exactly width x height x channels bytes, at most the pixel limit. Errors name `name`.
 */
export function rawImageToPlanar(raw: RawImage, name = 'raw image'): DecodedImage {
  const { width, height, channels, data } = raw as Partial<RawImage>;
  for (const [key, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new PyramidFlowError(`${name}: ${key} must be a whole number of pixels, at least 1 (got ${describeValue(v)})`);
    }
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new PyramidFlowError(`${name}: channels must be 1 (grey), 3 (RGB) or 4 (RGBA) (got ${describeValue(channels)})`);
  }
  if (!(data instanceof Uint8Array)) {
    throw new PyramidFlowError(`${name}: data must be a Uint8Array (or Buffer) of 8-bit values (got ${describeValue(data)})`);
  }
  checkPixels(name, width!, height!);
  const expected = width! * height! * channels;
  if (data.length !== expected) {
    throw new PyramidFlowError(
      `${name}: ${width} x ${height} pixels of ${channels} channel(s) take ${expected} bytes, but data holds ${data.length} ` +
        '(interleaved 8-bit values, rows without padding)',
    );
  }
  return interleavedToPlanar(data, width!, height!, channels);
}

/** A model loaded once and used for many images (the server keeps one per name). */
export interface ImageDetector {
  /** The model file it was loaded from. */
  readonly file: string;
  /** The model's configuration, thresholds and training facts. */
  readonly info: ModelInfo;
  /**
   * Runs the model on one image and finds its defect regions. The image is either an encoded
   * file's bytes (PNG, JPEG, BMP, TIFF; a Uint8Array or Buffer), or raw pixels
   * `{ width, height, channels: 1 | 3 | 4, data }` (see {@link RawImage}): the same pixels give
   * the same map and score either way.
   */
  predictImage(image: ImageInput, opts?: DetectOptions): Promise<ImagePrediction>;
  /**
   * {@link predictImage} of several images, decoded at once and judged in one pass of the flow
   * (`opts[i]` goes with `images[i]`): the same predictions as one at a time (to float rounding),
   * and an image that cannot be read or judged is that image's outcome only, never the others'.
   */
  predictImages?(images: readonly ImageInput[], opts?: readonly DetectOptions[]): Promise<ImageOutcome[]>;
  /** The heat map on the model's fixed colour scale, as PNG, at the image's size. */
  heatmapPng(pred: ImagePrediction): Promise<Buffer>;
  /** The binary defect mask (pixel threshold) as a grey PNG, at the image's size. */
  maskPng(pred: ImagePrediction, pixelThreshold?: number): Promise<Buffer>;
}

/** An encoded image's bytes decoded, or raw pixels checked, to the planar RGB the detector takes. */
async function toPlanar(image: ImageInput, name: string): Promise<DecodedImage> {
  if (image === null || typeof image !== 'object' || (!(image instanceof Uint8Array) && (ArrayBuffer.isView(image) || image instanceof ArrayBuffer))) {
    throw new PyramidFlowError(
      `${name}: expected an encoded image (Uint8Array or Buffer) or raw pixels { width, height, channels, data } (got ${describeValue(image)})`,
    );
  }
  return image instanceof Uint8Array ? decodeImage(image, name) : rawImageToPlanar(image, name);
}

/** Loads a model file for repeated predictions (the kernels start once, with `threads` threads). */
export async function loadDetector(file: string, opts: { threads?: number } = {}): Promise<ImageDetector> {
  await ensureBackend(opts.threads);
  const detector = readDetector(file);
  return {
    file,
    info: detector.info(),
    async predictImage(image, o = {}) {
      const name = o.fileName ?? (image instanceof Uint8Array ? 'request body' : 'raw image');
      return detector.predict(await toPlanar(image, name), o);
    },
    async predictImages(images, opts = []) {
      const decode = (i: number): Promise<{ img: DecodedImage } | { error: unknown }> =>
        toPlanar(images[i]!, opts[i]?.fileName ?? (images[i] instanceof Uint8Array ? 'request body' : 'raw image')).then(
          (img) => ({ img }),
          (error: unknown) => ({ error }),
        );
      const decoded = await Promise.all(images.map((_, i) => decode(i)));
      // libvips keeps one error message for all its threads: an image that failed among others
      // is decoded again alone, so that its error is its own in its own words
      if (images.length > 1) for (const [i, d] of decoded.entries()) if ('error' in d) decoded[i] = await decode(i);
      const judged = decoded.flatMap((d, i) => ('img' in d ? [i] : []));
      const outcomes = detector.predictBatch(
        judged.map((i) => (decoded[i] as { img: DecodedImage }).img),
        judged.map((i) => opts[i] ?? {}),
      );
      return decoded.map((d, i): ImageOutcome => ('img' in d ? outcomes[judged.indexOf(i)]! : { error: d.error }));
    },
    heatmapPng: (pred) => encodePng(detector.heatmap(pred)),
    maskPng: (pred, pixelThreshold) => encodePng(detector.mask(pred, pixelThreshold)),
  };
}
