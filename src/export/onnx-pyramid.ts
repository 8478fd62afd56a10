/**
 * The Laplacian pyramid as ONNX nodes, op for op as src/flow/pyramid.ts and
 * src/tensor/ops/resample.ts compute it: the separable [1 4 6 4 1]/16 blur with zero padding 2
 * (two depthwise convolutions, 1x5 then 5x1), 2x2 max pooling, and PyTorch's legacy nearest
 * resize (src = min(floor(dst * in / out), in - 1)) by integer factors: downsizing takes every
 * f-th sample (Slice with steps), upsizing repeats (Resize nearest, asymmetric, floor).
 */
import type { Downsample } from '../flow/types.js';
import type { GraphBuilder, Value } from './onnx-graph.js';

const TAPS = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

/** The blur of every channel of x. */
export function blur(g: GraphBuilder, x: Value): Value {
  const c = x.c;
  const wh = g.sharedFloats(`blur_1x5_c${c}`, [c, 1, 1, 5], () => tiled(c));
  const wv = g.sharedFloats(`blur_5x1_c${c}`, [c, 1, 5, 1], () => tiled(c));
  const h = g.op('Conv', [x.name, wh], { group: { int: c }, kernel_shape: { ints: [1, 5] }, pads: { ints: [0, 2, 0, 2] } }, 'blur_h');
  const v = g.op('Conv', [h, wv], { group: { int: c }, kernel_shape: { ints: [5, 1] }, pads: { ints: [2, 0, 2, 0] } }, 'blur');
  return { ...x, name: v };
}

function tiled(c: number): Float32Array {
  const out = new Float32Array(5 * c);
  for (let i = 0; i < c; i++) out.set(TAPS, 5 * i);
  return out;
}

/** 2x2 max pooling, stride 2. */
export function maxPool2(g: GraphBuilder, x: Value): Value {
  const y = g.op('MaxPool', [x.name], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }, 'maxpool');
  return { c: x.c, h: x.h / 2, w: x.w / 2, name: y };
}

/** Integer factor between two sizes, or an error (the pyramid's sizes are powers of two apart). */
function factor(big: number, small: number): number {
  const f = big / small;
  if (!Number.isInteger(f) || f < 1) throw new Error(`onnx export: nearest resize from ${small} to ${big} is not by an integer factor`);
  return f;
}

/** Nearest resize of x to h x w (PyTorch's legacy 'nearest'). */
export function nearest(g: GraphBuilder, x: Value, h: number, w: number): Value {
  if (x.h === h && x.w === w) return x;
  if (h <= x.h && w <= x.w) {
    // src = floor(dst * f) = dst * f: every f-th sample, starting at 0
    const fh = factor(x.h, h),
      fw = factor(x.w, w);
    const y = g.op('Slice', [x.name, g.int64s([0, 0]), g.int64s([h * fh, w * fw]), g.int64s([2, 3]), g.int64s([fh, fw])], {}, 'nearest_down');
    return { c: x.c, h, w, name: y };
  }
  if (h >= x.h && w >= x.w) {
    // src = floor(dst / f): Resize nearest with asymmetric coordinates and floor rounding
    const scales = g.sharedFloats(`scales_${factor(h, x.h)}_${factor(w, x.w)}`, [4], () => Float32Array.of(1, 1, h / x.h, w / x.w));
    const y = g.op(
      'Resize',
      [x.name, '', scales],
      { mode: { str: 'nearest' }, coordinate_transformation_mode: { str: 'asymmetric' }, nearest_mode: { str: 'floor' } },
      'nearest_up',
    );
    return { c: x.c, h, w, name: y };
  }
  throw new Error(`onnx export: nearest resize from ${x.h}x${x.w} to ${h}x${w} mixes up- and downsizing`);
}

export function down(g: GraphBuilder, x: Value, mode: Downsample): Value {
  const b = blur(g, x);
  return mode === 'maxpool' ? maxPool2(g, b) : nearest(g, b, x.h / 2, x.w / 2);
}

export function up(g: GraphBuilder, x: Value, h: number, w: number): Value {
  return blur(g, nearest(g, x, h, w));
}

function sub(g: GraphBuilder, a: Value, b: Value, hint: string): Value {
  return { ...a, name: g.op('Sub', [a.name, b.name], {}, hint) };
}

export function buildPyramid(g: GraphBuilder, feat: Value, levels: number, mode: Downsample): Value[] {
  const gs = [feat];
  for (let k = 1; k < levels; k++) gs.push(down(g, gs[k - 1]!, mode));
  const lp: Value[] = [];
  for (let k = 0; k < levels - 1; k++) lp.push(sub(g, gs[k]!, up(g, gs[k + 1]!, gs[k]!.h, gs[k]!.w), `pyramid_${k}`));
  lp.push(gs[levels - 1]!);
  return lp;
}

export function composePyramid(g: GraphBuilder, lp: readonly Value[]): Value {
  let r = lp[lp.length - 1]!;
  for (let k = lp.length - 2; k >= 0; k--) {
    const u = up(g, r, lp[k]!.h, lp[k]!.w);
    r = { ...lp[k]!, name: g.op('Add', [u.name, lp[k]!.name], {}, 'compose') };
  }
  return r;
}
