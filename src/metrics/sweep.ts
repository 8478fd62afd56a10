/**
 * One pass over the distinct score thresholds, from the highest down. Everything is accumulated
 * on the way, so no per-threshold arrays exist: ROC AUC, the best F1, the AUPRO integral up to
 * the FPR limit, and sampled curves.
 *
 * It is fed with groups of tied scores (`addGroup`) or, much faster for the pixel level, with
 * whole runs of consecutive scores of one class (`addNegativeRun`, `addPositiveRun`): along a
 * run one rate stays fixed, so the ROC area, the F1 optimum and the PRO integral follow in closed
 * form and only the curve samplers look inside the run.
 */

/** Keeps a curve's points where its L1 path length (x + y, both monotone) passes even marks. */
export class CurveSampler {
  /** Kept x values (false-positive rate), ascending, from 0. */
  readonly x: number[] = [0];
  /** Kept y values (true-positive rate or PRO), one per x. */
  readonly y: number[] = [0];
  /** Score threshold of each kept point when the sampler decodes them (Infinity at the start); otherwise only the start's. */
  readonly thresholds: number[] = [Infinity];
  private nextMark: number;
  private readonly step: number;
  private pendingX = 0;
  private pendingY = 0;
  private pendingKey = 0;
  private pending = false;

  /** maxPoints = Infinity keeps every point. The start point (0, 0) is always there. */
  constructor(
    maxPoints: number,
    private readonly decode: ((key: number) => number) | null,
  ) {
    if (!(maxPoints >= 3)) throw new RangeError(`curve needs at least 3 points, got ${maxPoints}`);
    // Marks spaced so that with start and end at most maxPoints points remain over a length of 2.
    this.step = Number.isFinite(maxPoints) ? 2 / (maxPoints - 2) : 0;
    this.nextMark = this.step;
  }

  /** The point after one group of tied scores. */
  offer(x: number, y: number, key: number): void {
    if (x + y >= this.nextMark) this.keep(x, y, key);
    else this.setPending(x, y, key);
  }

  /**
   * The points after each group of a run keys[hi], keys[hi - 1], ..., keys[lo + 1] (descending)
   * along which one coordinate counts up by one per key, from before / total, and the other
   * stays at `fixed`.
   */
  offerRun(keys: Uint32Array, hi: number, lo: number, before: number, total: number, fixed: number, countsX: boolean): void {
    const end = before + (hi - lo);
    let at = hi + 1; // keys[at..hi] are consumed
    for (;;) {
      const consumed = before + (hi - at + 1);
      // The first count whose point reaches the mark; every one when keeping all points.
      const target = Math.max(consumed + 1, Math.ceil((this.nextMark - fixed) * total));
      if (target > end) break;
      at = hi - (target - before) + 1;
      const key = keys[at]!;
      while (at - 1 > lo && keys[at - 1] === key) at--; // a point closes its group of ties
      const moving = (before + (hi - at + 1)) / total;
      if (countsX) this.keep(moving, fixed, key);
      else this.keep(fixed, moving, key);
      if (at - 1 === lo) return;
    }
    const moving = end / total;
    if (countsX) this.setPending(moving, fixed, keys[lo + 1]!);
    else this.setPending(fixed, moving, keys[lo + 1]!);
  }

  /**
   * Like offerRun for the PRO of a run of anomalous pixels at a fixed FPR: y rises by the weight
   * of each pixel's region. Returns the weight sum after the run. `endsAll`: the run holds the
   * last anomalous pixels, so its last point has PRO exactly 1 whatever the rounding of the sum.
   */
  offerWeightedRun(
    keys: Uint32Array,
    region: Uint32Array,
    regionWeight: Float64Array,
    hi: number,
    lo: number,
    fixedX: number,
    weightBefore: number,
    regions: number,
    endsAll: boolean,
  ): number {
    let sum = weightBefore;
    let target = (this.nextMark - fixedX) * regions;
    for (let at = hi; at > lo; at--) {
      sum += regionWeight[region[at]!]!;
      if (sum >= target || this.step === 0) {
        const key = keys[at]!;
        while (at - 1 > lo && keys[at - 1] === key) sum += regionWeight[region[--at]!]!;
        if (at - 1 === lo) {
          this.keep(fixedX, endsAll ? 1 : Math.min(1, sum / regions), key);
          return sum;
        }
        this.keep(fixedX, Math.min(1, sum / regions), key);
        target = (this.nextMark - fixedX) * regions;
      }
    }
    this.setPending(fixedX, endsAll ? 1 : Math.min(1, sum / regions), keys[lo + 1]!);
    return sum;
  }

  /** The last point offered is kept whatever the spacing, so the curve ends where it should. */
  finish(): void {
    if (this.pending) this.keep(this.pendingX, this.pendingY, this.pendingKey);
  }

  private setPending(x: number, y: number, key: number): void {
    this.pendingX = x;
    this.pendingY = y;
    this.pendingKey = key;
    this.pending = true;
  }

  private keep(x: number, y: number, key: number): void {
    this.x.push(x);
    this.y.push(y);
    if (this.decode) this.thresholds.push(this.decode(key));
    this.nextMark = x + y + this.step;
    this.pending = false;
  }
}

/** What a {@link ThresholdSweep} is told before it starts. */
export interface SweepOptions {
  /** Number of negatives (normal pixels or good images), known before the sweep. */
  negatives: number;
  /** Number of positives (anomalous pixels or defective images), known before the sweep. */
  positives: number;
  /** Number of ground-truth regions; with it, positives' region weights drive the PRO. */
  regions: number;
  /** Integrate the PRO curve up to this FPR (MVTec AD's trapezoid with x_max). */
  fprLimit: number;
  /** Sort key to score, for the thresholds reported. */
  decode: (key: number) => number;
  /** Most points of the ROC curve kept (at least 3); Infinity keeps all. */
  rocPoints: number;
  /** Most points of the PRO curve kept (at least 3); Infinity keeps all. */
  proPoints: number;
  /** Decode the threshold of each kept ROC point (else only the F1 threshold is decoded). */
  rocThresholds: boolean;
}

/** What a sweep found; each value NaN where the classes present leave it undefined. */
export interface SweepResult {
  /** Area under the ROC curve. */
  auroc: number;
  /** Best F1 over all thresholds. */
  f1: number;
  /** The score threshold of the best F1 (positive when score >= threshold). */
  f1Threshold: number;
  /** Precision at the best F1. */
  f1Precision: number;
  /** Recall at the best F1. */
  f1Recall: number;
  /** Area under the PRO curve up to the FPR limit, divided by the limit. */
  aupro: number;
  /** The sampled ROC curve. */
  roc: CurveSampler;
  /** The sampled PRO curve. */
  pro: CurveSampler;
}

/**
 * The sweep itself: fed scores from the highest down (groups of ties, or runs of one class),
 * it accumulates the ROC area, the best F1, the PRO integral and the sampled curves; `finish`
 * reads them out.
 */
export class ThresholdSweep {
  private fp = 0;
  private tp = 0;
  private weightSum = 0; // sum of 1/|region| over region pixels so far
  private doubleArea = 0; // twice the ROC area, in units of negatives x positives
  private bestF1 = -1;
  private bestF1Key = 0;
  private bestTp = 0;
  private bestFp = 0;
  private proArea = 0;
  private proDone = false;
  private readonly hasRoc: boolean;
  private readonly hasPro: boolean;
  /** The ROC curve sampled so far. */
  readonly roc: CurveSampler;
  /** The PRO curve sampled so far. */
  readonly pro: CurveSampler;

  constructor(private readonly options: SweepOptions) {
    this.roc = new CurveSampler(options.rocPoints, options.rocThresholds ? options.decode : null);
    this.pro = new CurveSampler(options.proPoints, null);
    this.hasRoc = options.positives > 0 && options.negatives > 0;
    this.hasPro = options.regions > 0 && options.negatives > 0;
  }

  /** One group of tied scores, fed from the highest score down. */
  addGroup(negatives: number, positives: number, weight: number, key: number): void {
    const { negatives: allNegatives, positives: allPositives } = this.options;
    const tpBefore = this.tp;
    const fpBefore = this.fp;
    const proBefore = this.proValue();
    const tp = (this.tp += positives);
    const fp = (this.fp += negatives);
    this.weightSum += weight;
    this.doubleArea += negatives * (tp + tpBefore);
    this.updateF1(key);
    if (this.hasRoc) this.roc.offer(fp / allNegatives, tp / allPositives, key);
    if (this.hasPro) {
      const fpr = fp / allNegatives;
      const pro = this.proValue();
      this.pro.offer(fpr, pro, key);
      if (!this.proDone) this.integratePro(fpBefore / allNegatives, proBefore, fpr, pro);
    }
  }

  /** keys[hi] down to keys[lo + 1]: normal pixels only, above the next anomalous score. */
  addNegativeRun(keys: Uint32Array, hi: number, lo: number): void {
    const { negatives: allNegatives, positives: allPositives } = this.options;
    const count = hi - lo;
    const fpBefore = this.fp;
    this.fp += count;
    this.doubleArea += count * 2 * this.tp;
    // F1 only falls as false positives grow with true positives fixed: nothing to update.
    if (this.hasRoc) this.roc.offerRun(keys, hi, lo, fpBefore, allNegatives, this.tp / allPositives, true);
    if (this.hasPro) {
      const pro = this.proValue();
      this.pro.offerRun(keys, hi, lo, fpBefore, allNegatives, pro, true);
      // With PRO fixed, the run's trapezoids (and one to the limit) make a rectangle.
      if (!this.proDone) this.integratePro(fpBefore / allNegatives, pro, this.fp / allNegatives, pro);
    }
  }

  /** keys[hi] down to keys[lo + 1]: anomalous pixels only, above the next normal score. */
  addPositiveRun(keys: Uint32Array, region: Uint32Array | null, regionWeight: Float64Array | null, hi: number, lo: number): void {
    const { negatives: allNegatives, positives: allPositives, regions } = this.options;
    const tpBefore = this.tp;
    this.tp += hi - lo;
    if (this.hasPro && region && regionWeight) {
      const fpr = this.fp / allNegatives;
      const endsAll = this.tp === allPositives;
      this.weightSum = this.pro.offerWeightedRun(keys, region, regionWeight, hi, lo, fpr, this.weightSum, regions, endsAll);
    } else if (region && regionWeight) {
      for (let at = hi; at > lo; at--) this.weightSum += regionWeight[region[at]!]!;
    }
    if (this.hasRoc) this.roc.offerRun(keys, hi, lo, tpBefore, allPositives, this.fp / allNegatives, false);
    // F1 rises with each true positive at fixed false positives: its best is at the run's end.
    // The ROC area and the PRO integral do not grow at a fixed FPR.
    this.updateF1(keys[lo + 1]!);
  }

  /** Closes the curves and returns the results; call once, after the lowest score. */
  finish(): SweepResult {
    const { negatives, positives, fprLimit, decode } = this.options;
    this.roc.finish();
    this.pro.finish();
    const hasF1 = positives > 0 && this.bestF1 >= 0;
    return {
      auroc: this.hasRoc ? this.doubleArea / (2 * positives * negatives) : NaN,
      f1: hasF1 ? this.bestF1 : NaN,
      f1Threshold: hasF1 ? decode(this.bestF1Key) : NaN,
      f1Precision: hasF1 ? this.bestTp / (this.bestTp + this.bestFp) : NaN,
      f1Recall: hasF1 ? this.bestTp / positives : NaN,
      aupro: this.hasPro ? this.proArea / fprLimit : NaN,
      roc: this.roc,
      pro: this.pro,
    };
  }

  /** PRO so far; the summed weights may miss or overshoot 1 by rounding, so the end is snapped. */
  private proValue(): number {
    if (this.tp === this.options.positives) return 1;
    return Math.min(1, this.weightSum / this.options.regions);
  }

  /**
   * F1 = 2TP / (2TP + FP + FN) at the current threshold. ">=" keeps the lowest threshold among
   * equal values, as argmax over ascending thresholds does in anomalib's F1Max.
   */
  private updateF1(key: number): void {
    const allPositives = this.options.positives;
    if (allPositives === 0 || this.tp === 0) return;
    const f1 = (2 * this.tp) / (allPositives + this.tp + this.fp);
    if (f1 >= this.bestF1) {
      this.bestF1 = f1;
      this.bestF1Key = key;
      this.bestTp = this.tp;
      this.bestFp = this.fp;
    }
  }

  /**
   * The trapezoid from (x0, y0) to (x1, y1) while x1 <= limit; past the limit, the part up to a
   * point interpolated at the limit, then integration stops (MVTec AD generic_util.trapezoid).
   */
  private integratePro(x0: number, y0: number, x1: number, y1: number): void {
    const limit = this.options.fprLimit;
    if (x1 <= limit) {
      this.proArea += ((x1 - x0) * (y0 + y1)) / 2;
      return;
    }
    if (x0 < limit) {
      const yAtLimit = y0 + ((y1 - y0) * (limit - x0)) / (x1 - x0);
      this.proArea += ((limit - x0) * (y0 + yAtLimit)) / 2;
    }
    this.proDone = true;
  }
}

/**
 * Feeds a sweep from ascending sorted keys of negatives and positives (and the region of each
 * positive), from the top: runs of one class go in whole, keys present in both as a group.
 */
export function sweepSortedKeys(
  sweep: ThresholdSweep,
  negativeKeys: Uint32Array,
  positiveKeys: Uint32Array,
  positiveRegion: Uint32Array | null,
  regionWeight: Float64Array | null,
): void {
  let i = negativeKeys.length - 1;
  let j = positiveKeys.length - 1;
  while (i >= 0 || j >= 0) {
    if (j < 0) {
      sweep.addNegativeRun(negativeKeys, i, -1);
      i = -1;
    } else if (i < 0) {
      sweep.addPositiveRun(positiveKeys, positiveRegion, regionWeight, j, -1);
      j = -1;
    } else {
      const negativeKey = negativeKeys[i]!;
      const positiveKey = positiveKeys[j]!;
      if (negativeKey > positiveKey) {
        let end = i - 1;
        while (end >= 0 && negativeKeys[end]! > positiveKey) end--;
        sweep.addNegativeRun(negativeKeys, i, end);
        i = end;
      } else if (positiveKey > negativeKey) {
        let end = j - 1;
        while (end >= 0 && positiveKeys[end]! > negativeKey) end--;
        sweep.addPositiveRun(positiveKeys, positiveRegion, regionWeight, j, end);
        j = end;
      } else {
        const negativeTop = i;
        while (i >= 0 && negativeKeys[i] === negativeKey) i--;
        const positiveTop = j;
        let weight = 0;
        if (positiveRegion && regionWeight) {
          while (j >= 0 && positiveKeys[j] === negativeKey) weight += regionWeight[positiveRegion[j--]!]!;
        } else {
          while (j >= 0 && positiveKeys[j] === negativeKey) j--;
        }
        sweep.addGroup(negativeTop - i, positiveTop - j, weight, negativeKey);
      }
    }
  }
}
