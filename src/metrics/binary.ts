/**
 * Binary-classification metrics of any scores (image level, or pixels already flattened):
 * ROC AUC as scikit-learn's roc_auc_score, the ROC curve over every distinct threshold, and the
 * best F1 as anomalib's F1Max. Labels: nonzero = positive (anomalous). Scores are sorted as
 * float64 with the native sort, fine for up to a few million; pixel maps go through `evaluate`
 * or `aupro`, which sort float32 scores by radix.
 */
import { ThresholdSweep, type SweepOptions, type SweepResult } from './sweep.js';
import type { F1Max, RocCurve } from './types.js';

/**
 * Area under the ROC curve with ties handled as scikit-learn does (one point per distinct
 * threshold, trapezoids between them), i.e. the Mann-Whitney probability that a positive
 * outscores a negative, ties counting one half. NaN when only one class is present (where
 * scikit-learn raises).
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return sweepScores(scores, labels, { rocPoints: 3, rocThresholds: false }).auroc;
}

/**
 * The exact ROC curve: (0, 0) with threshold Infinity, then one point per distinct score from
 * the highest down (scikit-learn's roc_curve with drop_intermediate=false). With `maxPoints`
 * (at least 3), points are thinned evenly along the curve for plotting, keeping both ends.
 * Empty arrays when only one class is present.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, maxPoints = Infinity): RocCurve {
  const { roc } = sweepScores(scores, labels, { rocPoints: maxPoints, rocThresholds: true });
  if (roc.x.length === 1) return { fpr: [], tpr: [], thresholds: [] };
  return { fpr: roc.x, tpr: roc.y, thresholds: roc.thresholds };
}

/**
 * Best F1 over all distinct thresholds (positive when score >= threshold), the precision and
 * recall there; among equal F1 values the lowest threshold, as anomalib's F1Max (argmax over
 * its ascending precision-recall curve). F1 is computed as 2TP / (2TP + FP + FN), without
 * anomalib's 1e-10 in the denominator. All NaN when there is no positive.
 */
export function f1Max(scores: ArrayLike<number>, labels: ArrayLike<number>): F1Max {
  const result = sweepScores(scores, labels, { rocPoints: 3, rocThresholds: false });
  return { f1: result.f1, threshold: result.f1Threshold, precision: result.f1Precision, recall: result.f1Recall };
}

/** Splits scores by label into sorted float64 arrays and runs the threshold sweep. */
export function sweepScores(scores: ArrayLike<number>, labels: ArrayLike<number>, curve: Pick<SweepOptions, 'rocPoints' | 'rocThresholds'>): SweepResult {
  if (scores.length !== labels.length) {
    throw new RangeError(`metrics: ${scores.length} scores but ${labels.length} labels`);
  }
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (Number.isNaN(label)) throw new RangeError(`metrics: label ${i} is NaN`);
    if (label !== 0) positives++;
  }
  const positiveScores = new Float64Array(positives);
  const negativeScores = new Float64Array(scores.length - positives);
  let p = 0;
  let n = 0;
  for (let i = 0; i < scores.length; i++) {
    // "+ 0" turns -0 into +0, so that no threshold is reported as -0 (they tie either way).
    const score = scores[i]! + 0;
    if (Number.isNaN(score)) throw new RangeError(`metrics: score ${i} is NaN`);
    if (labels[i] !== 0) positiveScores[p++] = score;
    else negativeScores[n++] = score;
  }
  positiveScores.sort();
  negativeScores.sort();
  const sweep = new ThresholdSweep({
    negatives: negativeScores.length,
    positives,
    regions: 0,
    fprLimit: 1,
    decode: (key) => key,
    proPoints: 3,
    ...curve,
  });
  sweepSortedScores(sweep, negativeScores, positiveScores);
  return sweep.finish();
}

function sweepSortedScores(sweep: ThresholdSweep, negatives: Float64Array, positives: Float64Array): void {
  let i = negatives.length - 1;
  let j = positives.length - 1;
  while (i >= 0 || j >= 0) {
    // Indices, not sentinel values, mark exhausted arrays: -Infinity is a valid score.
    const score = i < 0 ? positives[j]! : j < 0 ? negatives[i]! : Math.max(negatives[i]!, positives[j]!);
    const negativeTop = i;
    while (i >= 0 && negatives[i] === score) i--;
    const positiveTop = j;
    while (j >= 0 && positives[j] === score) j--;
    sweep.addGroup(negativeTop - i, positiveTop - j, 0, score);
  }
}
