/** Evaluation metrics: ROC AUC, F1 max, AUPRO, the official code's PRO, region labelling. */
export { rocAuc, rocCurve, f1Max } from './binary.js';
export { aupro, officialPro, DEFAULT_FPR_LIMIT, DEFAULT_CURVE_POINTS } from './pixel.js';
export type { MapSet } from './pixel.js';
export { evaluate } from './evaluate.js';
export { labelRegions } from './regions.js';
export type { RegionLabels } from './regions.js';
export type { Metrics, PlotCurve, RocCurve, F1Max, ProCurve, AuproResult, EvaluateInput, Evaluation } from './types.js';
