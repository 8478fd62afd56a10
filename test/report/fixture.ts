/** A TestResult built by hand: small seeded-random maps and a few gallery items. */
import type { MetricSet } from '../../src/api/types.js';
import type { GalleryItem, TestResult } from '../../src/report/types.js';

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function metricSet(images: number, base = 0.9): MetricSet {
  return {
    pixel_auroc: base + 0.05,
    image_auroc: base,
    aupro: base - 0.1,
    aupro_fpr_limit: 0.3,
    pro_full: base - 0.05,
    pixel_f1_max: base - 0.4,
    pixel_f1_threshold: 0.6,
    image_f1_max: base - 0.02,
    image_f1_threshold: 0.7,
    images,
  };
}

function galleryItem(index: number, label: 0 | 1, score: number, size: number, random: () => number): GalleryItem {
  const pixels = size * size;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = 90 + Math.floor(random() * 60);
  const map = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) map[i] = random() * 0.4;
  const mask = label === 1 ? new Uint8Array(pixels) : null;
  if (mask) {
    // A square defect with high anomaly scores inside.
    for (let y = 10; y < 20; y++)
      for (let x = 12; x < 22; x++) {
        mask[y * size + x] = 1;
        map[y * size + x] = score;
      }
  }
  return {
    file: `/data/widget/test/${label ? 'crack' : 'good'}/${String(index).padStart(3, '0')}.png`,
    type: label ? 'crack' : 'good',
    label,
    score,
    verdict: score > 0.5 ? 'defect' : 'good',
    width: size,
    height: size,
    rgb,
    mask,
    map,
  };
}

export function fakeTestResult(galleryCount = 6, size = 32): TestResult {
  const random = seededRandom(7);
  const images = Array.from({ length: 40 }, (_, i) => {
    const label = (i % 2) as 0 | 1;
    const score = label ? 0.4 + random() * 0.6 : random() * 0.6;
    return { file: `img${i}.png`, type: label ? 'crack' : 'good', label, score, verdict: (score > 0.5 ? 'defect' : 'good') as 'good' | 'defect' };
  });
  const gallery = Array.from({ length: galleryCount }, (_, i) => galleryItem(i, (i % 2) as 0 | 1, 0.3 + 0.1 * i, size, random));
  const roc = { x: [0, 0.05, 0.1, 0.3, 0.6, 1], y: [0, 0.6, 0.8, 0.92, 0.98, 1] };
  return {
    category: 'widget',
    model: '/models/widget.pflow',
    config: { channels: 16, kernel: 7, levels: 4, stacks: 4, volumeNorm: 'cvn', height: size, width: size, downsample: 'maxpool' },
    seconds: 3.2,
    overall: metricSet(40),
    perType: { crack: metricSet(20, 0.85), good: metricSet(20, 0.95) },
    thresholds: { image: 0.5, pixel: 0.45, imageFpr: 0.01, pixelFpr: 0.001, source: 'holdout', images: 12, scaleMin: 0, scaleMax: 1 },
    confusion: { goodImages: 20, goodRejected: 2, defectImages: 20, defectsMissed: 3 },
    thresholdGap: { image: 0.04, pixel: -0.02 },
    curves: { pixelRoc: roc, imageRoc: { x: [0, 0.1, 0.5, 1], y: [0, 0.7, 0.9, 1] }, pro: { x: [0, 0.1, 0.2, 0.3], y: [0, 0.5, 0.7, 0.8] } },
    lossPerEpoch: [2.1, 1.4, 0.9, 0.7, 0.65],
    images,
    gallery,
  };
}
