/**
 * Slow, obviously-correct reference implementations for the metrics tests, written
 * independently of src/metrics: pairwise counting, full threshold sweeps with a scan per
 * threshold, flood fill.
 */
import type { Random } from '../../src/util/random.js';

/** Mann-Whitney: P(positive outscores negative) + P(tie) / 2, over all pairs. */
export function bruteRocAuc(scores: number[], labels: number[]): number {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] === 0) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return pairs === 0 ? NaN : wins / pairs;
}

export function distinctDescending(values: number[]): number[] {
  return [...new Set(values.map((v) => v + 0))].sort((a, b) => b - a);
}

/** (0, 0) then one ROC point per distinct threshold, each counted by a full scan. */
export function bruteRocPoints(scores: number[], labels: number[]): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  const positives = labels.filter((l) => l !== 0).length;
  const negatives = labels.length - positives;
  const out = { fpr: [0], tpr: [0], thresholds: [Infinity] };
  for (const t of distinctDescending(scores)) {
    let tp = 0;
    let fp = 0;
    scores.forEach((s, i) => {
      if (s >= t) labels[i] !== 0 ? tp++ : fp++;
    });
    out.fpr.push(fp / negatives);
    out.tpr.push(tp / positives);
    out.thresholds.push(t);
  }
  return out;
}

/** Best F1 over distinct thresholds, lowest threshold on equal F1 (compared with tolerance). */
export function bruteF1Max(scores: number[], labels: number[]): { f1: number; threshold: number; precision: number; recall: number } {
  const positives = labels.filter((l) => l !== 0).length;
  let best = { f1: -1, threshold: NaN, precision: NaN, recall: NaN };
  if (positives === 0) return { f1: NaN, threshold: NaN, precision: NaN, recall: NaN };
  for (const t of distinctDescending(scores)) {
    let tp = 0;
    let fp = 0;
    scores.forEach((s, i) => {
      if (s >= t) labels[i] !== 0 ? tp++ : fp++;
    });
    const precision = tp / (tp + fp);
    const recall = tp / positives;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 >= best.f1 - 1e-12) best = { f1, threshold: t, precision, recall };
  }
  return best;
}

/** Flood fill from each unlabelled foreground pixel in raster order. */
export function bruteLabel(mask: ArrayLike<number>, width: number, height: number, connectivity: 4 | 8): Int32Array {
  const labels = new Int32Array(width * height);
  const steps =
    connectivity === 8
      ? [
          [-1, -1],
          [0, -1],
          [1, -1],
          [-1, 0],
          [1, 0],
          [-1, 1],
          [0, 1],
          [1, 1],
        ]
      : [
          [0, -1],
          [-1, 0],
          [1, 0],
          [0, 1],
        ];
  let count = 0;
  for (let start = 0; start < width * height; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    labels[start] = ++count;
    const stack = [start];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      for (const [dx, dy] of steps) {
        const nx = x + dx!;
        const ny = y + dy!;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const q = ny * width + nx;
        if (mask[q] !== 0 && labels[q] === 0) {
          labels[q] = count;
          stack.push(q);
        }
      }
    }
  }
  return labels;
}

export interface TestSet {
  maps: Float32Array[];
  masks: (Uint8Array | null)[];
  widths: number[];
  heights: number[];
}

/** PRO curve by definition: at each distinct threshold, the mean over regions of the share of
 * its pixels at or above it, and the share of normal pixels at or above it; (0, 0) first. */
export function bruteProCurve(set: TestSet): { fpr: number[]; pro: number[] } {
  const scores: number[] = [];
  const normal: boolean[] = [];
  const region: number[] = []; // global region per pixel, -1 for normal
  const sizes: number[] = [];
  set.maps.forEach((map, image) => {
    const mask = set.masks[image] ?? new Uint8Array(map.length);
    const labels = bruteLabel(mask, set.widths[image]!, set.heights[image]!, 8);
    const base = sizes.length;
    for (let p = 0; p < map.length; p++) {
      scores.push(map[p]!);
      const l = labels[p]!;
      normal.push(l === 0);
      region.push(l === 0 ? -1 : base + l - 1);
      if (l !== 0) sizes[base + l - 1] = (sizes[base + l - 1] ?? 0) + 1;
    }
  });
  const normals = normal.filter(Boolean).length;
  const curve = { fpr: [0], pro: [0] };
  for (const t of distinctDescending(scores)) {
    const hits = new Array<number>(sizes.length).fill(0);
    let fp = 0;
    scores.forEach((s, i) => {
      if (s < t) return;
      if (normal[i]) fp++;
      else hits[region[i]!]!++;
    });
    curve.fpr.push(fp / normals);
    curve.pro.push(hits.reduce((sum, h, r) => sum + h / sizes[r]!, 0) / sizes.length);
  }
  return curve;
}

/** MVTec AD generic_util.trapezoid: integrate up to xMax, interpolating y there. */
export function mvtecTrapezoid(x: number[], y: number[], xMax: number): number {
  let correction = 0;
  if (!x.includes(xMax)) {
    let ins = 0; // bisect_right
    while (ins < x.length && x[ins]! <= xMax) ins++;
    const yInterp = y[ins - 1]! + ((y[ins]! - y[ins - 1]!) * (xMax - x[ins - 1]!)) / (x[ins]! - x[ins - 1]!);
    correction = 0.5 * (yInterp + y[ins - 1]!) * (xMax - x[ins - 1]!);
  }
  let area = 0;
  for (let i = 1; i < x.length && x[i]! <= xMax; i++) area += 0.5 * (y[i]! + y[i - 1]!) * (x[i]! - x[i - 1]!);
  return area + correction;
}

/** The official PyramidFlow PRO computed literally: 200 thresholds, a scan per threshold. */
export function bruteOfficialPro(set: TestSet): number {
  let min = Infinity;
  let max = -Infinity;
  for (const map of set.maps) {
    for (const v of map) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  const range = Math.fround(max - min);
  const normalised = set.maps.map((map) => map.map((v) => Math.fround(Math.fround(v - min) / range)));
  const labels = set.maps.map((map, i) => bruteLabel(set.masks[i] ?? new Uint8Array(map.length), set.widths[i]!, set.heights[i]!, 8));
  const regionCount = labels.reduce((sum, l) => sum + Math.max(0, ...l), 0);
  const delta = Math.fround(1 / 200);
  const fprs: number[] = [];
  const pros: number[] = [];
  for (let i = 0; i < 200; i++) {
    const th = Math.fround(i * delta);
    let fp = 0;
    let normals = 0;
    let pro = 0;
    normalised.forEach((map, image) => {
      const sizes = new Map<number, number>();
      const hits = new Map<number, number>();
      map.forEach((v, p) => {
        const l = labels[image]![p]!;
        if (l === 0) {
          normals++;
          if (v > th) fp++;
        } else {
          sizes.set(l, (sizes.get(l) ?? 0) + 1);
          if (v > th) hits.set(l, (hits.get(l) ?? 0) + 1);
        }
      });
      for (const [l, size] of sizes) pro += (hits.get(l) ?? 0) / size / regionCount;
    });
    fprs.push(fp / normals);
    pros.push(pro);
  }
  // sklearn.metrics.auc: x decreasing -> the negated trapezoid.
  let area = 0;
  for (let i = 1; i < 200; i++) area += ((fprs[i - 1]! - fprs[i]!) * (pros[i]! + pros[i - 1]!)) / 2;
  return area;
}

/** Random maps with heavy ties (scores k/8) and masks of a few random blobs; sizes may differ. */
export function randomTestSet(random: Random, images: number, sizes: () => [number, number], levels = 12): TestSet {
  const set: TestSet = { maps: [], masks: [], widths: [], heights: [] };
  for (let image = 0; image < images; image++) {
    const [width, height] = sizes();
    const map = new Float32Array(width * height);
    let mask: Uint8Array | null = null;
    if (random.next() < 0.6) {
      mask = new Uint8Array(width * height);
      const blobs = 1 + random.int(3);
      for (let b = 0; b < blobs; b++) {
        const x0 = random.int(width);
        const y0 = random.int(height);
        const w = 1 + random.int(Math.max(1, width >> 1));
        const h = 1 + random.int(Math.max(1, height >> 1));
        for (let y = y0; y < Math.min(height, y0 + h); y++) {
          for (let x = x0; x < Math.min(width, x0 + w); x++) if (random.next() < 0.8) mask[y * width + x] = 1;
        }
      }
    }
    for (let p = 0; p < map.length; p++) {
      const lift = mask?.[p] ? random.int(4) : 0;
      map[p] = (random.int(levels) + lift) / 8;
    }
    set.maps.push(map);
    set.masks.push(mask);
    set.widths.push(width);
    set.heights.push(height);
  }
  return set;
}

export function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  if (Number.isNaN(expected) && Number.isNaN(actual)) return;
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${what}: expected ${expected}, got ${actual} (tolerance ${tolerance})`);
  }
}
