/**
 * Inference in evaluation mode: the latent template (mean latents of normal images, accumulated
 * in float64) and anomaly maps (composed absolute latent differences, averaged over channels).
 */
import { Tensor, noGrad, withResidentScope, cacheFilters } from '../tensor/index.js';
import type { PyramidFlow } from '../flow/model.js';
import { anomalyMap } from './anomaly-map.js';
import { toBatch } from '../flow/batch.js';

export { toBatch };

/**
 * Bytes of filter spectra the backend may keep between evaluation calls: the default model's
 * convolutions need about 75 MB; larger models reuse what fits.
 */
export const EVAL_FILTER_CACHE_BYTES = 256 << 20;

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

/** Anomaly maps (H*W each, model resolution) of normalised images. */
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

export function maxOf(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
}
