/**
 * Result types of the metrics layer. The API publishes `Metrics` as `MetricSet` and
 * `PlotCurve` as `Curve` (src/api/types.ts re-exports them).
 */

export interface Metrics {
  pixel_auroc: number;
  image_auroc: number;
  aupro: number; // standard AUPRO up to aupro_fpr_limit, divided by it
  aupro_fpr_limit: number;
  pro_full: number; // the official PyramidFlow code's "PRO" (not the standard AUPRO)
  pixel_f1_max: number;
  pixel_f1_threshold: number;
  image_f1_max: number;
  image_f1_threshold: number;
  images: number;
}

/** A curve for plotting: x ascending (false-positive rate), y the matching rate. */
export interface PlotCurve {
  x: number[];
  y: number[];
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Score threshold of each point (positive when score >= threshold); Infinity at (0,0). */
  thresholds: number[];
}

export interface F1Max {
  f1: number;
  threshold: number; // predict positive when score >= threshold
  precision: number;
  recall: number;
}

export interface ProCurve {
  fpr: number[];
  pro: number[];
}

export interface AuproResult {
  aupro: number;
  curve: ProCurve;
}

export interface EvaluateInput {
  maps: Float32Array[];
  /** Ground truth per image, nonzero = anomalous; null = a good image (all zeros). */
  masks: (Uint8Array | null)[];
  widths: number[];
  heights: number[];
  fprLimit?: number; // default 0.3
}

export type Evaluation = Metrics & {
  curves: { pixelRoc: PlotCurve; imageRoc: PlotCurve; pro: PlotCurve };
};
