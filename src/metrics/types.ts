/**
 * Result types of the metrics layer. The API publishes `Metrics` as `MetricSet` and
 * `PlotCurve` as `Curve` (src/api/types.ts re-exports them).
 */

/**
 * The metrics of a set of test images. Pixel metrics pool all pixels of all images; image
 * metrics score each image by its anomaly map's maximum. A value that one class alone leaves
 * undefined (e.g. AUROC with only good images) is NaN. Thresholds are anomaly scores:
 * positive (defect) when score >= threshold.
 */
export interface Metrics {
  /** Pixel-level area under the ROC curve, in [0, 1]. */
  pixel_auroc: number;
  /** Image-level area under the ROC curve, in [0, 1]. */
  image_auroc: number;
  /** Standard AUPRO (MVTec AD evaluation) up to a false-positive rate of `aupro_fpr_limit`, divided by it: in [0, 1]. */
  aupro: number;
  /** The false-positive rate the AUPRO integrates up to (default 0.3). */
  aupro_fpr_limit: number;
  /** The official PyramidFlow code's "PRO" (not the standard AUPRO), for comparison with the paper. */
  pro_full: number;
  /** Best pixel-level F1 over all thresholds, in [0, 1]. */
  pixel_f1_max: number;
  /** The pixel score threshold of `pixel_f1_max`. */
  pixel_f1_threshold: number;
  /** Best image-level F1 over all thresholds, in [0, 1]. */
  image_f1_max: number;
  /** The image score threshold of `image_f1_max`. */
  image_f1_threshold: number;
  /** Number of test images measured. */
  images: number;
}

/** A curve for plotting: x ascending (false-positive rate), y the matching rate. */
export interface PlotCurve {
  /** False-positive rates, ascending, from 0. */
  x: number[];
  /** The matching true-positive rate (ROC) or per-region overlap (PRO), one per x. */
  y: number[];
}

/** A ROC curve with the threshold of each point. */
export interface RocCurve {
  /** False-positive rate of each point, ascending from 0. */
  fpr: number[];
  /** True-positive rate of each point. */
  tpr: number[];
  /** Score threshold of each point (positive when score >= threshold); Infinity at (0,0). */
  thresholds: number[];
}

/** The best F1 score over all thresholds, and where it is reached. */
export interface F1Max {
  /** The best F1, 2TP / (2TP + FP + FN). */
  f1: number;
  /** Its threshold: predict positive when score >= threshold (the lowest among equal F1 values). */
  threshold: number;
  /** Precision at that threshold. */
  precision: number;
  /** Recall at that threshold. */
  recall: number;
}

/** A per-region-overlap curve. */
export interface ProCurve {
  /** False-positive rate of each point (normal pixels above the threshold / all normal pixels), ascending. */
  fpr: number[];
  /** Mean overlap with the ground-truth regions at each point. */
  pro: number[];
}

/** The standard AUPRO and its curve. */
export interface AuproResult {
  /** Area under the PRO curve up to the FPR limit, divided by the limit; NaN when undefined. */
  aupro: number;
  /** The curve (thinned for plotting); empty when undefined. */
  curve: ProCurve;
}

/** A test set's anomaly maps and ground truth, for `evaluate` (evaluate.ts). */
export interface EvaluateInput {
  /** One anomaly map per image, row-major, `widths[i] * heights[i]` values. */
  maps: Float32Array[];
  /** Ground truth per image, nonzero = anomalous; null = a good image (all zeros). */
  masks: (Uint8Array | null)[];
  /** Width of each map in pixels. */
  widths: number[];
  /** Height of each map in pixels. */
  heights: number[];
  /** False-positive rate limit of the AUPRO (default 0.3). */
  fprLimit?: number;
}

/** `Metrics` with the curves to plot them. */
export type Evaluation = Metrics & {
  /** The curves, thinned to at most 500 points each; empty where undefined. */
  curves: {
    /** Pixel-level ROC: true-positive rate over false-positive rate. */
    pixelRoc: PlotCurve;
    /** Image-level ROC. */
    imageRoc: PlotCurve;
    /** PRO (mean per-region overlap) over the pixel false-positive rate, the whole range. */
    pro: PlotCurve;
  };
};
