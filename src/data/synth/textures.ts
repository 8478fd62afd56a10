/**
 * Procedural normal images. Every call draws its own phase, offset, period, lighting and noise
 * from `rng`, so no two good images are alike and a model must learn the texture, not a
 * fixed picture. Sizes scale with the image (`s` = size / 256).
 */
import type { Random } from '../../util/random.js';
import { createCanvas, setPixel, type Canvas } from './canvas.js';
import { clamp01, FractalNoise, jitter, PixelGrain, ValueNoise } from './noise.js';

export interface Rendered {
  canvas: Canvas;
  /** Object coverage 0..1 per pixel (objects only): defects stay on the object. */
  support: Float32Array | null;
  /** The texture's period in pixels, where it has one (cut-and-paste defects misalign it). */
  period: number | null;
  /** Orientation of the texture's main axes, radians. */
  angle: number;
  /** Background colour behind an object. */
  background: [number, number, number] | null;
  /** Washer geometry, for rim defects. */
  ring: { cx: number; cy: number; outer: number; inner: number } | null;
}

function textureResult(canvas: Canvas, period: number | null, angle: number): Rendered {
  return { canvas, support: null, period, angle, background: null, ring: null };
}

const THREAD_PROFILE_STEPS = 1024;
/** Cross-section of a round thread, sin(pi t)^0.7, tabulated: the fabric's hot loop. */
const THREAD_PROFILE = Float32Array.from({ length: THREAD_PROFILE_STEPS + 1 }, (_, k) => Math.sin((Math.PI * (k + 0.5)) / THREAD_PROFILE_STEPS) ** 0.7);

/** Plain weave: threads alternately over and under, with fibre noise along each thread. */
export function renderFabric(size: number, rng: Random): Rendered {
  const s = size / 256;
  const period = Math.max(8 * s * (1 + jitter(rng, 0.03)), 3);
  const angle = jitter(rng, (1.5 * Math.PI) / 180);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const ox = rng.next() * 2 * period;
  const oy = rng.next() * 2 * period;
  const brightness = 1 + jitter(rng, 0.05);
  const fibres = new ValueNoise(rng, Math.ceil(size / (2.5 * s)) + 4, 512);
  const grain = new PixelGrain(rng);
  const canvas = createCanvas(size, size);
  const inv = 1 / period;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x * ca + y * sa + ox;
      const v = -x * sa + y * ca + oy;
      const i = Math.floor(u * inv);
      const j = Math.floor(v * inv);
      const warpOnTop = ((i + j) & 1) === 0;
      const across = warpOnTop ? u * inv - i : v * inv - j;
      const along = warpOnTop ? v : u;
      const thread = warpOnTop ? i : j + 256;
      const profile = THREAD_PROFILE[Math.floor(across * THREAD_PROFILE_STEPS)]!;
      const fibre = fibres.at(along / (2.5 * s), thread);
      const shade = (0.42 + 0.58 * profile + 0.09 * fibre) * brightness + grain.at(y * size + x, 0.025);
      setPixel(canvas, y * size + x, 66 * shade, 88 * shade, 132 * shade);
    }
  }
  return textureResult(canvas, 2 * period, angle);
}

/** Brushed metal: fine streaks along one direction, a soft lighting gradient, grain. */
export function renderBrushedMetal(size: number, rng: Random): Rendered {
  const s = size / 256;
  const angle = jitter(rng, (2 * Math.PI) / 180);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const base = 140 + jitter(rng, 12);
  const lightAngle = rng.next() * 2 * Math.PI;
  const lightStrength = 0.04 + rng.next() * 0.05;
  const span = size * 1.5;
  const coarse = new ValueNoise(rng, Math.ceil(span / (60 * s)) + 2, Math.ceil(span / (1.3 * s)) + 2);
  const fine = new ValueNoise(rng, Math.ceil(span / (18 * s)) + 2, Math.ceil(span / (0.8 * s)) + 2);
  const ox = rng.next() * size;
  const oy = rng.next() * size;
  const grain = new PixelGrain(rng);
  const canvas = createCanvas(size, size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x * ca + y * sa + ox;
      const v = -x * sa + y * ca + oy + size * 0.25;
      const light = 1 + lightStrength * ((x / size - 0.5) * Math.cos(lightAngle) + (y / size - 0.5) * Math.sin(lightAngle));
      const value = (base + 15 * coarse.at(u / (60 * s), v / (1.3 * s)) + 7 * fine.at(u / (18 * s), v / (0.8 * s))) * light + grain.at(y * size + x, 5);
      setPixel(canvas, y * size + x, value * 0.97, value * 0.99, value * 1.03);
    }
  }
  return textureResult(canvas, null, angle);
}

/** Wood: growth rings warped by noise, with grain streaks along the rings. */
export function renderWood(size: number, rng: Random): Rendered {
  const s = size / 256;
  const ringPeriod = size / (9 + jitter(rng, 1.5));
  const angle = jitter(rng, (4 * Math.PI) / 180);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const offset = rng.next() * ringPeriod * 4;
  const curvature = jitter(rng, 0.6);
  const warp = new FractalNoise(rng, size, 48 * s, 2);
  const grain = new ValueNoise(rng, Math.ceil(size / (40 * s)) + 2, Math.ceil(size / (1.5 * s)) + 2);
  const brightness = 1 + jitter(rng, 0.05);
  const light = [198, 148, 98];
  const dark = [126, 79, 45];
  const pixelGrain = new PixelGrain(rng);
  const canvas = createCanvas(size, size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x * ca + y * sa;
      const v = -x * sa + y * ca;
      const t = v + offset + warp.at(x, y) * 0.6 * ringPeriod + (curvature * (u - size / 2) ** 2) / size;
      const phase = t / ringPeriod - Math.floor(t / ringPeriod);
      const wave = 0.5 + 0.5 * Math.cos(2 * Math.PI * phase);
      const late = wave * wave * (wave * wave);
      const g = grain.at(u / (40 * s), v / (1.5 * s));
      const mix = clamp01(0.8 * late + 0.12 * g + 0.1);
      const k = brightness * (1 + 0.04 * g) + pixelGrain.at(y * size + x, 0.02);
      setPixel(
        canvas,
        y * size + x,
        (light[0]! + (dark[0]! - light[0]!) * mix) * k,
        (light[1]! + (dark[1]! - light[1]!) * mix) * k,
        (light[2]! + (dark[2]! - light[2]!) * mix) * k,
      );
    }
  }
  return textureResult(canvas, null, angle);
}

/** Stone: multi-scale mottling plus small dark and light grains scattered at random. */
export function renderStone(size: number, rng: Random): Rendered {
  const s = size / 256;
  const mottle = new FractalNoise(rng, size, 40 * s, 4);
  const base = 150 + jitter(rng, 8);
  const canvas = createCanvas(size, size);
  const grey = new Float32Array(size * size);
  const pixelGrain = new PixelGrain(rng);
  for (let i = 0; i < grey.length; i++) grey[i] = base + 38 * mottle.at(i % size, Math.floor(i / size)) + pixelGrain.at(i, 6);
  const grains = Math.round(0.004 * size * size);
  for (let g = 0; g < grains; g++) {
    const gx = rng.next() * size;
    const gy = rng.next() * size;
    const radius = Math.max((0.7 + rng.next() * 0.9) * s, 0.6);
    const delta = rng.next() < 0.7 ? -(35 + rng.next() * 35) : 25 + rng.next() * 20;
    const r = Math.ceil(radius + 1);
    for (let y = Math.max(0, Math.floor(gy) - r); y <= Math.min(size - 1, Math.floor(gy) + r); y++) {
      for (let x = Math.max(0, Math.floor(gx) - r); x <= Math.min(size - 1, Math.floor(gx) + r); x++) {
        const a = clamp01(radius + 0.5 - Math.sqrt((x + 0.5 - gx) ** 2 + (y + 0.5 - gy) ** 2));
        grey[y * size + x]! += a * delta;
      }
    }
  }
  for (let i = 0; i < grey.length; i++) setPixel(canvas, i, grey[i]! * 1.02, grey[i]!, grey[i]! * 0.93);
  return textureResult(canvas, null, 0);
}

/** A regular wire grid: bright lines on a darker mottled ground. */
export function renderGrid(size: number, rng: Random): Rendered {
  const s = size / 256;
  const period = Math.max(16 * s * (1 + jitter(rng, 0.02)), 6);
  const halfWidth = Math.max(1.4 * s, 0.8);
  const angle = jitter(rng, Math.PI / 180);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const ox = rng.next() * period;
  const oy = rng.next() * period;
  const ground = new FractalNoise(rng, size, 12 * s, 2);
  const wire = new ValueNoise(rng, Math.ceil(size / (6 * s)) + 2, Math.ceil(size / (6 * s)) + 2);
  const base = 92 + jitter(rng, 6);
  const lineLevel = 182 + jitter(rng, 8);
  const pixelGrain = new PixelGrain(rng);
  const canvas = createCanvas(size, size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x * ca + y * sa + ox;
      const v = -x * sa + y * ca + oy;
      const du = Math.abs(u - period * Math.round(u / period));
      const dv = Math.abs(v - period * Math.round(v / period));
      const alpha = Math.max(clamp01(halfWidth + 0.5 - du), clamp01(halfWidth + 0.5 - dv));
      const back = base + 12 * ground.at(x, y);
      const line = lineLevel + 14 * wire.at(x / (6 * s), y / (6 * s));
      const value = back + (line - back) * alpha + pixelGrain.at(y * size + x, 4);
      setPixel(canvas, y * size + x, value, value * 1.01, value * 1.04);
    }
  }
  return textureResult(canvas, period, angle);
}

/** A flat metal washer seen from above, centred, on a dark ground; aligned object class. */
export function renderWasher(size: number, rng: Random): Rendered {
  const s = size / 256;
  const cx = size / 2 + jitter(rng, 0.015 * size);
  const cy = size / 2 + jitter(rng, 0.015 * size);
  const outer = 0.36 * size * (1 + jitter(rng, 0.01));
  const inner = 0.16 * size * (1 + jitter(rng, 0.01));
  const lightAngle = -Math.PI / 4 + jitter(rng, 0.25);
  const level = 165 + jitter(rng, 8);
  const background: [number, number, number] = [36, 38, 42];
  const rings = new ValueNoise(rng, Math.ceil(outer / s) + 4, 8);
  const groundNoise = new FractalNoise(rng, size, 24 * s, 2);
  const pixelGrain = new PixelGrain(rng);
  const lightX = Math.cos(lightAngle);
  const lightY = Math.sin(lightAngle);
  const canvas = createCanvas(size, size);
  const support = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const d = Math.sqrt(dx * dx + dy * dy);
      const coverage = clamp01(outer + 0.5 - d) * clamp01(d - inner + 0.5);
      const t = clamp01((d - inner) / (outer - inner));
      const towardsLight = d > 0 ? (dx * lightX + dy * lightY) / d : 0; // cos(theta - lightAngle)
      const metal = level * (0.86 + 0.14 * Math.sin(Math.PI * t)) * (1 + 0.16 * towardsLight) + 7 * rings.at(d / s, 3);
      const i = y * size + x;
      const ground = 4 * groundNoise.at(x, y);
      const noise = pixelGrain.at(i, 4);
      support[i] = coverage;
      setPixel(
        canvas,
        i,
        background[0] + ground + (metal - background[0]) * coverage + noise,
        background[1] + ground + (metal * 0.98 - background[1]) * coverage + noise,
        background[2] + ground + (metal * 0.95 - background[2]) * coverage + noise,
      );
    }
  }
  return { canvas, support, period: null, angle: 0, background, ring: { cx, cy, outer, inner } };
}
