/**
 * A stand-in Detector for server tests: the anomaly map is the image's brightness (0..1), so
 * scores are deterministic and chosen by drawing the test image; predictions can be held at a
 * gate to test queueing and reloads. Bad images throw PyramidFlowError, as the real one does.
 */
import sharp, { type OutputInfo } from 'sharp';
import type { DefectRegion, ImageDetector, DetectOptions, ImagePrediction, ModelInfo } from '../../src/api/index.js';
import { PyramidFlowError } from '../../src/util/errors.js';

export const FAKE_THRESHOLDS = { image: 0.5, pixel: 0.5, imageFpr: 0.01, pixelFpr: 0.001, source: 'holdout' as const, images: 10, scaleMin: 0, scaleMax: 1 };

export function fakeInfo(file: string): ModelInfo {
  return {
    file,
    formatVersion: 1,
    config: { channels: 4, kernel: 3, levels: 2, stacks: 1, volumeNorm: 'cvn', height: 64, width: 64, downsample: 'maxpool' },
    parameters: 123,
    training: {
      data: '/data',
      category: 'fake',
      trainImages: 10,
      holdoutImages: 2,
      epochs: 1,
      epochsDone: 1,
      steps: 5,
      seed: 0,
      augment: 'none',
      lossPerEpoch: [1],
    },
    thresholds: { ...FAKE_THRESHOLDS },
    createdAt: '2024-01-01T00:00:00.000Z',
  };
}

// Bounding boxes of 4-connected regions above t (enough for a fake; the real one is 8-connected).
function regionsAbove(map: Float32Array, w: number, h: number, t: number, minArea: number): DefectRegion[] {
  const seen = new Uint8Array(w * h);
  const out: DefectRegion[] = [];
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || !(map[start]! > t)) continue;
    const stack = [start];
    seen[start] = 1;
    let area = 0,
      x0 = w,
      y0 = h,
      x1 = -1,
      y1 = -1,
      peak = -Infinity;
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w,
        y = (i / w) | 0;
      area++;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
      peak = Math.max(peak, map[i]!);
      for (const [nx, ny] of [
        [x - 1, y],
        [x + 1, y],
        [x, y - 1],
        [x, y + 1],
      ] as const) {
        const j = ny * w + nx;
        if (nx >= 0 && ny >= 0 && nx < w && ny < h && !seen[j] && map[j]! > t) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
    if (area >= minArea) out.push({ area, x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1, peak });
  }
  return out;
}

export class FakeDetector implements ImageDetector {
  readonly info: ModelInfo;
  started = 0;
  active = 0;
  maxActive = 0;
  /** While set, predictions wait for it (after counting themselves as started). */
  gate: Promise<void> | null = null;
  /** Throw this (a plain Error = a bug in the detector) instead of predicting. */
  failWith: Error | null = null;

  constructor(
    readonly file: string,
    readonly version = 1,
  ) {
    this.info = fakeInfo(file);
  }

  async predictImage(encoded: Uint8Array, opts: DetectOptions = {}): Promise<ImagePrediction> {
    this.started++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.gate) await this.gate;
      if (this.failWith) throw this.failWith;
      let raw: { data: Buffer; info: OutputInfo };
      try {
        raw = await sharp(encoded).greyscale().raw().toBuffer({ resolveWithObject: true });
      } catch (err) {
        throw new PyramidFlowError(`${opts.fileName ?? 'image'}: cannot decode: ${(err as Error).message}`, 'E_IMAGE');
      }
      const { width, height, channels } = raw.info;
      const map = new Float32Array(width * height);
      for (let i = 0; i < map.length; i++) map[i] = raw.data[i * channels]! / 255;
      const score = map.reduce((m, v) => Math.max(m, v), 0);
      const imageT = opts.threshold ?? FAKE_THRESHOLDS.image;
      const pixelT = opts.pixelThreshold ?? FAKE_THRESHOLDS.pixel;
      return {
        file: opts.fileName,
        width,
        height,
        score,
        normalizedScore: (score / imageT) * 0.5,
        verdict: score > imageT ? 'defect' : 'good',
        regions: regionsAbove(map, width, height, pixelT, opts.minArea ?? 1),
        map,
      };
    } finally {
      this.active--;
    }
  }

  async heatmapPng(pred: ImagePrediction): Promise<Buffer> {
    // Red for high scores, blue for low: enough to see the map under the outline.
    const rgb = Buffer.alloc(pred.width * pred.height * 3);
    for (let i = 0; i < pred.map.length; i++) {
      const v = Math.round(Math.min(1, Math.max(0, pred.map[i]!)) * 255);
      rgb[i * 3] = v;
      rgb[i * 3 + 2] = 255 - v;
    }
    return sharp(rgb, { raw: { width: pred.width, height: pred.height, channels: 3 } })
      .png()
      .toBuffer();
  }

  async maskPng(pred: ImagePrediction, pixelThreshold = FAKE_THRESHOLDS.pixel): Promise<Buffer> {
    const grey = Buffer.alloc(pred.width * pred.height);
    for (let i = 0; i < pred.map.length; i++) grey[i] = pred.map[i]! > pixelThreshold ? 255 : 0;
    return sharp(grey, { raw: { width: pred.width, height: pred.height, channels: 1 } })
      .png()
      .toBuffer();
  }
}

/** A loader that records every detector it makes; set `fail` or `gate` to test reloads. */
export class FakeLoader {
  readonly made: FakeDetector[] = [];
  calls = 0;
  fail: Error | null = null;
  gate: Promise<void> | null = null;

  readonly load = async (file: string): Promise<ImageDetector> => {
    this.calls++;
    if (this.gate) await this.gate;
    if (this.fail) throw this.fail;
    const d = new FakeDetector(file, this.made.length + 1);
    this.made.push(d);
    return d;
  };

  /** The latest detector made for a file. */
  latest(file: string): FakeDetector {
    const d = [...this.made].reverse().find((x) => x.file === file);
    if (!d) throw new Error(`no detector loaded for ${file}`);
    return d;
  }
}

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits until `cond()` holds, polling; fails after `ms` so a broken test cannot hang. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A test picture: dark background, a mid-grey square (0.6) and a bright one (1.0). */
export async function testImage(width = 64, height = 64, format: 'png' | 'jpeg' | 'tiff' = 'png'): Promise<Buffer> {
  const grey = Buffer.alloc(width * height, 25);
  const square = (x0: number, y0: number, size: number, value: number): void => {
    for (let y = y0; y < Math.min(height, y0 + size); y++) for (let x = x0; x < Math.min(width, x0 + size); x++) grey[y * width + x] = value;
  };
  square(Math.floor(width * 0.1), Math.floor(height * 0.1), Math.floor(width / 4), 153);
  square(Math.floor(width * 0.6), Math.floor(height * 0.6), Math.floor(width / 4), 255);
  const img = sharp(grey, { raw: { width, height, channels: 1 } });
  return (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg({ quality: 95 }) : img.tiff()).toBuffer();
}
