/**
 * Inference in evaluation mode: the latent template (mean latents of normal images, accumulated
 * in float64) and anomaly maps (composed absolute latent differences, averaged over channels).
 */
import { Tensor, noGrad, withResidentScope, cacheFilters } from '../tensor/index.js';
import type { PyramidFlow } from '../flow/model.js';
import type { ModelConfig } from '../flow/types.js';
import { anomalyMap } from './anomaly-map.js';
import { toBatch } from '../flow/batch.js';

export { toBatch };

/**
 * Bytes of filter spectra the backend may keep between evaluation calls: the default model's
 * convolutions need about 75 MB; larger models reuse what fits.
 */
export const EVAL_FILTER_CACHE_BYTES = 256 << 20;

/**
 * Working memory of one image in an evaluation forward pass, in bytes per latent channel and
 * pixel (measured on the wasm kernels: about 50 MB for the default model, 16 channels at
 * 256 x 256, on top of the filter cache).
 */
export const EVAL_BYTES_PER_CHANNEL_PIXEL = 48;

/** Working memory a batch of inference may take when its size is `auto`. */
export const AUTO_BATCH_BYTES = 400 << 20;

/**
 * Most images an `auto` batch holds: past this the small levels are already busy, and a larger
 * batch only delays its first result and takes memory.
 */
export const AUTO_BATCH_MAX = 8;

/** The batch size `auto` means for inference: as many images as fit {@link AUTO_BATCH_BYTES}, 1 to {@link AUTO_BATCH_MAX}. */
export function autoInferenceBatch(config: Pick<ModelConfig, 'channels' | 'height' | 'width'>): number {
  const perImage = EVAL_BYTES_PER_CHANNEL_PIXEL * config.channels * config.height * config.width;
  return Math.max(1, Math.min(AUTO_BATCH_MAX, Math.floor(AUTO_BATCH_BYTES / perImage)));
}

function inBatches<T>(count: number, batch: number, fn: (from: number, to: number) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < count; i += batch) out.push(fn(i, Math.min(count, i + batch)));
  return out;
}

/** Mean latents over the images, one tensor [1, C, h, w] per level. */
export function computeTemplate(
  model: PyramidFlow,
  count: number,
  image: (i: number) => Float32Array,
  batch = 4,
  onProgress?: (done: number) => void,
): Tensor[] {
  const { height, width } = model.config;
  const wasTraining = model.training;
  model.training = false;
  cacheFilters(EVAL_FILTER_CACHE_BYTES);
  let sums: Float64Array[] | null = null;
  let shapes: number[][] = [];
  inBatches(count, batch, (from, to) => {
    const imgs = Array.from({ length: to - from }, (_, k) => image(from + k));
    withResidentScope(() => {
      const z = noGrad(() => model.forward(toBatch(imgs, height, width)));
      if (!sums) {
        sums = z.map((t) => new Float64Array(t.size / t.dim(0)));
        shapes = z.map((t) => [1, t.dim(1), t.dim(2), t.dim(3)]);
      }
      z.forEach((t, k) => {
        // a host read of the batch's latents, summed in float64 across all batches
        const s = sums![k]!,
          per = s.length,
          v = t.values();
        for (let n = 0; n < t.dim(0); n++) for (let i = 0; i < per; i++) s[i] += v[n * per + i]!;
      });
    });
    onProgress?.(to);
  });
  model.training = wasTraining;
  if (!sums) throw new Error('computeTemplate: no images');
  return (sums as Float64Array[]).map((s, k) =>
    Tensor.fromHost(
      shapes[k]!,
      Float32Array.from(s, (v) => v / count),
    ),
  );
}

/**
 * Anomaly maps (H*W each, model resolution) of normalised images, `batch` images per flow pass.
 * In evaluation mode each image's latents depend on that image only, so the batch size changes
 * the maps at most by float rounding (the kernels may pick other FFT tiles for another batch).
 */
export function anomalyMaps(model: PyramidFlow, template: readonly Tensor[], images: readonly Float32Array[], batch = 4): Float32Array[] {
  const { height, width } = model.config;
  const wasTraining = model.training;
  model.training = false;
  cacheFilters(EVAL_FILTER_CACHE_BYTES);
  const HW = height * width;
  const maps = inBatches(images.length, batch, (from, to) =>
    withResidentScope(() => {
      const m = noGrad(() => anomalyMap(model.forward(toBatch(images.slice(from, to), height, width)), template));
      // host copies (on the heap): the maps outlive the scope
      return Array.from({ length: to - from }, (_, n) => m.toHost(n * HW, (n + 1) * HW));
    }),
  ).flat();
  model.training = wasTraining;
  return maps;
}

/**
 * The largest value: an image's score from its map. NaN anywhere gives NaN (a map with a pixel
 * that could not be computed is not judged on the others), an empty array -Infinity.
 */
export function maxOf(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v > m) m = v;
    else if (Number.isNaN(v)) return Number.NaN;
  }
  return m;
}
