/**
 * All metrics of a test set in one call: pixel level over all pixels of all images together,
 * image level with each map's maximum as the image score. Cheap enough to call once per defect
 * type on subsets (one radix sort of the pixels, no threshold sampling except the official PRO).
 */
import { sweepScores } from './binary.js';
import { DEFAULT_CURVE_POINTS, DEFAULT_FPR_LIMIT, pixelMetrics } from './pixel.js';
import type { CurveSampler } from './sweep.js';
import type { EvaluateInput, Evaluation, PlotCurve } from './types.js';

/**
 * NaN marks what one class makes undefined (as scikit-learn raises there): with only good
 * images, pixel_auroc, image_auroc, aupro, pro_full and both F1 values are NaN; with only
 * anomalous pixels, the pixel AUROC and the PROs are. Curves are then empty. Thresholds are
 * scores: positive when score >= threshold.
 */
export function evaluate(input: EvaluateInput): Evaluation {
  const fprLimit = input.fprLimit ?? DEFAULT_FPR_LIMIT;
  const pixel = pixelMetrics(input, { fprLimit, curvePoints: DEFAULT_CURVE_POINTS, officialPro: true });
  const imageLabels = input.masks.map((mask) => (mask?.some((value) => value !== 0) ? 1 : 0));
  const image = sweepScores(pixel.imageMax, imageLabels, { rocPoints: DEFAULT_CURVE_POINTS, rocThresholds: false });
  const { sweep } = pixel;
  return {
    pixel_auroc: sweep.auroc,
    image_auroc: image.auroc,
    aupro: sweep.aupro,
    aupro_fpr_limit: fprLimit,
    pro_full: pixel.proFull,
    pixel_f1_max: sweep.f1,
    pixel_f1_threshold: sweep.f1Threshold,
    image_f1_max: image.f1,
    image_f1_threshold: image.f1Threshold,
    images: input.maps.length,
    curves: { pixelRoc: plotCurve(sweep.roc), imageRoc: plotCurve(image.roc), pro: plotCurve(sweep.pro) },
  };
}

/** A sampler holding only its (0, 0) start means the curve is undefined. */
function plotCurve(sampler: CurveSampler): PlotCurve {
  return sampler.x.length > 1 ? { x: sampler.x, y: sampler.y } : { x: [], y: [] };
}
