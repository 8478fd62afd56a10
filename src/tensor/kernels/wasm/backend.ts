/**
 * The WebAssembly backend: AssemblyScript kernels (assembly/) compiled to SIMD128 and relaxed
 * SIMD builds, run by a pool of worker threads over one shared memory. Calls are synchronous:
 * the work is split into tasks that every thread claims (pool.ts). Arrays that live in the
 * shared memory (resident tensors, src/tensor/storage.ts; allocated by heap.ts) are used in
 * place; any other input is copied in and any other output copied back.
 *
 * Two algorithms, chosen per pass and shape by a cost model (conv-plan.ts):
 * - direct: zero-padded copy of the input, register-blocked kernels (4 output channels x 8
 *   pixels); the gradient of the input is the same kernel with transposed, flipped weights.
 * - fft: overlap-save over T x T tiles (T = 16, 32 or 64, V = T - k + 1 outputs a side), 4
 *   tiles per vector. Forward and gradient of the input: filter spectra once per call, then
 *   per tile group the input spectra, per-frequency complex products across channels and
 *   inverse transforms (kept in the core's cache: "fused"). Gradient of the weights: input
 *   and output-gradient spectra of all tiles, products summed over tiles per frequency,
 *   one inverse transform per (o, c) filter. Both gradients at once (conv2dBackward, what
 *   training calls): the dy spectra serve both (assembly/fftgrad.ts). Forward filter spectra
 *   can be kept between calls for unchanged weights (cacheFilters: evaluation, memory saving).
 * All passes are checked against the JS reference in test/tensor/kernels/wasm.test.ts.
 *
 * The elementwise kernels (assembly/elementwise.ts, assembly/resample.ts: fused affine tail,
 * soft clamp, exp, LeakyReLU, blur, max pooling, nearest) are f32x4 loops split over the
 * threads by chunks, planes or bands of rows; atan and exp are float32 polynomials. Scratch
 * lives in per-call blocks of the same heap. Checked against the JS reference in
 * test/tensor/kernels/elementwise.test.ts.
 */
import { affineSizes, nearestIndex, type AffineShape, type BinaryOp, type ConvShape, type KernelBackend } from '../backend.js';
import type { FloatAllocator } from '../../storage.js';
import { nodePlatform, type Platform } from './platform.js';
import { ThreadPool, HEAP_OFFSET } from './pool.js';
import { Heap } from './heap.js';
import { chooseAlgorithm, chooseTile, fftTiles, type ConvAlgorithm, type ConvPass } from './conv-plan.js';
import { FftConvolutions } from './fft-conv.js';
import {
  KernelCalls, ceilTo, f32bits, K_PAD, K_CROP, K_WEIGHTS_DIRECT, K_CONV_DIRECT, K_GRADW_DIRECT,
  K_MAP, K_AFFINE, K_AFFINE_BACK, K_BLUR, K_NEAREST, K_NEAREST_GRAD, K_MAX_POOL, K_FMA_LOOP,
  MAP_EXP, MAP_SOFT_CLAMP, MAP_LEAKY, MAP_LEAKY_GRAD, MAP_ADD, MAP_SUB, MAP_MUL, A_SOFT, A_CVN, A_SVN, A_APPLY, A_SAME, A_HAVE_S, A_INVERSE,
} from './calls.js';

export interface WasmBackendOptions {
  /** Threads including the calling one; default: all logical processors. */
  threads?: number;
  /** Use the relaxed-SIMD (fused multiply-add) build where the runtime validates it (default true). */
  relaxedSimd?: boolean;
  /** Force one convolution algorithm (tests, benchmarks); default: chosen per shape. */
  algorithm?: ConvAlgorithm | 'auto';
  /** Host services; default: Node.js. */
  platform?: Platform;
}

export { chooseAlgorithm, chooseTile, estimateSeconds, fftTiles, type ConvAlgorithm, type ConvPass } from './conv-plan.js';
export { KERNEL_NAMES } from './calls.js';

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Bytes of input and output-gradient spectra per chunk of tiles in the weight gradient (16 MB: 5-10% faster than 8 at 128 and 256, 2 threads). */
const GRADW_CHUNK_BYTES = 16 << 20;
/** Bytes of the memory that resident tensors leave to the kernels' scratch (beyond it they go to the JS heap). */
const SCRATCH_RESERVE = 768 << 20;
/** Elements below which a copy / pad job stays on the calling thread. */
const PARALLEL_ELEMS = 1 << 17;
/** Work units per element of the kernels with atan and exp (about their cost relative to a copy). */
const TRANSCENDENTAL_WORK = 16;


/**
 * A plane stride (floats) for h x w planes walked together: one cache line more when h*w is a
 * multiple of 1 KiB, so that the same pixel of consecutive planes does not map to the same
 * few L1 cache sets.
 */
const planeStride = (h: number, w: number): number => h * w + ((h * w) % 256 === 0 ? 16 : 0);

export class WasmBackend implements KernelBackend {
  readonly name: string;
  readonly threads: number;
  readonly relaxedSimd: boolean;
  private readonly pool: ThreadPool;
  private readonly k: KernelCalls;
  private readonly fft: FftConvolutions;
  private readonly force: ConvAlgorithm | undefined;
  private disposed = false;

  constructor(memory: WebAssembly.Memory, pool: ThreadPool, relaxed: boolean, force: ConvAlgorithm | undefined, maxPages = MAX_PAGES) {
    this.pool = pool;
    this.k = new KernelCalls(memory, pool, new Heap(memory, HEAP_OFFSET, maxPages));
    this.fft = new FftConvolutions(this.k, this, this.tensorLimit());
    this.threads = pool.threads;
    this.relaxedSimd = relaxed;
    this.force = force;
    this.name = `wasm-${relaxed ? 'relaxed-simd' : 'simd'} x${pool.threads}`;
  }

  /** Resident tensors: arrays in the shared memory, which the kernels use without copies. */
  readonly floatAllocator: FloatAllocator = {
    alloc: (n) => {
      this.k.arena.reset(); // the last call's scratch is free room for tensors
      const p = this.k.heap.alloc(n * 4, this.tensorLimit());
      return p < 0 ? null : this.k.heap.floats(p, n);
    },
    free: (a) => this.k.heap.release(a.byteOffset),
    owns: (a) => this.k.heap.owns(a),
  };

  /**
   * Keeps forward FFT filter spectra between calls, up to `bytes` (0: off, the default, and
   * frees them). For evaluation, where every image runs the same weights, and the two forwards
   * of a memory-saving step: spectra are reused only for weights holding exactly the values
   * they were computed from (filter-cache.ts).
   */
  cacheFilters(bytes: number): void {
    this.k.arena.reset();
    this.fft.filters.clear(Math.max(0, bytes));
  }

  /** Cached filter spectra (tests). */
  get cachedFilters(): number {
    return this.fft.filters.size;
  }

  /** The byte below which tensors (and cached spectra) stay, leaving the kernels their scratch. */
  private tensorLimit(): number {
    return this.k.heap.limit - Math.min(SCRATCH_RESERVE, this.k.heap.limit / 4);
  }

  /** Bytes of the shared memory in use now (tensors; the last call's scratch is freed first) and at most so far. */
  memoryUse(): { inUse: number; peak: number; capacity: number } {
    this.k.arena.reset();
    return { inUse: this.k.heap.inUse, peak: this.k.heap.peak, capacity: this.k.heap.capacity };
  }

  /**
   * When set, accumulates wall milliseconds per kernel id (KERNEL_NAMES): a profiling aid for
   * benchmarks (`npm run bench -- kernels --profile`).
   */
  get profile(): Map<number, number> | undefined {
    return this.k.profile;
  }
  set profile(p: Map<number, number> | undefined) {
    this.k.profile = p;
  }

  /** The algorithm a pass of this shape runs with. */
  algorithm(pass: ConvPass, s: ConvShape): ConvAlgorithm {
    const forced = this.forceAlgorithm ?? this.force;
    if (forced === 'fft' && fftTiles(s.kernel).length > 0) return 'fft';
    if (forced === 'direct') return 'direct';
    return chooseAlgorithm(pass, s);
  }

  /** Overrides the per-shape choice (tests, benchmarks); undefined restores it. */
  forceAlgorithm: ConvAlgorithm | undefined;

  /** FFT forward/gradient-of-input job structure: per shape (auto), or forced (tests, benchmarks). */
  fftMode: 'auto' | 'fused' | 'separate' = 'auto';

  /** Bytes of spectra per chunk of tiles in the FFT weight gradient (tests, benchmarks). */
  gradWeightChunkBytes = GRADW_CHUNK_BYTES;

  /** Forces the FFT tile size (16, 32 or 64; tests); undefined: the cheapest by the cost model. */
  forceTile: number | undefined;

  /** FFT tile size used for a pass of a shape. */
  fftTile(pass: ConvPass, s: ConvShape): number {
    if (this.forceTile && this.forceTile - s.kernel + 1 >= 1) return this.forceTile;
    return chooseTile(pass, s);
  }

  conv2d(x: Float32Array, w: Float32Array, s: ConvShape, y: Float32Array): void {
    this.check(s);
    if (this.algorithm('forward', s) === 'fft') this.fft.convolve(x, w, s, y, 0);
    else this.convDirect(x, w, s, y, 0);
  }

  conv2dGradInput(dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array): void {
    this.check(s);
    if (this.algorithm('gradInput', s) === 'fft') this.fft.convolve(dy, w, s, dx, 1);
    else this.convDirect(dy, w, s, dx, 1);
  }

  conv2dGradWeight(x: Float32Array, dy: Float32Array, s: ConvShape, dw: Float32Array): void {
    this.check(s);
    if (this.algorithm('gradWeight', s) === 'fft') this.fft.gradWeight(x, dy, s, dw);
    else this.gradWeightDirect(x, dy, s, dw);
  }

  /**
   * Both gradients. By FFT (when both passes choose it with the same tile), dy is transformed
   * once for the two; otherwise the two passes run one after the other.
   */
  conv2dBackward(x: Float32Array, dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array, dw: Float32Array): void {
    this.check(s);
    if (this.algorithm('gradInput', s) === 'fft' && this.algorithm('gradWeight', s) === 'fft' &&
        this.fftTile('gradInput', s) === this.fftTile('gradWeight', s)) {
      this.fft.backward(x, dy, w, s, dx, dw);
      return;
    }
    this.conv2dGradInput(dy, w, s, dx);
    this.conv2dGradWeight(x, dy, s, dw);
  }

  /**
   * Vector multiply-adds per second that the threads deliver right now on a register-only loop
   * (assembly kind 20): `threads` tasks run at once, one per thread. Benchmarks compare their
   * kernels' scaling with this ceiling (a shared machine's cores are not always all there).
   */
  fmaRate(threads = this.threads, rounds = 20_000_000): number {
    this.live();
    const t0 = performance.now();
    this.k.run([K_FMA_LOOP, rounds], Math.min(threads, this.threads), Infinity);
    return (Math.min(threads, this.threads) * rounds * 8) / ((performance.now() - t0) / 1000);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
  }

  // ---------------------------------------------------------------------------------------
  // Elementwise kernels

  softClamp(x: Float32Array, clamp: number, n: number, y: Float32Array): void {
    this.map(MAP_SOFT_CLAMP, x, null, n, y, clamp * 0.636, 1 / clamp);
  }

  exp(x: Float32Array, n: number, y: Float32Array): void {
    this.map(MAP_EXP, x, null, n, y, 0, 0);
  }

  leakyRelu(x: Float32Array, slope: number, n: number, y: Float32Array): void {
    this.map(MAP_LEAKY, x, null, n, y, slope, 0);
  }

  leakyReluGrad(x: Float32Array, gy: Float32Array, slope: number, n: number, gx: Float32Array): void {
    this.map(MAP_LEAKY_GRAD, x, gy, n, gx, slope, 0);
  }

  addInto(acc: Float32Array, x: Float32Array, n: number): void {
    this.map(MAP_ADD, acc, x, n, acc, 0, 0);
  }

  binary(op: BinaryOp, a: Float32Array, b: Float32Array, n: number, out: Float32Array): void {
    this.map(op === 'add' ? MAP_ADD : op === 'sub' ? MAP_SUB : MAP_MUL, a, b, n, out, 0, 0);
  }

  /** dst = op(a[, b]) over n values, in chunks of a few thousand values a task (dst may be a: in place). */
  private map(op: number, a: Float32Array, b: Float32Array | null, n: number, dst: Float32Array, f0: number, f1: number): void {
    this.live();
    if (n <= 0) return;
    this.k.arena.reset();
    const ap = this.k.input(a, n), bp = b ? this.k.input(b, n) : 0;
    const dp = this.k.outputAt(dst, n);
    const transcendental = op === MAP_EXP || op === MAP_SOFT_CLAMP;
    const work = transcendental ? n * TRANSCENDENTAL_WORK : n;
    const chunk = this.chunk(n, transcendental ? 4096 : 16384);
    this.k.run([K_MAP, op, ap, bp, dp, n, chunk, f32bits(f0), f32bits(f1)], Math.ceil(n / chunk), work, PARALLEL_ELEMS);
    this.k.output(dp, dst, n);
  }

  /** A task size (multiple of 16 values) near `target`, small enough for 4 tasks a thread. */
  private chunk(n: number, target: number): number {
    const perThread = Math.ceil(n / (4 * this.threads));
    return ceilTo(Math.max(16, Math.min(target, perThread)), 16);
  }

  blur(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void {
    this.live();
    checkDims('blur', planes, height, width);
    const n = planes * height * width;
    const ar = this.k.arena;
    ar.reset();
    const xp = this.k.input(x, n), yp = this.k.outputAt(y, n);
    const per = ceilTo((width + 16) * 4 + 64, 64);
    const scratch = ar.floats((per * this.threads) / 4);
    const bands = Math.max(1, Math.min(height, Math.ceil((4 * this.threads) / planes)));
    const rows = Math.ceil(height / bands);
    this.k.run([K_BLUR, xp, yp, planes, height, width, rows, scratch, per], planes * Math.ceil(height / rows), n * 4, PARALLEL_ELEMS);
    this.k.output(yp, y, n);
  }

  nearest(x: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, y: Float32Array): void {
    this.live();
    checkDims('nearest', planes, height, width, outHeight, outWidth);
    const nIn = planes * height * width, nOut = planes * outHeight * outWidth;
    this.k.arena.reset();
    const xp = this.k.input(x, nIn), yp = this.k.outputAt(y, nOut);
    const tables = this.nearestTables(outHeight, height, outWidth, width, false);
    const ri = this.writeTables(tables);
    const bands = Math.max(1, Math.min(outHeight, Math.ceil((4 * this.threads) / planes)));
    let rows = Math.ceil(outHeight / bands);
    if (tables.mode === 1 && rows % 2) rows++; // keep the row pairs of 2x upsampling together
    this.k.run([K_NEAREST, xp, yp, planes, height, width, outHeight, outWidth, ri.ri, ri.ci, rows, tables.mode],
      planes * Math.ceil(outHeight / rows), nOut, PARALLEL_ELEMS);
    this.k.output(yp, y, nOut);
  }

  nearestGrad(gy: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, gx: Float32Array): void {
    this.live();
    checkDims('nearestGrad', planes, height, width, outHeight, outWidth);
    const nIn = planes * height * width, nOut = planes * outHeight * outWidth;
    this.k.arena.reset();
    const gp = this.k.input(gy, nOut), xp = this.k.outputAt(gx, nIn);
    const tables = this.nearestTables(outHeight, height, outWidth, width, true);
    const t = this.writeTables(tables);
    const bands = Math.max(1, Math.min(height, Math.ceil((4 * this.threads) / planes)));
    const rows = Math.ceil(height / bands);
    this.k.run([K_NEAREST_GRAD, gp, xp, planes, height, width, outHeight, outWidth, t.ri, t.ci, rows, tables.mode, t.rowStart],
      planes * Math.ceil(height / rows), nOut + nIn, PARALLEL_ELEMS);
    this.k.output(xp, gx, nIn);
  }

  maxPool2(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void {
    this.maxPool(x, null, planes, height, width, y);
  }

  maxPool2Grad(x: Float32Array, gy: Float32Array, planes: number, height: number, width: number, gx: Float32Array): void {
    this.maxPool(x, gy, planes, height, width, gx);
  }

  /** Forward (gy null: dst = the pooled x) or gradient (dst = gy routed to the maxima, H x W). */
  private maxPool(x: Float32Array, gy: Float32Array | null, planes: number, height: number, width: number, dst: Float32Array): void {
    this.live();
    checkDims('maxPool2', planes, height, width);
    if (height % 2 || width % 2) throw new Error(`maxPool2: size ${height}x${width} is not even`);
    const n = planes * height * width, nOut = n / 4;
    this.k.arena.reset();
    const xp = this.k.input(x, n), gyp = gy ? this.k.input(gy, nOut) : 0, dp = this.k.outputAt(dst, gy ? n : nOut);
    const h2 = height / 2;
    const bands = Math.max(1, Math.min(h2, Math.ceil((4 * this.threads) / planes)));
    const rows = Math.ceil(h2 / bands);
    this.k.run([K_MAX_POOL, xp, gy ? 0 : dp, gyp, gy ? dp : 0, planes, height, width, rows, gy ? 1 : 0],
      planes * Math.ceil(h2 / rows), n, PARALLEL_ELEMS);
    this.k.output(dp, dst, gy ? n : nOut);
  }

  /**
   * Index tables of a nearest resize from inH x inW to outH x outW (allocated in the arena, filled
   * by writeTables), and the kernel mode: 1 exact 2x up, 2 exact 2x down, 0 other.
   */
  private nearestTables(outH: number, inH: number, outW: number, inW: number, rowStart: boolean):
    { mode: number; ri: Int32Array; ci: Int32Array; rs: Int32Array | null; at: { ri: number; ci: number; rowStart: number } } {
    const ri = nearestIndex(outH, inH), ci = nearestIndex(outW, inW);
    const mode = outH === 2 * inH && outW === 2 * inW ? 1 : inH === 2 * outH && inW === 2 * outW ? 2 : 0;
    let rs: Int32Array | null = null;
    if (rowStart) {
      rs = new Int32Array(inH + 1);
      for (let r = 0, i = 0; r <= inH; r++) {
        while (i < outH && ri[i]! < r) i++;
        rs[r] = i;
      }
    }
    const a = this.k.arena;
    return { mode, ri, ci, rs, at: { ri: a.floats(outH), ci: a.floats(outW), rowStart: rs ? a.floats(inH + 1) : 0 } };
  }

  private writeTables(t: { ri: Int32Array; ci: Int32Array; rs: Int32Array | null; at: { ri: number; ci: number; rowStart: number } }):
    { ri: number; ci: number; rowStart: number } {
    const buf = this.k.buffer;
    new Int32Array(buf, t.at.ri, t.ri.length).set(t.ri);
    new Int32Array(buf, t.at.ci, t.ci.length).set(t.ci);
    if (t.rs) new Int32Array(buf, t.at.rowStart, t.rs.length).set(t.rs);
    return t.at;
  }

  /** Rows of the affine resolution per task: about 32 K values over all planes, 4 tasks a thread. */
  private affineRows(s: AffineShape): number {
    const { height: h, width: w } = s;
    const planes = s.batch * s.channels;
    const byCache = Math.max(1, Math.floor(32768 / (w * planes)));
    return Math.max(1, Math.min(byCache, Math.ceil(h / (4 * this.threads)), h));
  }

  fusedAffineForward(raw: Float32Array, x: Float32Array, s: AffineShape, runningMean: Float32Array | null,
    y: Float32Array, batchMean: Float32Array | null): void {
    this.live();
    const { hw, planes, rawSize, xSize, meanSize, same } = affineSizes(s);
    const training = runningMean === null;
    const cvn = s.volumeNorm === 'cvn';
    if (training && (!batchMean || batchMean.length < meanSize)) throw new Error(`fusedAffineForward: training needs a batchMean of ${meanSize} values`);
    if (runningMean && runningMean.length !== 1 && runningMean.length !== meanSize) {
      throw new Error(`fusedAffineForward: running mean of ${runningMean.length} values, expected 1 or ${meanSize}`);
    }
    if (y.length < xSize) throw new Error(`output array too short: ${y.length} < ${xSize}`);
    const rows = this.affineRows(s);
    const nb = Math.ceil(s.height / rows);
    const a = this.k.arena;
    a.reset();
    const rawP = this.k.input(raw, rawSize), xP = this.k.input(x, xSize), yP = this.k.outputAt(y, xSize);
    const sclP = training || !same ? a.floats(planes * hw) : 0;
    const meanP = a.floats(meanSize);
    const accP = training && cvn ? a.floats(2 * hw) : 0;
    const partP = training && !cvn ? a.floats(2 * nb * planes) : 0;
    const tables = same ? null : this.nearestTables(s.outHeight, s.height, s.outWidth, s.width, true);
    const t = tables ? this.writeTables(tables) : { ri: 0, ci: 0, rowStart: 0 };
    const meanKind = training ? (cvn ? 1 : 2) : runningMean!.length === 1 ? 0 : cvn ? 1 : 2;
    if (runningMean) this.k.put(meanP, runningMean, runningMean.length);
    const base = (same ? A_SAME : 0) | (s.inverse ? A_INVERSE : 0);
    const params = (flags: number): number[] => [K_AFFINE, rawP, xP, sclP, yP, meanP, accP, s.batch, s.channels, s.height, s.width,
      s.outHeight, s.outWidth, rows, flags | base | (meanKind << 4), f32bits(s.clamp * 0.636), f32bits(1 / s.clamp),
      t.ri, t.ci, t.rowStart, partP];
    const work = rawSize * TRANSCENDENTAL_WORK;
    if (!training) {
      this.k.run(params(A_APPLY), nb, work, PARALLEL_ELEMS);
    } else if (cvn) {
      this.k.run(params(A_SOFT | A_CVN | A_APPLY), nb, work, PARALLEL_ELEMS);
      this.k.get(meanP, batchMean!, meanSize);
    } else {
      this.k.run(params(A_SOFT | A_SVN), nb, work, PARALLEL_ELEMS);
      const mean = this.svnMeans(partP, nb, s, hw);
      this.k.f32(meanP, meanSize).set(mean);
      batchMean!.set(mean);
      this.k.run(params(A_HAVE_S | A_APPLY), nb, work, PARALLEL_ELEMS);
    }
    this.k.output(yP, y, xSize);
  }

  /** Per-channel means from per-(band, plane) float64 partial sums, rounded to float32. */
  private svnMeans(partP: number, nb: number, s: AffineShape, hw: number): Float32Array {
    const { batch: N, channels: C } = s;
    const part = new Float64Array(this.k.buffer, partP, nb * N * C);
    const out = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let n = 0; n < N; n++) for (let b = 0; b < nb; b++) acc += part[b * N * C + n * C + c]!;
      out[c] = acc / (N * hw);
    }
    return out;
  }

  fusedAffineBackward(gy: Float32Array, raw: Float32Array, x: Float32Array, mean: Float32Array, s: AffineShape,
    training: boolean, gx: Float32Array | null, graw: Float32Array): void {
    this.live();
    const { hw, planes, rawSize, xSize, meanSize, same } = affineSizes(s);
    const cvn = s.volumeNorm === 'cvn';
    if (mean.length !== 1 && mean.length !== meanSize) throw new Error(`fusedAffineBackward: mean of ${mean.length} values, expected 1 or ${meanSize}`);
    if (graw.length < rawSize) throw new Error(`output array too short: ${graw.length} < ${rawSize}`);
    if (gx && gx.length < xSize) throw new Error(`output array too short: ${gx.length} < ${xSize}`);
    const rows = this.affineRows(s);
    const nb = Math.ceil(s.height / rows);
    const a = this.k.arena;
    a.reset();
    const gyP = this.k.input(gy, xSize), rawP = this.k.input(raw, rawSize), xP = this.k.input(x, xSize);
    const gxP = gx ? this.k.outputAt(gx, xSize) : 0, grawP = this.k.outputAt(graw, rawSize);
    const sclP = same ? 0 : a.floats(planes * hw);
    const meanP = a.floats(meanSize), gmeanP = a.floats(meanSize);
    const accP = training && cvn ? a.floats(2 * hw) : 0;
    const partP = training && !cvn ? a.floats(2 * nb * planes) : 0;
    const tables = same ? null : this.nearestTables(s.outHeight, s.height, s.outWidth, s.width, true);
    const t = tables ? this.writeTables(tables) : { ri: 0, ci: 0, rowStart: 0 };
    this.k.put(meanP, mean, mean.length);
    const meanKind = mean.length === 1 ? 0 : cvn ? 1 : 2;
    const base = (same ? A_SAME : 0) | (meanKind << 4);
    const d = s.clamp * 0.636 * (1 / s.clamp);
    const params = (flags: number): number[] => [K_AFFINE_BACK, gyP, rawP, xP, sclP, gxP, grawP, meanP, accP, s.batch, s.channels,
      s.height, s.width, s.outHeight, s.outWidth, rows, flags | base, f32bits(s.clamp * 0.636), f32bits(1 / s.clamp),
      t.ri, t.ci, t.rowStart, partP, gmeanP, f32bits(d)];
    const work = rawSize * TRANSCENDENTAL_WORK;
    if (!training) {
      this.k.run(params(A_SOFT | A_APPLY), nb, work, PARALLEL_ELEMS);
    } else if (cvn) {
      this.k.run(params(A_SOFT | A_CVN | A_APPLY), nb, work, PARALLEL_ELEMS);
    } else {
      this.k.run(params(A_SOFT | A_SVN), nb, work, PARALLEL_ELEMS);
      this.k.f32(gmeanP, meanSize).set(this.svnMeans(partP, nb, s, hw));
      this.k.run(params(A_SVN | A_APPLY), nb, rawSize * 4, PARALLEL_ELEMS);
    }
    if (gx) this.k.output(gxP, gx, xSize);
    this.k.output(grawP, graw, rawSize);
  }

  private live(): void {
    if (this.disposed) throw new Error('wasm backend used after dispose()');
  }

  // ---------------------------------------------------------------------------------------

  private check(s: ConvShape): void {
    if (this.disposed) throw new Error('wasm backend used after dispose()');
    const { batch, inChannels, outChannels, height, width, kernel } = s;
    for (const v of [batch, inChannels, outChannels, height, width, kernel]) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`bad conv shape ${JSON.stringify(s)}`);
    }
    if (kernel % 2 !== 1) throw new Error(`conv kernel must be odd, got ${kernel}`);
  }

  /** Copies planes [N][C][H][W] to [N][Cd][Hd][Wd] (plane stride `plane`) at (ty, tx), zero elsewhere. */
  private pad(src: number, dst: number, N: number, C: number, Cd: number, H: number, W: number,
              Hd: number, Wd: number, ty: number, tx: number, plane: number): void {
    this.k.run([K_PAD, src, dst, N, C, Cd, H, W, Hd, Wd, ty, tx, plane], N * Cd, N * Cd * Hd * Wd, PARALLEL_ELEMS);
  }

  /**
   * Direct convolution. mode 0: y = conv2d(x, w) with x [N][C], y [N][O].
   * mode 1: dx = conv2dGradInput(dy, w): the same kernel over dy [N][O] with the weights
   * transposed and flipped, output [N][C].
   */
  private convDirect(xa: Float32Array, wa: Float32Array, s: ConvShape, ya: Float32Array, mode: 0 | 1): void {
    const { batch: N, height: H, width: W, kernel: K } = s;
    const Cin = mode === 0 ? s.inChannels : s.outChannels;
    const Cout = mode === 0 ? s.outChannels : s.inChannels;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const Wq = ceilTo(W, 8), Wp = Wq + K - 1, Hp = H + K - 1, Oq = ceilTo(Cout, 4);
    // A 1x1 convolution reads the input as it is: no padded copy (nor the cache-set spacing).
    const noPad = K === 1 && Wq === W;
    const planeX = noPad ? H * W : planeStride(Hp, Wp), planeY = noPad ? H * W : planeStride(H, Wq);
    const inLen = N * Cin * H * W, outLen = N * Cout * H * W, wLen = s.outChannels * s.inChannels * KK;
    const direct = Wq === W && Oq === Cout && planeY === H * Wq;
    const a = this.k.arena;
    a.reset();
    const xin = this.k.input(xa, inLen);
    const xp = noPad ? xin : a.floats(N * Cin * planeX);
    const win = this.k.input(wa, wLen);
    const wr = a.floats(Oq * Cin * KK);
    const yout = this.k.outputAt(ya, outLen);
    const yq = direct ? yout : a.floats(N * Oq * planeY);
    const taps = a.floats(Cin * KK);
    if (!noPad) this.pad(xin, xp, N, Cin, Cin, H, W, Hp, Wp, p, p, planeX);
    this.k.run([K_WEIGHTS_DIRECT, win, wr, s.outChannels, s.inChannels, K, mode], Oq >> 2, wLen * 8);
    const flops = 2 * N * H * Wq * Cin * Oq * KK;
    const rowsTotal = N * (Oq >> 2) * H;
    const band = Math.max(1, Math.min(H, Math.ceil(rowsTotal / (this.threads * 12))));
    const nBands = Math.ceil(H / band);
    // input channels per pass: their K rows (about 24 KiB) stay in the L1 cache
    const CC = Math.max(1, Math.min(Cin, Math.floor(24576 / (K * Wp * 4))));
    const tapView = new Int32Array(this.k.buffer, taps, Cin * KK);
    for (let c = 0, i = 0; c < Cin; c++) {
      for (let ka = 0; ka < K; ka++) for (let kb = 0; kb < K; kb++) tapView[i++] = (c * planeX + ka * Wp + kb) * 4;
    }
    this.k.run([K_CONV_DIRECT, xp, wr, yq, N, Cin, Oq, H, Wq, Hp, Wp, K, band, CC, taps, planeX, planeY], N * (Oq >> 2) * nBands, flops);
    if (!direct) {
      this.k.run([K_CROP, yq, yout, N, Oq, Cout, H, Wq, W, planeY], N * Cout, outLen, PARALLEL_ELEMS);
    }
    this.k.output(yout, ya, outLen);
  }

  private gradWeightDirect(xa: Float32Array, dya: Float32Array, s: ConvShape, dwa: Float32Array): void {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const Wq = ceilTo(W, 8), Wp = Wq + K - 1, Hp = H + K - 1, Oq = ceilTo(O, 4);
    // 1x1: the inputs as they are (the kernel's extra tap column reads one value past a row: heap slack)
    const noPad = K === 1 && Wq === W;
    const planeX = noPad ? H * W : planeStride(Hp, Wp), planeY = noPad ? H * W : planeStride(H, Wq);
    const xLen = N * C * H * W, dyLen = N * O * H * W, wLen = O * C * KK;
    const a = this.k.arena;
    a.reset();
    const xin = this.k.input(xa, xLen);
    const xp = noPad ? xin : a.floats(N * C * planeX);
    const dyin = this.k.input(dya, dyLen);
    const dyAsIs = noPad && Oq === O;
    const dyq = dyAsIs ? dyin : a.floats(N * Oq * planeY);
    const ntasks = (Oq >> 2) * C;
    const acc = a.floats(ntasks * 4 * K * (K + 1) * 4);
    const dw = this.k.outputAt(dwa, wLen);
    if (!noPad) this.pad(xin, xp, N, C, C, H, W, Hp, Wp, p, p, planeX);
    if (!dyAsIs) this.pad(dyin, dyq, N, O, Oq, H, W, H, Wq, 0, 0, planeY);
    const rows = Math.max(1, Math.floor(32768 / (4 * (4 * Wq + Wp))));
    const flops = 2 * N * H * Wq * C * Oq * K * (K + 1);
    this.k.run([K_GRADW_DIRECT, xp, dyq, dw, N, C, O, Oq, H, Wq, Hp, Wp, K, rows, acc, planeX, planeY], ntasks, flops);
    this.k.output(dw, dwa, wLen);
  }
}

function checkDims(what: string, ...dims: number[]): void {
  for (const v of dims) if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: bad size ${v}`);
}

/** Compiles the kernels, starts the worker threads and returns the backend. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const platform = opts.platform ?? (await nodePlatform());
  const threads = Math.max(1, Math.floor(opts.threads ?? platform.cpuCount()));
  let relaxed = false;
  let module: WebAssembly.Module | undefined;
  if (opts.relaxedSimd !== false) {
    try {
      platform.enableRelaxedSimd();
      const bytes = await platform.loadWasm('kernels-relaxed.wasm');
      if (WebAssembly.validate(bytes)) {
        module = await WebAssembly.compile(bytes);
        relaxed = true;
      }
    } catch {
      module = undefined;
    }
  }
  if (!module) module = await WebAssembly.compile(await platform.loadWasm('kernels-simd.wasm'));
  const initial = Math.ceil(HEAP_OFFSET / PAGE) + 16;
  let memory: WebAssembly.Memory;
  let maxPages = MAX_PAGES;
  try {
    memory = new WebAssembly.Memory({ initial, maximum: maxPages, shared: true });
  } catch {
    maxPages = 16384;
    memory = new WebAssembly.Memory({ initial, maximum: maxPages, shared: true });
  }
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const runTask = instance.exports.runTask as (job: number, task: number, thread: number) => void;
  (instance.exports.initTables as () => void)();
  const pool = await ThreadPool.create(platform, module, memory, runTask, threads, relaxed);
  const force = opts.algorithm && opts.algorithm !== 'auto' ? opts.algorithm : undefined;
  return new WasmBackend(memory, pool, relaxed, force, maxPages);
}
