/**
 * Defect painters. Each edits the canvas in place and returns the exact mask of what it
 * changed (1 where the defect's coverage is at least one half). Contrasts are moderate
 * (tens of grey levels, never a saturated blob) so that finding them needs the texture model.
 */
import type { Random } from '../../util/random.js';
import { clipBox, type Canvas } from './canvas.js';
import { clamp01, jitter, ValueNoise } from './noise.js';
import type { Rendered } from './textures.js';

export const DEFECT_KINDS = ['scratch', 'crack', 'stain', 'hole', 'spots', 'patch', 'thread', 'notch'] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

export interface DefectContext {
  rendered: Rendered;
  rng: Random;
  /** How cut-and-paste patches break the texture: rotate a piece, or shift it off-period. */
  patchMode: 'rotate' | 'shift';
}

type Point = [number, number];

export function paintDefect(kind: DefectKind, ctx: DefectContext): Uint8Array {
  switch (kind) {
    case 'scratch':
      return paintStroke(ctx, { jaggedness: 0.12, widthPx: [1, 2.2], delta: () => signedContrast(ctx.rng, 45, 70), darken: 0 });
    case 'crack':
      return paintStroke(ctx, { jaggedness: 0.7, widthPx: [1, 1.6], delta: () => 0, darken: 0.5 + ctx.rng.next() * 0.15 });
    case 'stain':
      return paintStain(ctx);
    case 'hole':
      return paintHole(ctx);
    case 'spots':
      return paintSpots(ctx);
    case 'patch':
      return paintPatch(ctx);
    case 'thread':
      return paintThread(ctx);
    case 'notch':
      return paintNotch(ctx);
  }
}

function scaleOf(canvas: Canvas): number {
  return canvas.width / 256;
}

function signedContrast(rng: Random, lo: number, hi: number): number {
  const magnitude = lo + rng.next() * (hi - lo);
  return rng.next() < 0.5 ? -magnitude : magnitude;
}

/** A point on the object (support >= 0.95), or anywhere away from the border for textures. */
function pickCentre(ctx: DefectContext, margin: number): Point {
  const { canvas, support } = ctx.rendered;
  const { width, height } = canvas;
  for (let attempt = 0; attempt < 200; attempt++) {
    const x = margin + ctx.rng.next() * (width - 2 * margin);
    const y = margin + ctx.rng.next() * (height - 2 * margin);
    if (!support || support[Math.floor(y) * width + Math.floor(x)]! >= 0.95) return [x, y];
  }
  return [width / 2, height / 2];
}

/** Applies per-pixel coverage: value <- value * (1 - darken * a) + delta * a, inside `box`. */
function applyCoverage(
  canvas: Canvas,
  support: Float32Array | null,
  box: { x0: number; y0: number; x1: number; y1: number },
  coverage: (x: number, y: number) => number,
  edit: (channel: number, value: number, a: number, index: number) => number,
): Uint8Array {
  const { width, height, data } = canvas;
  const n = width * height;
  const mask = new Uint8Array(n);
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      const i = y * width + x;
      const a = coverage(x + 0.5, y + 0.5) * (support ? support[i]! : 1);
      if (a <= 0) continue;
      for (let c = 0; c < 3; c++) data[c * n + i] = edit(c, data[c * n + i]!, a, i);
      if (a >= 0.5) mask[i] = 1;
    }
  }
  return mask;
}

function distanceToSegment(px: number, py: number, a: Point, b: Point): number {
  const vx = b[0] - a[0];
  const vy = b[1] - a[1];
  const len2 = vx * vx + vy * vy;
  const t = len2 === 0 ? 0 : clamp01(((px - a[0]) * vx + (py - a[1]) * vy) / len2);
  const ex = px - a[0] - t * vx;
  const ey = py - a[1] - t * vy;
  return Math.sqrt(ex * ex + ey * ey);
}

function strokeCoverage(points: Point[], halfWidth: number): (x: number, y: number) => number {
  return (x, y) => {
    let d = Infinity;
    for (let k = 1; k < points.length; k++) d = Math.min(d, distanceToSegment(x, y, points[k - 1]!, points[k]!));
    return clamp01(halfWidth + 0.5 - d);
  };
}

function boundsOf(canvas: Canvas, points: Point[], pad: number): ReturnType<typeof clipBox> {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return clipBox(canvas, Math.min(...xs) - pad, Math.min(...ys) - pad, Math.max(...xs) + pad + 1, Math.max(...ys) + pad + 1);
}

interface StrokeStyle {
  jaggedness: number;
  widthPx: [number, number];
  delta: () => number;
  darken: number;
}

/** A random-walk polyline: gently curved for scratches, jagged (and dark) for cracks. */
function paintStroke(ctx: DefectContext, style: StrokeStyle): Uint8Array {
  const { canvas, support } = ctx.rendered;
  const s = scaleOf(canvas);
  const rng = ctx.rng;
  const length = canvas.width * (0.15 + rng.next() * 0.2);
  const segments = 6 + Math.round(style.jaggedness * 20);
  const start = pickCentre(ctx, canvas.width * 0.2);
  let heading = rng.next() * 2 * Math.PI;
  const points: Point[] = [start];
  for (let k = 0; k < segments; k++) {
    heading += jitter(rng, style.jaggedness);
    const last = points[points.length - 1]!;
    points.push([last[0] + Math.cos(heading) * (length / segments), last[1] + Math.sin(heading) * (length / segments)]);
  }
  // At least 1.2 px wide, so that even small images get a mask along the stroke's centre.
  const halfWidth = Math.max(((style.widthPx[0] + rng.next() * (style.widthPx[1] - style.widthPx[0])) * s) / 2, 0.6);
  const delta = style.delta();
  const coverage = strokeCoverage(points, halfWidth);
  return applyCoverage(canvas, support, boundsOf(canvas, points, halfWidth + 2), coverage, (_c, v, a) => v * (1 - style.darken * a) + delta * a);
}

/** An irregular closed shape: radius modulated by a few low harmonics. */
function blobRadius(rng: Random, radius: number): (theta: number) => number {
  const harmonics = [2, 3, 4].map((k) => ({ k, amp: rng.next() * 0.12, phase: rng.next() * 2 * Math.PI }));
  return (theta) => radius * (1 + harmonics.reduce((sum, h) => sum + h.amp * Math.cos(h.k * theta + h.phase), 0));
}

function blobCoverage(centre: Point, radiusAt: (theta: number) => number, softness: number): (x: number, y: number) => number {
  return (x, y) => {
    const dx = x - centre[0];
    const dy = y - centre[1];
    const edge = radiusAt(Math.atan2(dy, dx)) - Math.sqrt(dx * dx + dy * dy);
    return clamp01(0.5 + edge / (2 * softness));
  };
}

/** A translucent brownish stain with a soft edge and a blotchy interior. */
function paintStain(ctx: DefectContext): Uint8Array {
  const { canvas, support } = ctx.rendered;
  const rng = ctx.rng;
  const s = scaleOf(canvas);
  const radius = canvas.width * (0.04 + rng.next() * 0.05);
  const centre = pickCentre(ctx, radius * 1.3);
  const coverage = blobCoverage(centre, blobRadius(rng, radius), Math.max(2 * s, 0.75));
  const opacity = 0.35 + rng.next() * 0.2;
  const tint = [0.75, 0.6, 0.45];
  const blotch = new ValueNoise(rng, 16, 16);
  const box = clipBox(canvas, centre[0] - radius * 1.5, centre[1] - radius * 1.5, centre[0] + radius * 1.5, centre[1] + radius * 1.5);
  return applyCoverage(canvas, support, box, coverage, (c, v, a, i) => {
    const strength = opacity * (0.8 + 0.2 * blotch.at((i % canvas.width) / (4 * s), Math.floor(i / canvas.width) / (4 * s)));
    return v * (1 - strength * a * (1 - tint[c]!));
  });
}

/** A small dark hole with a shadowed rim. */
function paintHole(ctx: DefectContext): Uint8Array {
  const { canvas, support } = ctx.rendered;
  const rng = ctx.rng;
  const s = scaleOf(canvas);
  const radius = Math.max(canvas.width * (0.02 + rng.next() * 0.03), 2);
  const rim = Math.max(1.5 * s, 1);
  const centre = pickCentre(ctx, radius * 2);
  const shape = blobRadius(rng, radius);
  const inside = blobCoverage(centre, shape, 0.5);
  const withRim = blobCoverage(centre, (t) => shape(t) + rim, 0.5);
  const depth = 14 + rng.next() * 14;
  const box = clipBox(canvas, centre[0] - radius * 1.5 - rim, centre[1] - radius * 1.5 - rim, centre[0] + radius * 1.5 + rim, centre[1] + radius * 1.5 + rim);
  return applyCoverage(canvas, support, box, withRim, (_c, v, _a, i) => {
    const x = (i % canvas.width) + 0.5;
    const y = Math.floor(i / canvas.width) + 0.5;
    const core = inside(x, y);
    const shadow = withRim(x, y) - core;
    return v * (1 - 0.3 * shadow) * (1 - core) + (depth + 0.1 * v) * core;
  });
}

/** A cluster of small dark or light spots. */
function paintSpots(ctx: DefectContext): Uint8Array {
  const { canvas, support } = ctx.rendered;
  const rng = ctx.rng;
  const s = scaleOf(canvas);
  const spread = canvas.width * 0.06;
  const centre = pickCentre(ctx, spread + 4);
  const delta = signedContrast(rng, 50, 80);
  const count = 3 + rng.int(6);
  const spots = Array.from({ length: count }, () => ({
    x: centre[0] + jitter(rng, spread),
    y: centre[1] + jitter(rng, spread),
    r: Math.max((1 + rng.next() * 1.5) * s, 1),
  }));
  const coverage = (x: number, y: number): number => Math.max(...spots.map((p) => clamp01(p.r + 0.5 - Math.sqrt((x - p.x) ** 2 + (y - p.y) ** 2))));
  const box = clipBox(canvas, centre[0] - spread - 4 * s - 2, centre[1] - spread - 4 * s - 2, centre[0] + spread + 4 * s + 2, centre[1] + spread + 4 * s + 2);
  return applyCoverage(canvas, support, box, coverage, (_c, v, a) => v + delta * a);
}

/** Cut-and-paste: a square piece of the same image, rotated or shifted off the period. */
function paintPatch(ctx: DefectContext): Uint8Array {
  const { canvas, period } = ctx.rendered;
  const rng = ctx.rng;
  const { width, height, data } = canvas;
  const n = width * height;
  const side = Math.max(Math.round(width * (0.1 + rng.next() * 0.08)), 4);
  const x0 = Math.floor(rng.next() * (width - side));
  const y0 = Math.floor(rng.next() * (height - side));
  const source = data.slice();
  let read: (u: number, v: number) => number; // source pixel index for patch pixel (u, v)
  if (ctx.patchMode === 'rotate') {
    const sx = Math.floor(rng.next() * (width - side));
    const sy = Math.floor(rng.next() * (height - side));
    read = (u, v) => (sy + u) * width + (sx + side - 1 - v); // a quarter turn
  } else {
    const step = period ?? side;
    const shift = (): number => Math.round((0.3 + rng.next() * 0.4) * step) * (rng.next() < 0.5 ? -1 : 1);
    const dx = shift();
    const dy = shift();
    read = (u, v) => {
      const x = Math.min(Math.max(x0 + u + dx, 0), width - 1);
      const y = Math.min(Math.max(y0 + v + dy, 0), height - 1);
      return y * width + x;
    };
  }
  const mask = new Uint8Array(n);
  for (let v = 0; v < side; v++) {
    for (let u = 0; u < side; u++) {
      const to = (y0 + v) * width + x0 + u;
      const from = read(u, v);
      for (let c = 0; c < 3; c++) data[c * n + to] = source[c * n + from]!;
      mask[to] = 1;
    }
  }
  return mask;
}

/** A pulled thread: a straight band along the weave, lighter or darker than its neighbours. */
function paintThread(ctx: DefectContext): Uint8Array {
  const { canvas, support, angle, period } = ctx.rendered;
  const rng = ctx.rng;
  const length = canvas.width * (0.3 + rng.next() * 0.3);
  const direction = angle + (rng.next() < 0.5 ? 0 : Math.PI / 2);
  const centre = pickCentre(ctx, canvas.width * 0.2);
  const half: Point = [(Math.cos(direction) * length) / 2, (Math.sin(direction) * length) / 2];
  const points: Point[] = [
    [centre[0] - half[0], centre[1] - half[1]],
    [centre[0] + half[0], centre[1] + half[1]],
  ];
  const halfWidth = Math.max(((period ?? 16) / 2) * 0.22, 0.75);
  const delta = signedContrast(rng, 35, 55);
  return applyCoverage(canvas, support, boundsOf(canvas, points, halfWidth + 2), strokeCoverage(points, halfWidth), (_c, v, a) => v + delta * a);
}

/** A bite out of an object's outer rim, showing the background. */
function paintNotch(ctx: DefectContext): Uint8Array {
  const { canvas, support, ring, background } = ctx.rendered;
  if (!ring || !support || !background) return paintSpots(ctx); // textures have no rim
  const rng = ctx.rng;
  const theta = rng.next() * 2 * Math.PI;
  const radius = canvas.width * (0.04 + rng.next() * 0.04);
  const centre: Point = [ring.cx + Math.cos(theta) * ring.outer, ring.cy + Math.sin(theta) * ring.outer];
  const coverage = blobCoverage(centre, blobRadius(rng, radius), 0.5);
  const box = clipBox(canvas, centre[0] - radius * 1.5, centre[1] - radius * 1.5, centre[0] + radius * 1.5, centre[1] + radius * 1.5);
  return applyCoverage(canvas, support, box, coverage, (c, v, a) => v * (1 - a) + (background[c]! + jitter(rng, 3)) * a);
}
