/**
 * The flow's affine coupling tail as one op, because on the model's largest maps the unfused
 * chain (slice, slice, soft clamp, mean, subtract, exp, resize, multiply, add) dominated the step:
 *
 *   s     = clamp * 0.636 * atan(raw[:, :C] / clamp)          (soft clamp)
 *   s'    = s - mean(s over dims)   or   s - runningMean       (volume normalisation)
 *   scale = exp(s'),  shift = raw[:, C:]
 *   y     = nearest(scale) * x + nearest(shift)                (nearest only when sizes differ)
 *
 * The arithmetic is the backend's (fusedAffineForward / fusedAffineBackward, reference in
 * src/tensor/kernels/js/affine.ts); the backward recomputes scale from raw and the mean rather
 * than keeping it. It must equal the unfused chain (test/flow/fused-affine.test.ts), and it
 * returns the batch mean so the caller (src/flow/affine.ts) can update the running mean.
 */
import { Tensor, recordOp, accumulateGrad } from '../tensor.js';
import { allocFloats } from '../storage.js';
import { backend } from '../kernels/index.js';
import type { AffineShape } from '../kernels/backend.js';
import { timed } from '../profile.js';

export interface FusedAffineOptions {
  clamp: number;
  /** 'cvn': the mean per pixel over batch and channels; 'svn': per channel over batch and pixels. */
  volumeNorm: 'cvn' | 'svn';
  /** Training: normalise by the batch mean (returned); evaluation: by this running mean. */
  training: boolean;
  runningMean: Tensor;
}

function affineShape(raw: Tensor, x: Tensor, o: FusedAffineOptions, inverse: boolean): AffineShape {
  if (raw.shape.length !== 4 || x.shape.length !== 4) throw new Error('fusedAffine: expected raw [N,2C,h,w] and x [N,C,H,W]');
  const [N, C2, h, w] = raw.shape as [number, number, number, number];
  const C = C2 / 2;
  const [xn, xc, H, W] = x.shape as [number, number, number, number];
  if (xn !== N || xc !== C) throw new Error(`fusedAffine: raw [${raw.shape.join(', ')}] does not match x [${x.shape.join(', ')}]`);
  const volumeNorm = o.volumeNorm === 'cvn' ? 'cvn' : 'svn';
  return { batch: N, channels: C, height: h, width: w, outHeight: H, outWidth: W, clamp: o.clamp, volumeNorm, inverse };
}

/** The tail's forward kernel (either direction): the output, and the batch mean in training. */
function runTail(raw: Tensor, input: Tensor, s: AffineShape, o: FusedAffineOptions): { out: Tensor; batchMean: Tensor | null } {
  const batchMean = o.training ? new Tensor(s.volumeNorm === 'cvn' ? [1, 1, s.height, s.width] : [1, s.channels, 1, 1]) : null;
  const out = Tensor.uninitialized(input.shape);
  timed(s.inverse ? 'affine tail inverse' : 'affine tail forward', () =>
    backend().fusedAffineForward(raw.data, input.data, s, batchMean ? null : o.runningMean.data, out.data, batchMean?.data ?? null),
  );
  return { out, batchMean };
}

/**
 * The coupling's inverse x = (y - shift) / scale as one kernel, for untaped work (memory
 * saving's rebuild, latents to image); it equals the unfused chain bit for bit (tested). In
 * training, also the batch mean it normalised with (the forward's: it depends on raw only).
 */
export function fusedAffineInverse(raw: Tensor, y: Tensor, o: FusedAffineOptions): { x: Tensor; batchMean: Tensor | null } {
  const { out, batchMean } = runTail(raw, y, affineShape(raw, y, o, true), o);
  return { x: out, batchMean };
}

/** y = nearest(scale) * x + nearest(shift) from raw, differentiable for raw and x; and the batch mean in training. */
export function fusedAffine(raw: Tensor, x: Tensor, o: FusedAffineOptions): { y: Tensor; batchMean: Tensor | null } {
  const s = affineShape(raw, x, o, false);
  const { out: y, batchMean } = runTail(raw, x, s, o);
  recordTailBackward(y, raw, x, batchMean, s, o);
  return { y, batchMean };
}

/**
 * fusedAffine's op when its output is already known: memory saving's rebuild computed x from y
 * through the inverse (with `batchMean`, its batch mean in training), so the forward need not
 * run again. Records the same backward, which reads raw, x and the mean, not y; returns y's
 * values as the op's output.
 */
export function fusedAffineKnown(raw: Tensor, x: Tensor, y: Tensor, batchMean: Tensor | null, o: FusedAffineOptions): Tensor {
  const s = affineShape(raw, x, o, false);
  if (y.shape.join() !== x.shape.join()) throw new Error(`fusedAffineKnown: output [${y.shape.join(', ')}] for input [${x.shape.join(', ')}]`);
  if (o.training !== (batchMean !== null)) throw new Error('fusedAffineKnown: a batch mean in training, none in evaluation');
  const out = new Tensor(y.shape, y.data);
  recordTailBackward(out, raw, x, batchMean, s, o);
  return out;
}

/** The tail's backward for output y: the gradients of raw and x (the scale recomputed from raw and the mean). */
function recordTailBackward(y: Tensor, raw: Tensor, x: Tensor, batchMean: Tensor | null, s: AffineShape, o: FusedAffineOptions): void {
  const mean = batchMean ? batchMean.data : o.runningMean.data;
  recordOp(y, [raw, x], (gy) => {
    const gx = x.requiresGrad ? allocFloats(x.size, false) : null;
    const graw = allocFloats(raw.size, false);
    timed('affine tail backward', () => backend().fusedAffineBackward(gy, raw.data, x.data, mean, s, o.training, gx, graw));
    if (gx) accumulateGrad(x, gx);
    accumulateGrad(raw, graw);
  });
}
