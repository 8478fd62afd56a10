/**
 * The kernel interface: the only place where the model's heavy arithmetic leaves TypeScript.
 * Ops (src/tensor/ops/*.ts, the fused affine in ops/affine.ts among them) call these; backends (kernels/js,
 * kernels/wasm) implement them; kernels/index.ts installs one (setBackend, initBackend).
 *
 * What a backend (a new one too: a browser worker pool, WebGPU) must provide:
 * - Methods: all of KernelBackend. Optional: floatAllocator (without it no tensor is resident),
 *   conv2dBackward (without it the op calls conv2dGradInput, then conv2dGradWeight) and
 *   cacheFilters (without it, nothing is kept).
 * - Arrays: Float32Array, NCHW / OIHW, C order, possibly longer than the shape needs (the tail
 *   is ignored). Any argument is either a view of the backend's own memory (from its
 *   floatAllocator) or a plain array on the JS heap: the backend uses its own in place and
 *   copies the others in and out. Model state (weights, running means) is always on the heap
 *   and changes in place between calls: what a backend keeps across calls (cached filter
 *   spectra) it must tie to the values, not to the array.
 * - Every kernel overwrites all of its output, never reads it, and leaves its inputs unchanged;
 *   inputs and outputs do not overlap (addInto, in place, is the exception).
 * - floatAllocator (src/tensor/storage.ts): alloc() is called only inside a resident scope and
 *   returns an array of undefined contents, or null when the memory is full (the array then goes
 *   on the heap); free() comes when the scope that holds the array ends, or earlier (release),
 *   possibly after the array was filled with NaN (tests). An array stays valid and in place
 *   until freed, also when the memory grows (wasm: shared memory, whose views never detach).
 *   owns(a) tells the backend's arrays from others. It changes only with the backend
 *   (setBackend), never inside a scope.
 * - Calls are synchronous, from the one thread that owns the tensors, one at a time: a call
 *   returns with its outputs written. A backend may spread a call over threads of its own (wasm:
 *   a worker pool over one shared memory), but not return before they finish. (A device that can
 *   only answer asynchronously does not fit as it stands.)
 * - Determinism: the same inputs give the same bits, call after call, resident or on the heap
 *   (test/tensor/storage.test.ts; a resumed training ends bit-identical). A sum may be grouped
 *   by the backend's thread count (wasm: the svn means' partial sums), never by timing.
 * - Accuracy: the JS backend (kernels/js) is the reference: exact float64 Math.atan / Math.exp.
 *   Others match it to a tolerance (test/tensor/kernels/). The wasm backend approximates atan
 *   and exp with float32 polynomials (a few ulps); its softClamp and exp kernels use the very
 *   same arithmetic as its fused affine kernels, so that the unfused path (the inverse)
 *   reproduces the fused one's scale bit for bit: every backend must keep that.
 * - dispose() frees threads and memory; setBackend disposes the backend it replaces.
 */

import type { FloatAllocator } from '../storage.js';

/** A 'same' convolution: odd kernel k, stride 1, zero padding (k-1)/2, no bias. */
export interface ConvShape {
  batch: number;
  inChannels: number;
  outChannels: number;
  height: number;
  width: number;
  kernel: number;
}

/**
 * Geometry of the coupling's fused affine tail (src/tensor/ops/affine.ts):
 *   s     = clamp * 0.636 * atan(raw[:, :C] / clamp)                 (soft clamp)
 *   s'    = s - mean                                                 (volume normalisation)
 *   scale = exp(s'),  shift = raw[:, C:]
 *   y     = nearest(scale) * x + nearest(shift)                      (nearest when sizes differ)
 * raw is [N, 2C, h, w] (log-scale channels, then shift channels); x and y are [N, C, H, W].
 * With `inverse`, fusedAffineForward maps the other way: given y (in its x argument), it writes
 *   x     = (y - nearest(shift)) / nearest(scale)                    (float32 subtract, then divide)
 */
export interface AffineShape {
  batch: number;
  /** C: channels of x and y (raw has 2C). */
  channels: number;
  /** h, w: resolution of raw, scale and shift. */
  height: number;
  width: number;
  /** H, W: resolution of x and y (PyTorch 'nearest' from h, w when different). */
  outHeight: number;
  outWidth: number;
  /** Soft clamp bound (the official 2). */
  clamp: number;
  /**
   * Batch mean of s in training: 'cvn' per pixel over batch and channels (h*w values),
   * 'svn' per channel over batch and pixels (C values). Means are accumulated in float64.
   */
  volumeNorm: 'cvn' | 'svn';
  /** The coupling's inverse (memory saving, latents to image): x from y. */
  inverse?: boolean;
}

/** The elementwise binary operations of KernelBackend.binary. */
export type BinaryOp = 'add' | 'sub' | 'mul';

/** A LeakyReLU that follows a convolution (KernelBackend.conv2dBackward): its output and slope (> 0). */
export interface LeakyGradient {
  output: Float32Array;
  slope: number;
}

export interface KernelBackend {
  readonly name: string;
  /**
   * Allocator of arrays in the backend's own memory, which its kernels use without copying
   * (resident tensors, src/tensor/storage.ts); absent when every array is alike to it.
   */
  readonly floatAllocator?: FloatAllocator;
  /**
   * y[n,o,h,w] = sum_{i,a,b} w[o,i,a,b] * x[n,i,h+a-p,w+b-p] (cross-correlation, as PyTorch).
   * With leakySlope: y = LeakyReLU(that) (as leakyRelu, the same bits), which a backend may
   * apply as it stores the output instead of in a pass of its own.
   */
  conv2d(x: Float32Array, w: Float32Array, s: ConvShape, y: Float32Array, leakySlope?: number): void;
  /** dx[n,i,h,w] = sum_{o,a,b} w[o,i,a,b] * dy[n,o,h-a+p,w-b+p]: the gradient of conv2d for x. */
  conv2dGradInput(dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array): void;
  /** dw[o,i,a,b] = sum_{n,h,w} dy[n,o,h,w] * x[n,i,h+a-p,w+b-p]: the gradient of conv2d for w. */
  conv2dGradWeight(x: Float32Array, dy: Float32Array, s: ConvShape, dw: Float32Array): void;
  /**
   * Both gradients at once (dx as conv2dGradInput, dw as conv2dGradWeight): a backend that can
   * share work between them (the FFT of dy) implements it. With `leaky`, dy is the gradient of
   * LeakyReLU(conv2d(x, w)), whose output is leaky.output: the gradients are the convolution's
   * for leakyReluGrad(leaky.output, dy) (the same bits), which the backend may take as it reads dy.
   */
  conv2dBackward?(x: Float32Array, dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array, dw: Float32Array, leaky?: LeakyGradient): void;
  /**
   * Lets the backend keep work that depends on the weights only (FFT filter spectra) between
   * calls, up to `bytes` (0: off). Evaluation turns it on: every image runs the same weights.
   */
  cacheFilters?(bytes: number): void;

  /**
   * The fused affine tail, forward (see AffineShape). Training (`runningMean` null): s' = s -
   * the batch mean, which is written to `batchMean` (h*w values for cvn, C for svn, rounded to
   * float32 from a float64 sum). Evaluation: s' = s - runningMean, where runningMean has 1
   * value (a scalar, before the first training step), or h*w (cvn) or C (svn); `batchMean` is
   * not touched (may be null).
   */
  fusedAffineForward(
    raw: Float32Array,
    x: Float32Array,
    s: AffineShape,
    runningMean: Float32Array | null,
    y: Float32Array,
    batchMean: Float32Array | null,
  ): void;
  /**
   * Its gradient. `mean` is the mean the forward subtracted (its batchMean output in training,
   * else its runningMean); scale is recomputed from raw and mean, bit-identical to the forward.
   * `training`: the forward used the batch mean, so the gradient also flows through that mean.
   * Writes gx [N, C, H, W] (skipped when null) and graw [N, 2C, h, w].
   */
  fusedAffineBackward(
    gy: Float32Array,
    raw: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    s: AffineShape,
    training: boolean,
    gx: Float32Array | null,
    graw: Float32Array,
  ): void;
  /** y = clamp * 0.636 * atan(x / clamp) over the first n values (the fused tail's soft clamp). */
  softClamp(x: Float32Array, clamp: number, n: number, y: Float32Array): void;
  /** y = exp(x) over the first n values (the fused tail's exp). */
  exp(x: Float32Array, n: number, y: Float32Array): void;
  /** y = x > 0 ? x : slope * x over the first n values. */
  leakyRelu(x: Float32Array, slope: number, n: number, y: Float32Array): void;
  /** gx = x > 0 ? gy : slope * gy over the first n values (x: the forward's input). */
  leakyReluGrad(x: Float32Array, gy: Float32Array, slope: number, n: number, gx: Float32Array): void;
  /** acc += x over the first n values, in place (gradient accumulation; the exception to "outputs are not inputs"). */
  addInto(acc: Float32Array, x: Float32Array, n: number): void;
  /** out = a + b, a - b or a * b over the first n values (float32: one rounding, as JS's). */
  binary(op: BinaryOp, a: Float32Array, b: Float32Array, n: number, out: Float32Array): void;
  /**
   * Separable [1 4 6 4 1]/16 blur of `planes` planes of H x W, zero padding 2 (the depthwise 5x5
   * cross-correlation with outer(b, b)/256). Self-adjoint: it is also its own gradient.
   */
  blur(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void;
  /**
   * PyTorch's legacy 'nearest' resize of `planes` planes of H x W to outH x outW:
   * y[p, i, j] = x[p, ri[i], ci[j]] with ri[i] = min(floor(i * H / outH), H - 1) (nearestIndex).
   */
  nearest(x: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, y: Float32Array): void;
  /** Its gradient: gx[p, r, c] = sum of gy[p, i, j] over ri[i] = r, ci[j] = c (gx is H x W, zero where nothing maps). */
  nearestGrad(gy: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, gx: Float32Array): void;
  /**
   * 2x2 max pooling, stride 2, of `planes` planes of H x W (both even): y is H/2 x W/2. Of the
   * window (0,0), (0,1), (1,0), (1,1) the first maximum wins, except that a NaN replaces it (so
   * the last NaN, as PyTorch).
   */
  maxPool2(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void;
  /** Its gradient: gy to the element maxPool2 chose in each window (recomputed from x), zero elsewhere. */
  maxPool2Grad(x: Float32Array, gy: Float32Array, planes: number, height: number, width: number, gx: Float32Array): void;
  /**
   * One Adam update of parameter groups (optional: without it src/train/optim.ts runs its own
   * loop). Per value, in float64, stored to float32, exactly as that loop (the same bits):
   *   g' = fround(g * gradScale) + weightDecay * w   (the clipped gradient, as a float32 array holds it)
   *   m = beta1 * m + (1 - beta1) * g';  v = beta2 * v + ((1 - beta2) * g') * g'
   *   w  = w - (stepSize * m) / (sqrt(v) / bc2Sqrt + eps)        (m and v unrounded here)
   * w, m and v are updated in place (heap arrays: the exception to "outputs are not inputs").
   */
  adamStep?(groups: readonly AdamArrays[], h: AdamConstants): void;
  /**
   * The sum of squares, in float64, of the values of `arrays` taken in order as one sequence:
   * each chunk of SUM_OF_SQUARES_CHUNK values summed in order, then the chunks' sums in order
   * (optional: src/train/optim.ts gradNorm runs the same loop itself; the same bits).
   */
  sumOfSquares?(arrays: readonly Float32Array[]): number;
  /**
   * Per-pixel channel means of differences (optional: without it src/tensor/ops/reduce.ts runs
   * its own loops): for each pair p = (i, j) of `pairs`,
   *   out[p, k] = sum over c of f(u[i, c, k] - v[j, c, k]) / channels
   * with u [items, channels, pixels] and v [vItems, channels, pixels] (one v item: broadcast),
   * f = |d| ('abs') or d * d rounded to float32 ('square'); every difference and the sum (in
   * channel order) in float64, as those loops: the same bits.
   */
  channelDiffMean?(
    kind: 'abs' | 'square',
    u: Float32Array,
    v: Float32Array,
    vItems: number,
    pairs: readonly (readonly [number, number])[],
    channels: number,
    pixels: number,
    out: Float32Array,
  ): void;
  /**
   * The gradient of channelDiffMean('square') with u = v = a [items, channels, pixels], given
   * g [pairs, pixels]: ga (overwritten) = sum over pairs (i, j), in order, of +t at item i and
   * -t at item j, t = 2 * fround(g[p, k] * (1 / channels)) * (a[i] - a[j]), each addition rounded to
   * float32 (the same bits as the JS loop).
   */
  pairSquaredDiffMeanGrad?(
    a: Float32Array,
    g: Float32Array,
    items: number,
    pairs: readonly (readonly [number, number])[],
    channels: number,
    pixels: number,
    ga: Float32Array,
  ): void;
  /**
   * The Fourier loss's transforms for `planes` real planes of H x W, both powers of two
   * (optional: without them src/tensor/ops/fft.ts runs its own loops, whose bits these give).
   * Forward: spectra.re, .im [planes][H][W/2 + 1] (overwritten) = the planes' unit phases X/|X|
   * (0 where X = 0), rowSums [planes][H] = each spectrum row's sum of |X| over all W columns
   * (the mirrored ones counted twice). Twiddles and bit reversals come from `tables`.
   */
  fftLossForward?(x: Float32Array, planes: number, height: number, width: number, tables: FftTables, spectra: Spectra, rowSums: Float64Array): void;
  /**
   * Its gradient: gx (overwritten) = c * the unscaled inverse transform of the phases that
   * fftLossForward left in `spectra` (which it destroys).
   */
  fftLossBackward?(spectra: Spectra, planes: number, height: number, width: number, tables: FftTables, c: number, gx: Float32Array): void;
  /** Frees threads and memory; the backend is unusable afterwards. */
  dispose(): void;
}

/** Bit-reversal permutation and twiddles cos/sin(2 pi j / n), j < max(1, n / 2), of one power-of-two length n. */
export interface Radix2Table {
  rev: Int32Array;
  cos: Float64Array;
  sin: Float64Array;
}

/** The radix-2 tables of the Fourier loss's row (width) and column (height) transforms. */
export interface FftTables {
  width: Radix2Table;
  height: Radix2Table;
}

/** Complex float64 values, real and imaginary parts apart. */
export interface Spectra {
  re: Float64Array;
  im: Float64Array;
}

/** One parameter's arrays for KernelBackend.adamStep (all of one length). */
export interface AdamArrays {
  w: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** The step's constants of KernelBackend.adamStep (stepSize = lr / (1 - beta1^t), bc2Sqrt = sqrt(1 - beta2^t)). */
export interface AdamConstants {
  stepSize: number;
  bc2Sqrt: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The factor of gradient clipping (1: none). */
  gradScale: number;
}

/** Values per chunk of KernelBackend.sumOfSquares: its order of summation, part of its bits. */
export const SUM_OF_SQUARES_CHUNK = 8192;

export function convOutputSize(s: ConvShape): number {
  return s.batch * s.outChannels * s.height * s.width;
}

export function convInputSize(s: ConvShape): number {
  return s.batch * s.inChannels * s.height * s.width;
}

export function convWeightSize(s: ConvShape): number {
  return s.outChannels * s.inChannels * s.kernel * s.kernel;
}

/** Source index of each destination index for PyTorch's legacy 'nearest' mode: min(floor(d * in / out), in - 1). */
export function nearestIndex(outSize: number, inSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const s = inSize / outSize;
  for (let d = 0; d < outSize; d++) idx[d] = Math.min(Math.floor(d * s), inSize - 1);
  return idx;
}

/** Checks the sizes of an affine shape and returns its derived sizes. */
export function affineSizes(s: AffineShape): { hw: number; HW: number; planes: number; rawSize: number; xSize: number; meanSize: number; same: boolean } {
  const { batch: N, channels: C, height: h, width: w, outHeight: H, outWidth: W } = s;
  for (const v of [N, C, h, w, H, W]) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`bad affine shape ${JSON.stringify(s)}`);
  }
  if (!(s.clamp > 0)) throw new Error(`affine clamp must be positive, got ${s.clamp}`);
  const hw = h * w,
    HW = H * W,
    planes = N * C;
  return { hw, HW, planes, rawSize: 2 * planes * hw, xSize: planes * HW, meanSize: s.volumeNorm === 'cvn' ? hw : C, same: h === H && w === W };
}
