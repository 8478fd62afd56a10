/**
 * The flow as ONNX nodes: the input stage (pixels to the normalised image, the frozen 1x1 input
 * convolution, the Laplacian pyramid) and the coupling blocks in evaluation mode, as
 * src/flow/input.ts, coupling.ts, affine.ts and invconv.ts compute them. Weights, running means
 * and the invertible 1x1 convolutions' composed matrices W = P L U (built in float64 and rounded
 * once by InvConv1x1.weight) become initializers.
 */
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/pixels.js';
import { CLAMP } from '../flow/affine.js';
import type { CouplingBlock } from '../flow/coupling.js';
import type { PyramidFlow } from '../flow/model.js';
import { FLOAT, UINT8, type GraphBuilder, type Value } from './onnx-graph.js';
import { buildPyramid, nearest } from './onnx-pyramid.js';
import type { InputLayout } from './onnx-options.js';

/** The soft clamp's constant of the official code (about 2/pi). */
const SOFT_CLAMP = 0.636;

/** The graph input `image` and the normalised images [N, 3, H, W] it becomes. */
export function imageInput(g: GraphBuilder, layout: InputLayout, height: number, width: number): Value {
  if (layout === 'float-nchw') return { name: g.input('image', FLOAT, ['N', 3, height, width]), c: 3, h: height, w: width };
  const pixels = g.input('image', UINT8, ['N', height, width, 3]);
  // As src/data/pixels.ts normalizeImage, in float32 steps: ((v / 255) - mean) / std
  const f = g.op('Cast', [pixels], { to: { int: FLOAT } }, 'pixels_f32');
  const unit = g.op('Div', [f, g.scalar(255)], {}, 'pixels_unit');
  const mean = g.sharedFloats('imagenet_mean', [3], () => Float32Array.from(IMAGENET_MEAN));
  const std = g.sharedFloats('imagenet_std', [3], () => Float32Array.from(IMAGENET_STD));
  const centred = g.op('Sub', [unit, mean], {}, 'pixels_centred');
  const normalised = g.op('Div', [centred, std], {}, 'pixels_normalised');
  return { name: g.op('Transpose', [normalised], { perm: { ints: [0, 3, 1, 2] } }, 'image_nchw'), c: 3, h: height, w: width };
}

/** Images [N, 3, H, W] to the input pyramid: the frozen 1x1 convolution, then the Laplacian pyramid. */
export function inputPyramid(g: GraphBuilder, model: PyramidFlow, image: Value): Value[] {
  const C = model.config.channels;
  const w = g.floats('inconv_weight', [C, 3, 1, 1], Float32Array.from(model.inConv.values()));
  const feat = { c: C, h: image.h, w: image.w, name: g.op('Conv', [image.name, w], { kernel_shape: { ints: [1, 1] } }, 'feat') };
  return buildPyramid(g, feat, model.config.levels, model.config.downsample);
}

/** Every coupling block in order, in evaluation mode (running means). */
export function flowBlocks(g: GraphBuilder, model: PyramidFlow, levels: readonly Value[]): Value[] {
  let z = [...levels];
  model.blocks.forEach((block, i) => {
    z = couplingBlock(g, block, i, z);
  });
  return z;
}

/** What the block's affine parameters are computed from, at the resolution they are computed at. */
function condition(g: GraphBuilder, block: CouplingBlock, z: readonly Value[]): Value {
  const s = block.start;
  const tgt = z[block.target]!;
  switch (block.kind) {
    case 'up':
      return nearest(g, z[s + 1]!, tgt.h, tgt.w);
    case 'down':
      return z[s]!;
    case 'middle': {
      const a = nearest(g, z[s]!, tgt.h, tgt.w),
        b = nearest(g, z[s + 2]!, tgt.h, tgt.w);
      return { c: a.c + b.c, h: tgt.h, w: tgt.w, name: g.op('Concat', [a.name, b.name], { axis: { int: 1 } }, 'condition') };
    }
  }
}

/** One block: the affine coupling of its target level, then the invertible 1x1 convolution of it. */
function couplingBlock(g: GraphBuilder, block: CouplingBlock, i: number, z: readonly Value[]): Value[] {
  const { affine, conv } = block;
  const C = conv.channels;
  const k = affine.conv0.dim(2);
  const p = (k - 1) / 2;
  const convAttrs = { kernel_shape: { ints: [k, k] }, pads: { ints: [p, p, p, p] } };
  const cond = condition(g, block, z);
  const w0 = g.floats(`block${i}_conv0`, [...affine.conv0.shape], Float32Array.from(affine.conv0.values()));
  const w2 = g.floats(`block${i}_conv2`, [...affine.conv2.shape], Float32Array.from(affine.conv2.values()));
  const hidden = g.op('Conv', [cond.name, w0], convAttrs, `block${i}_hidden`);
  const act = g.op('LeakyRelu', [hidden], { alpha: { float: affine.leakySlope } }, `block${i}_act`);
  const raw = g.op('Conv', [act, w2], convAttrs, `block${i}_raw`);
  const rawScale = g.op('Slice', [raw, g.int64s([0]), g.int64s([C]), g.int64s([1])], {}, `block${i}_raw_scale`);
  const shiftAt = g.op('Slice', [raw, g.int64s([C]), g.int64s([2 * C]), g.int64s([1])], {}, `block${i}_shift`);
  // s = clamp * 0.636 * atan(raw / clamp) - running mean; scale = exp(s)
  const atan = g.op('Atan', [g.op('Mul', [rawScale, g.scalar(1 / CLAMP)], {}, `block${i}_raw_over_clamp`)], {}, `block${i}_atan`);
  const s = g.op('Mul', [atan, g.scalar(CLAMP * SOFT_CLAMP)], {}, `block${i}_log_scale`);
  const rm = affine.runningMean;
  const mean = g.floats(`block${i}_running_mean`, [...rm.shape], Float32Array.from(rm.values()));
  const scaleAt = g.op('Exp', [g.op('Sub', [s, mean], {}, `block${i}_log_scale_normalised`)], {}, `block${i}_scale`);
  // The Down block's parameters come at its source's resolution: resized to the target's
  const x = z[block.target]!;
  const scale = nearest(g, { ...cond, c: C, name: scaleAt }, x.h, x.w);
  const shift = nearest(g, { ...cond, c: C, name: shiftAt }, x.h, x.w);
  const coupled = g.op('Add', [g.op('Mul', [x.name, scale.name], {}, `block${i}_scaled`), shift.name], {}, `block${i}_coupled`);
  const W = g.floats(`block${i}_invconv`, [C, C, 1, 1], Float32Array.from(conv.weight().values()));
  const y = g.op('Conv', [coupled, W], { kernel_shape: { ints: [1, 1] } }, `block${i}_out`);
  return z.map((v, k2) => (k2 === block.target ? { ...x, name: y } : v));
}
