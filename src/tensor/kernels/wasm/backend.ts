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
 *   one inverse transform per (o, c) filter.
 * All three passes are checked against the JS reference in test/tensor/kernels/wasm.test.ts.
 *
 * The elementwise kernels (assembly/elementwise.ts, assembly/resample.ts: fused affine tail,
 * soft clamp, exp, LeakyReLU, blur, max pooling, nearest) are f32x4 loops split over the
 * threads by chunks, planes or bands of rows; atan and exp are float32 polynomials. Scratch
 * lives in per-call blocks of the same heap. Checked against the JS reference in
 * test/tensor/kernels/elementwise.test.ts.
 */
import { affineSizes, nearestIndex, type AffineShape, type ConvShape, type KernelBackend } from '../backend.js';
import type { FloatAllocator } from '../../storage.js';
import { nodePlatform, type Platform } from './platform.js';
import { ThreadPool, HEAP_OFFSET } from './pool.js';
import { Heap } from './heap.js';
import { chooseAlgorithm, chooseTile, fftPlan, fftTiles, slotCount, type ConvAlgorithm, type ConvPass, type FftPlan } from './conv-plan.js';
import { FilterCache, type FilterKey } from './filter-cache.js';

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

// Kernel ids (assembly/index.ts).
const K_PAD = 1, K_CROP = 2, K_WEIGHTS_DIRECT = 3, K_CONV_DIRECT = 4, K_GRADW_DIRECT = 5;
const K_FFT_INPUT = 6, K_FFT_FILTER = 7, K_FFT_CONV = 8, K_FFT_GRADW = 9, K_FFT_GRADW_INV = 10, K_FFT_FUSED = 11;
const K_MAP = 12, K_AFFINE = 13, K_AFFINE_BACK = 14, K_BLUR = 15, K_NEAREST = 16, K_NEAREST_GRAD = 17, K_MAX_POOL = 18;
const K_FFT_BACKWARD = 19;
// K_MAP operations and the affine jobs' flags (assembly/elementwise.ts)
const MAP_EXP = 0, MAP_SOFT_CLAMP = 1, MAP_LEAKY = 2, MAP_LEAKY_GRAD = 3, MAP_ADD = 4;
const A_SOFT = 1, A_CVN = 2, A_SVN = 4, A_APPLY = 8, A_SAME = 64, A_HAVE_S = 128, A_INVERSE = 256;

/** Names of the kernel ids, for profiles. */
export const KERNEL_NAMES: Record<number, string> = {
  [K_PAD]: 'pad', [K_CROP]: 'crop', [K_WEIGHTS_DIRECT]: 'weights', [K_CONV_DIRECT]: 'direct', [K_GRADW_DIRECT]: 'direct-dw',
  [K_FFT_INPUT]: 'fft-input', [K_FFT_FILTER]: 'fft-filters', [K_FFT_CONV]: 'fft-products', [K_FFT_GRADW]: 'fft-dw-products',
  [K_FFT_GRADW_INV]: 'fft-dw-inverse', [K_FFT_FUSED]: 'fft-fused',
  [K_MAP]: 'map', [K_AFFINE]: 'affine', [K_AFFINE_BACK]: 'affine-backward', [K_BLUR]: 'blur', [K_NEAREST]: 'nearest',
  [K_NEAREST_GRAD]: 'nearest-grad', [K_MAX_POOL]: 'max-pool', [K_FFT_BACKWARD]: 'fft-backward',
};

const f32bits = (v: number): number => {
  const b = new Float32Array([v]);
  return new Int32Array(b.buffer)[0]!;
};

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Work (flops) below which a kernel stays on the calling thread: waking workers costs more. */
const PARALLEL_FLOPS = 4e6;
/** Bytes of input and output-gradient spectra per chunk of tiles in the weight gradient. */
const GRADW_CHUNK_BYTES = 8 << 20;
/** Bytes of the memory that resident tensors leave to the kernels' scratch (beyond it they go to the JS heap). */
const SCRATCH_RESERVE = 768 << 20;
/** Elements below which a copy / pad job stays on the calling thread. */
const PARALLEL_ELEMS = 1 << 17;
/** Work units per element of the kernels with atan and exp (about their cost relative to a copy). */
const TRANSCENDENTAL_WORK = 16;

const ceilTo = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * A plane stride (floats) for h x w planes walked together: one cache line more when h*w is a
 * multiple of 1 KiB, so that the same pixel of consecutive planes does not map to the same
 * few L1 cache sets.
 */
const planeStride = (h: number, w: number): number => h * w + ((h * w) % 256 === 0 ? 16 : 0);

/** A kernel call's scratch: heap blocks, all freed at the next call (or the next tensor allocation). */
class Arena {
  private readonly blocks: number[] = [];
  constructor(private readonly heap: Heap) {}
  reset(): void {
    for (const b of this.blocks) this.heap.release(b);
    this.blocks.length = 0;
  }
  /** Byte offset of room for `floats` float32 values (64-byte aligned, slack for over-reading vector loads). */
  floats(floats: number): number {
    const p = this.heap.alloc(floats * 4);
    this.blocks.push(p);
    return p;
  }
}

export class WasmBackend implements KernelBackend {
  readonly name: string;
  readonly threads: number;
  readonly relaxedSimd: boolean;
  private readonly memory: WebAssembly.Memory;
  private readonly pool: ThreadPool;
  private readonly heap: Heap;
  private readonly arena: Arena;
  private readonly filters: FilterCache;
  private readonly force: ConvAlgorithm | undefined;
  private disposed = false;

  constructor(memory: WebAssembly.Memory, pool: ThreadPool, relaxed: boolean, force: ConvAlgorithm | undefined, maxPages = MAX_PAGES) {
    this.memory = memory;
    this.pool = pool;
    this.heap = new Heap(memory, HEAP_OFFSET, maxPages);
    this.arena = new Arena(this.heap);
    this.filters = new FilterCache(this.heap);
    this.threads = pool.threads;
    this.relaxedSimd = relaxed;
    this.force = force;
    this.name = `wasm-${relaxed ? 'relaxed-simd' : 'simd'} x${pool.threads}`;
  }

  /** Resident tensors: arrays in the shared memory, which the kernels use without copies. */
  readonly floatAllocator: FloatAllocator = {
    alloc: (n) => {
      this.arena.reset(); // the last call's scratch is free room for tensors
      const p = this.heap.alloc(n * 4, this.tensorLimit());
      return p < 0 ? null : this.heap.floats(p, n);
    },
    free: (a) => this.heap.release(a.byteOffset),
    owns: (a) => this.heap.owns(a),
  };

  /**
   * Keeps forward FFT filter spectra between calls, up to `bytes` (0: off, the default, and
   * frees them). For evaluation, where every image runs the same weights, and the two forwards
   * of a memory-saving step: spectra are reused only for weights holding exactly the values
   * they were computed from (filter-cache.ts).
   */
  cacheFilters(bytes: number): void {
    this.arena.reset();
    this.filters.clear(Math.max(0, bytes));
  }

  /** Cached filter spectra (tests). */
  get cachedFilters(): number {
    return this.filters.size;
  }

  /** The byte below which tensors (and cached spectra) stay, leaving the kernels their scratch. */
  private tensorLimit(): number {
    return this.heap.limit - Math.min(SCRATCH_RESERVE, this.heap.limit / 4);
  }

  /** Bytes of the shared memory in use now (tensors; the last call's scratch is freed first) and at most so far. */
  memoryUse(): { inUse: number; peak: number; capacity: number } {
    this.arena.reset();
    return { inUse: this.heap.inUse, peak: this.heap.peak, capacity: this.heap.capacity };
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
    if (this.algorithm('forward', s) === 'fft') this.convFft(x, w, s, y, 0);
    else this.convDirect(x, w, s, y, 0);
  }

  conv2dGradInput(dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array): void {
    this.check(s);
    if (this.algorithm('gradInput', s) === 'fft') this.convFft(dy, w, s, dx, 1);
    else this.convDirect(dy, w, s, dx, 1);
  }

  conv2dGradWeight(x: Float32Array, dy: Float32Array, s: ConvShape, dw: Float32Array): void {
    this.check(s);
    if (this.algorithm('gradWeight', s) === 'fft') this.gradWeightFft(x, dy, s, dw);
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
      this.backwardFft(x, dy, w, s, dx, dw);
      return;
    }
    this.conv2dGradInput(dy, w, s, dx);
    this.conv2dGradWeight(x, dy, s, dw);
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

  /** dst = op(a[, b]) over n values, in chunks of a few thousand values a task (dst may be a: in place). */
  private map(op: number, a: Float32Array, b: Float32Array | null, n: number, dst: Float32Array, f0: number, f1: number): void {
    this.live();
    if (n <= 0) return;
    this.arena.reset();
    const ap = this.input(a, n), bp = b ? this.input(b, n) : 0;
    const dp = this.outputAt(dst, n);
    const transcendental = op === MAP_EXP || op === MAP_SOFT_CLAMP;
    const work = transcendental ? n * TRANSCENDENTAL_WORK : n;
    const chunk = this.chunk(n, transcendental ? 4096 : 16384);
    this.run([K_MAP, op, ap, bp, dp, n, chunk, f32bits(f0), f32bits(f1)], Math.ceil(n / chunk), work, PARALLEL_ELEMS);
    this.output(dp, dst, n);
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
    const ar = this.arena;
    ar.reset();
    const xp = this.input(x, n), yp = this.outputAt(y, n);
    const per = ceilTo((width + 16) * 4 + 64, 64);
    const scratch = ar.floats((per * this.threads) / 4);
    const bands = Math.max(1, Math.min(height, Math.ceil((4 * this.threads) / planes)));
    const rows = Math.ceil(height / bands);
    this.run([K_BLUR, xp, yp, planes, height, width, rows, scratch, per], planes * Math.ceil(height / rows), n * 4, PARALLEL_ELEMS);
    this.output(yp, y, n);
  }

  nearest(x: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, y: Float32Array): void {
    this.live();
    checkDims('nearest', planes, height, width, outHeight, outWidth);
    const nIn = planes * height * width, nOut = planes * outHeight * outWidth;
    this.arena.reset();
    const xp = this.input(x, nIn), yp = this.outputAt(y, nOut);
    const tables = this.nearestTables(outHeight, height, outWidth, width, false);
    const ri = this.writeTables(tables);
    const bands = Math.max(1, Math.min(outHeight, Math.ceil((4 * this.threads) / planes)));
    let rows = Math.ceil(outHeight / bands);
    if (tables.mode === 1 && rows % 2) rows++; // keep the row pairs of 2x upsampling together
    this.run([K_NEAREST, xp, yp, planes, height, width, outHeight, outWidth, ri.ri, ri.ci, rows, tables.mode],
      planes * Math.ceil(outHeight / rows), nOut, PARALLEL_ELEMS);
    this.output(yp, y, nOut);
  }

  nearestGrad(gy: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, gx: Float32Array): void {
    this.live();
    checkDims('nearestGrad', planes, height, width, outHeight, outWidth);
    const nIn = planes * height * width, nOut = planes * outHeight * outWidth;
    this.arena.reset();
    const gp = this.input(gy, nOut), xp = this.outputAt(gx, nIn);
    const tables = this.nearestTables(outHeight, height, outWidth, width, true);
    const t = this.writeTables(tables);
    const bands = Math.max(1, Math.min(height, Math.ceil((4 * this.threads) / planes)));
    const rows = Math.ceil(height / bands);
    this.run([K_NEAREST_GRAD, gp, xp, planes, height, width, outHeight, outWidth, t.ri, t.ci, rows, tables.mode, t.rowStart],
      planes * Math.ceil(height / rows), nOut + nIn, PARALLEL_ELEMS);
    this.output(xp, gx, nIn);
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
    this.arena.reset();
    const xp = this.input(x, n), gyp = gy ? this.input(gy, nOut) : 0, dp = this.outputAt(dst, gy ? n : nOut);
    const h2 = height / 2;
    const bands = Math.max(1, Math.min(h2, Math.ceil((4 * this.threads) / planes)));
    const rows = Math.ceil(h2 / bands);
    this.run([K_MAX_POOL, xp, gy ? 0 : dp, gyp, gy ? dp : 0, planes, height, width, rows, gy ? 1 : 0],
      planes * Math.ceil(h2 / rows), n, PARALLEL_ELEMS);
    this.output(dp, dst, gy ? n : nOut);
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
    const a = this.arena;
    return { mode, ri, ci, rs, at: { ri: a.floats(outH), ci: a.floats(outW), rowStart: rs ? a.floats(inH + 1) : 0 } };
  }

  private writeTables(t: { ri: Int32Array; ci: Int32Array; rs: Int32Array | null; at: { ri: number; ci: number; rowStart: number } }):
    { ri: number; ci: number; rowStart: number } {
    const buf = this.memory.buffer;
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
    const a = this.arena;
    a.reset();
    const rawP = this.input(raw, rawSize), xP = this.input(x, xSize), yP = this.outputAt(y, xSize);
    const sclP = training || !same ? a.floats(planes * hw) : 0;
    const meanP = a.floats(meanSize);
    const accP = training && cvn ? a.floats(2 * hw) : 0;
    const partP = training && !cvn ? a.floats(2 * nb * planes) : 0;
    const tables = same ? null : this.nearestTables(s.outHeight, s.height, s.outWidth, s.width, true);
    const t = tables ? this.writeTables(tables) : { ri: 0, ci: 0, rowStart: 0 };
    const meanKind = training ? (cvn ? 1 : 2) : runningMean!.length === 1 ? 0 : cvn ? 1 : 2;
    if (runningMean) this.put(meanP, runningMean, runningMean.length);
    const base = (same ? A_SAME : 0) | (s.inverse ? A_INVERSE : 0);
    const params = (flags: number): number[] => [K_AFFINE, rawP, xP, sclP, yP, meanP, accP, s.batch, s.channels, s.height, s.width,
      s.outHeight, s.outWidth, rows, flags | base | (meanKind << 4), f32bits(s.clamp * 0.636), f32bits(1 / s.clamp),
      t.ri, t.ci, t.rowStart, partP];
    const work = rawSize * TRANSCENDENTAL_WORK;
    if (!training) {
      this.run(params(A_APPLY), nb, work, PARALLEL_ELEMS);
    } else if (cvn) {
      this.run(params(A_SOFT | A_CVN | A_APPLY), nb, work, PARALLEL_ELEMS);
      this.get(meanP, batchMean!, meanSize);
    } else {
      this.run(params(A_SOFT | A_SVN), nb, work, PARALLEL_ELEMS);
      const mean = this.svnMeans(partP, nb, s, hw);
      this.f32(meanP, meanSize).set(mean);
      batchMean!.set(mean);
      this.run(params(A_HAVE_S | A_APPLY), nb, work, PARALLEL_ELEMS);
    }
    this.output(yP, y, xSize);
  }

  /** Per-channel means from per-(band, plane) float64 partial sums, rounded to float32. */
  private svnMeans(partP: number, nb: number, s: AffineShape, hw: number): Float32Array {
    const { batch: N, channels: C } = s;
    const part = new Float64Array(this.memory.buffer, partP, nb * N * C);
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
    const a = this.arena;
    a.reset();
    const gyP = this.input(gy, xSize), rawP = this.input(raw, rawSize), xP = this.input(x, xSize);
    const gxP = gx ? this.outputAt(gx, xSize) : 0, grawP = this.outputAt(graw, rawSize);
    const sclP = same ? 0 : a.floats(planes * hw);
    const meanP = a.floats(meanSize), gmeanP = a.floats(meanSize);
    const accP = training && cvn ? a.floats(2 * hw) : 0;
    const partP = training && !cvn ? a.floats(2 * nb * planes) : 0;
    const tables = same ? null : this.nearestTables(s.outHeight, s.height, s.outWidth, s.width, true);
    const t = tables ? this.writeTables(tables) : { ri: 0, ci: 0, rowStart: 0 };
    this.put(meanP, mean, mean.length);
    const meanKind = mean.length === 1 ? 0 : cvn ? 1 : 2;
    const base = (same ? A_SAME : 0) | (meanKind << 4);
    const d = s.clamp * 0.636 * (1 / s.clamp);
    const params = (flags: number): number[] => [K_AFFINE_BACK, gyP, rawP, xP, sclP, gxP, grawP, meanP, accP, s.batch, s.channels,
      s.height, s.width, s.outHeight, s.outWidth, rows, flags | base, f32bits(s.clamp * 0.636), f32bits(1 / s.clamp),
      t.ri, t.ci, t.rowStart, partP, gmeanP, f32bits(d)];
    const work = rawSize * TRANSCENDENTAL_WORK;
    if (!training) {
      this.run(params(A_SOFT | A_APPLY), nb, work, PARALLEL_ELEMS);
    } else if (cvn) {
      this.run(params(A_SOFT | A_CVN | A_APPLY), nb, work, PARALLEL_ELEMS);
    } else {
      this.run(params(A_SOFT | A_SVN), nb, work, PARALLEL_ELEMS);
      this.f32(gmeanP, meanSize).set(this.svnMeans(partP, nb, s, hw));
      this.run(params(A_SVN | A_APPLY), nb, rawSize * 4, PARALLEL_ELEMS);
    }
    if (gx) this.output(gxP, gx, xSize);
    this.output(grawP, graw, rawSize);
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

  private f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  /** Offset of x's first n values in the shared memory: x itself when resident, else a scratch copy. */
  private input(x: Float32Array, n: number): number {
    if (x.length < n) throw new Error(`array too short: ${x.length} < ${n}`);
    if (this.heap.owns(x)) return x.byteOffset;
    const p = this.arena.floats(n);
    this.put(p, x, n);
    return p;
  }

  /** Offset a kernel writes y's n values to: y itself when resident, else scratch (see output()). */
  private outputAt(y: Float32Array, n: number): number {
    if (y.length < n) throw new Error(`output array too short: ${y.length} < ${n}`);
    return this.heap.owns(y) ? y.byteOffset : this.arena.floats(n);
  }

  /** Copies a result written at `offset` into y unless it was written there in place. */
  private output(offset: number, y: Float32Array, n: number): void {
    if (!this.heap.owns(y) || offset !== y.byteOffset) this.get(offset, y, n);
  }

  private put(offset: number, a: Float32Array, length: number): void {
    if (a.length < length) throw new Error(`array too short: ${a.length} < ${length}`);
    this.f32(offset, length).set(length === a.length ? a : a.subarray(0, length));
  }

  private get(offset: number, out: Float32Array, length: number): void {
    if (out.length < length) throw new Error(`output array too short: ${out.length} < ${length}`);
    out.set(this.f32(offset, length));
  }

  /** Copies elements [from, from + length) of the float array at `offset` into out[from ...]. */
  private getRange(offset: number, out: Float32Array, from: number, length: number): void {
    out.set(this.f32(offset + from * 4, length), from);
  }

  /**
   * When set, accumulates wall milliseconds per kernel id (KERNEL_NAMES): a profiling aid for
   * benchmarks (`npm run bench -- kernels --profile`).
   */
  profile: Map<number, number> | undefined;

  /**
   * Runs a job over the pool; `meanwhile` (copies) runs on this thread while the workers start.
   * Jobs with less than `threshold` work stay on this thread.
   */
  private run(params: number[], ntasks: number, work: number, threshold = PARALLEL_FLOPS, meanwhile?: () => void): void {
    if (!this.profile) {
      this.pool.run(params, ntasks, work >= threshold, meanwhile);
      return;
    }
    const t0 = performance.now();
    this.pool.run(params, ntasks, work >= threshold, meanwhile);
    const k = params[0]!;
    this.profile.set(k, (this.profile.get(k) ?? 0) + performance.now() - t0);
  }

  /** Copies planes [N][C][H][W] to [N][Cd][Hd][Wd] (plane stride `plane`) at (ty, tx), zero elsewhere. */
  private pad(src: number, dst: number, N: number, C: number, Cd: number, H: number, W: number,
              Hd: number, Wd: number, ty: number, tx: number, plane: number): void {
    this.run([K_PAD, src, dst, N, C, Cd, H, W, Hd, Wd, ty, tx, plane], N * Cd, N * Cd * Hd * Wd, PARALLEL_ELEMS);
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
    const a = this.arena;
    a.reset();
    const xin = this.input(xa, inLen);
    const xp = noPad ? xin : a.floats(N * Cin * planeX);
    const win = this.input(wa, wLen);
    const wr = a.floats(Oq * Cin * KK);
    const yout = this.outputAt(ya, outLen);
    const yq = direct ? yout : a.floats(N * Oq * planeY);
    const taps = a.floats(Cin * KK);
    if (!noPad) this.pad(xin, xp, N, Cin, Cin, H, W, Hp, Wp, p, p, planeX);
    this.run([K_WEIGHTS_DIRECT, win, wr, s.outChannels, s.inChannels, K, mode], Oq >> 2, wLen * 8);
    const flops = 2 * N * H * Wq * Cin * Oq * KK;
    const rowsTotal = N * (Oq >> 2) * H;
    const band = Math.max(1, Math.min(H, Math.ceil(rowsTotal / (this.threads * 12))));
    const nBands = Math.ceil(H / band);
    // input channels per pass: their K rows (about 24 KiB) stay in the L1 cache
    const CC = Math.max(1, Math.min(Cin, Math.floor(24576 / (K * Wp * 4))));
    const tapView = new Int32Array(this.memory.buffer, taps, Cin * KK);
    for (let c = 0, i = 0; c < Cin; c++) {
      for (let ka = 0; ka < K; ka++) for (let kb = 0; kb < K; kb++) tapView[i++] = (c * planeX + ka * Wp + kb) * 4;
    }
    this.run([K_CONV_DIRECT, xp, wr, yq, N, Cin, Oq, H, Wq, Hp, Wp, K, band, CC, taps, planeX, planeY], N * (Oq >> 2) * nBands, flops);
    if (!direct) {
      this.run([K_CROP, yq, yout, N, Oq, Cout, H, Wq, W, planeY], N * Cout, outLen, PARALLEL_ELEMS);
    }
    this.output(yout, ya, outLen);
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
    const a = this.arena;
    a.reset();
    const xin = this.input(xa, xLen);
    const xp = noPad ? xin : a.floats(N * C * planeX);
    const dyin = this.input(dya, dyLen);
    const dyAsIs = noPad && Oq === O;
    const dyq = dyAsIs ? dyin : a.floats(N * Oq * planeY);
    const ntasks = (Oq >> 2) * C;
    const acc = a.floats(ntasks * 4 * K * (K + 1) * 4);
    const dw = this.outputAt(dwa, wLen);
    if (!noPad) this.pad(xin, xp, N, C, C, H, W, Hp, Wp, p, p, planeX);
    if (!dyAsIs) this.pad(dyin, dyq, N, O, Oq, H, W, H, Wq, 0, 0, planeY);
    const rows = Math.max(1, Math.floor(32768 / (4 * (4 * Wq + Wp))));
    const flops = 2 * N * H * Wq * C * Oq * K * (K + 1);
    this.run([K_GRADW_DIRECT, xp, dyq, dw, N, C, O, Oq, H, Wq, Hp, Wp, K, rows, acc, planeX, planeY], ntasks, flops);
    this.output(dw, dwa, wLen);
  }

  /**
   * Per-thread scratch of the FFT kernels (assembly/fftconv.ts scr*): row pairs, one column,
   * one spectrum, lane table, column masks, a zero row, then `spectra` more spectra.
   */
  private fftScratch(p: FftPlan, spectra: number): { base: number; per: number } {
    const T = p.T;
    const per = ceilTo(((T / 2) * T + T + p.F) * 32 + 4 * 64 + (T / 4) * 64 + (T + 8) * 4 + spectra * p.F * 32 + 256, 64);
    const base = this.arena.floats((per * this.threads) / 4);
    return { base, per };
  }

  /**
   * Tiled FFT convolution. mode 0: forward (x [N][C] -> y [N][O]); mode 1: gradient of the
   * input (dy [N][O] -> dx [N][C], filters transposed and flipped).
   */
  private convFft(xa: Float32Array, wa: Float32Array, s: ConvShape, ya: Float32Array, mode: 0 | 1): void {
    const { batch: N, height: H, width: W, kernel: K } = s;
    const R = mode === 0 ? s.inChannels : s.outChannels;
    const L = mode === 0 ? s.outChannels : s.inChannels;
    const Lq = ceilTo(L, 4);
    const p = (K - 1) >> 1;
    const KK = K * K;
    const plan = fftPlan(s, this.fftTile(mode === 0 ? 'forward' : 'gradInput', s));
    const { T, V, tY, tX, numTiles, G, F } = plan;
    const CB = Math.min(R, 8);
    // One task per tile group (input spectra kept in the core's cache) when there are enough
    // groups for the threads; otherwise input transforms and products as separate jobs.
    const fused = this.fftMode === 'fused' || (this.fftMode !== 'separate' && (G >= 3 * this.threads || this.threads === 1));
    let OB: number;
    if (fused) OB = Math.min(Lq, 16);
    else {
      OB = Math.min(Lq, 8);
      while (OB > 4 && G * Math.ceil(Lq / OB) < 3 * this.threads) OB -= 4;
    }
    const inLen = N * R * H * W, outLen = N * L * H * W, wLen = s.outChannels * s.inChannels * KK;
    const a = this.arena;
    a.reset();
    if (xa.length < inLen) throw new Error(`array too short: ${xa.length} < ${inLen}`);
    const xResident = this.heap.owns(xa), yResident = this.heap.owns(ya);
    const xin = xResident ? xa.byteOffset : a.floats(inLen);
    const Xs = fused ? 0 : a.floats(G * F * R * 8);
    const yout = this.outputAt(ya, outLen);
    // (the filter job stages CB spectra in the same scratch)
    const sc = this.fftScratch(plan, fused ? R + OB : Math.max(CB, OB));
    const tfFlops = 12 * T * T * Math.log2(T);
    // A non-resident input is copied in while the workers transform the filters.
    const Ws = this.filterSpectra(wa, wLen, { mode, T, K, R, L }, sc, xResident ? undefined : () => this.put(xin, xa, inLen));
    const productFlops = G * F * R * Lq * 32;
    const tpi = tY * tX;
    if (fused && this.threads > 1 && N >= 2 && tpi % 4 === 0) {
      // One job per image, each image's output copied out (unless resident) while the next one is computed.
      const gPer = tpi / 4, imgOut = L * H * W;
      for (let n = 0; n < N; n++) {
        this.run([K_FFT_FUSED, xin, Ws, yout, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, sc.base, sc.per, p, n * gPer],
          gPer, productFlops / N, PARALLEL_FLOPS, n > 0 && !yResident ? () => this.getRange(yout, ya, (n - 1) * imgOut, imgOut) : undefined);
      }
      if (!yResident) this.getRange(yout, ya, (N - 1) * imgOut, imgOut);
      return;
    }
    if (fused) {
      this.run([K_FFT_FUSED, xin, Ws, yout, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, sc.base, sc.per, p, 0],
        G, productFlops);
    } else {
      this.run([K_FFT_INPUT, xin, Xs, N, R, T, V, tY, tX, H, W, p, T, F * R * 32, R * 32, numTiles, sc.base, sc.per, CB, 0, 0, 0],
        G * Math.ceil(R / CB), G * R * tfFlops);
      this.run([K_FFT_CONV, Xs, Ws, yout, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, sc.base, sc.per],
        G * Math.ceil(Lq / OB), productFlops);
    }
    this.output(yout, ya, outLen);
  }

  private gradWeightFft(xa: Float32Array, dya: Float32Array, s: ConvShape, dwa: Float32Array): void {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const plan = fftPlan(s, this.fftTile('gradWeight', s));
    const { T, V, tY, tX, numTiles, G, F } = plan;
    const Fq = Math.ceil(F / 4);
    // byte strides between tiles: one cache line more than the channels need, so that the
    // tile loop of the products does not hit the same few cache sets (power-of-two strides)
    const txB = C * 32 + 64, tdB = O * 32 + 64;
    // Tiles are taken a chunk of CG tile groups at a time, their spectra (CG*4 tiles) small
    // enough to stay in the last-level cache between the transforms and the products.
    const CG = this.chunkGroups(G, Fq * 4 * (txB + tdB));
    const Tn = CG * 4;
    const CB = 8;
    const xLen = N * C * H * W, dyLen = N * O * H * W, wLen = O * C * KK;
    const a = this.arena;
    a.reset();
    if (dya.length < dyLen) throw new Error(`array too short: ${dya.length} < ${dyLen}`);
    const dyResident = this.heap.owns(dya);
    const xin = this.input(xa, xLen);
    const dyin = dyResident ? dya.byteOffset : a.floats(dyLen);
    // spectra as frequency quads: [f/4][tile][channel] complex vectors over 4 slots
    const Xs = a.floats((Fq * Tn * txB) / 4);
    const DYs = a.floats((Fq * Tn * tdB) / 4);
    const Racc = a.floats(Fq * O * C * 8);
    const dw = this.outputAt(dwa, wLen);
    const sc = this.fftScratch(plan, CB);
    const tfFlops = 12 * T * T * Math.log2(T);
    const qPer = Math.max(1, Math.ceil(Fq / (this.threads * 8)));
    for (let g0 = 0; g0 < G; g0 += CG) {
      const ng = Math.min(CG, G - g0);
      const tiles = ng * 4;
      // the first chunk copies a non-resident dy in while the workers transform x
      this.run([K_FFT_INPUT, xin, Xs, N, C, T, V, tY, tX, H, W, p, T, 4 * txB, Tn * txB, numTiles, sc.base, sc.per, CB, 1, txB, g0],
        ng * Math.ceil(C / CB), ng * C * tfFlops, PARALLEL_FLOPS, g0 === 0 && !dyResident ? () => this.put(dyin, dya, dyLen) : undefined);
      this.run([K_FFT_INPUT, dyin, DYs, N, O, T, V, tY, tX, H, W, 0, V, 4 * tdB, Tn * tdB, numTiles, sc.base, sc.per, CB, 1, tdB, g0],
        ng * Math.ceil(O / CB), ng * O * tfFlops);
      this.run([K_FFT_GRADW, Xs, DYs, Racc, C, O, tiles, Fq, qPer, txB, tdB, g0 > 0 ? 1 : 0, Tn],
        Math.ceil(Fq / qPer), Fq * tiles * O * C * 32);
    }
    this.run([K_FFT_GRADW_INV, Racc, dw, O * C, K, T, f32bits(1 / (4 * T * T)), sc.base, sc.per, 0, O],
      Math.ceil((O * C) / 4), Math.ceil((O * C) / 4) * tfFlops);
    this.output(dw, dwa, wLen);
  }

  /**
   * Both gradients by FFT (assembly/fftgrad.ts): per chunk of tile groups, one job transforms
   * the T x T windows of dy once, computes dx from them and keeps them as frequency quads, and
   * transforms the V x V blocks of x; the weight-gradient products pair the two.
   */
  private backwardFft(xa: Float32Array, dya: Float32Array, wa: Float32Array, s: ConvShape, dxa: Float32Array, dwa: Float32Array): void {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const plan = fftPlan(s, this.fftTile('gradWeight', s));
    const { T, V, tY, tX, numTiles, G, F } = plan;
    const Fq = Math.ceil(F / 4);
    const Cq = ceilTo(C, 4);
    const OB = Math.min(Cq, 16), CB = 8;
    const txB = C * 32 + 64, tdB = O * 32 + 64;
    const CG = this.chunkGroups(G, Fq * 4 * (txB + tdB));
    const Tn = CG * 4;
    const xLen = N * C * H * W, dyLen = N * O * H * W, wLen = O * C * KK;
    const a = this.arena;
    a.reset();
    if (dya.length < dyLen) throw new Error(`array too short: ${dya.length} < ${dyLen}`);
    const dyResident = this.heap.owns(dya);
    const xin = this.input(xa, xLen);
    const dyin = dyResident ? dya.byteOffset : a.floats(dyLen);
    const Xs = a.floats((Fq * Tn * txB) / 4);
    const DYs = a.floats((Fq * Tn * tdB) / 4);
    const Racc = a.floats(Fq * O * C * 8);
    const dx = this.outputAt(dxa, xLen);
    const dw = this.outputAt(dwa, wLen);
    const sc = this.fftScratch(plan, Math.max(O + OB, CB));
    const tfFlops = 12 * T * T * Math.log2(T);
    const scale = f32bits(1 / (4 * T * T));
    // filters of the gradient of the input (flipped, transposed); a non-resident dy is copied in meanwhile
    const Ws = this.filterSpectra(wa, wLen, { mode: 1, T, K, R: O, L: C }, sc, dyResident ? undefined : () => this.put(dyin, dya, dyLen));
    const qPer = Math.max(1, Math.ceil(Fq / (this.threads * 8)));
    for (let g0 = 0; g0 < G; g0 += CG) {
      const ng = Math.min(CG, G - g0);
      this.run([K_FFT_BACKWARD, dyin, Ws, dx, N, O, C, Cq, H, W, T, V, tY, tX, numTiles, OB, sc.base, sc.per, p,
        g0, ng, DYs, tdB, Tn * tdB, xin, Xs, txB, Tn * txB, CB],
        ng * (1 + Math.ceil(C / CB)), ng * (F * O * Cq * 32 + (O + 2 * C) * tfFlops));
      // conj(X block) * DY window, accumulated as Racc[f][c*O + o]
      this.run([K_FFT_GRADW, DYs, Xs, Racc, O, C, ng * 4, Fq, qPer, tdB, txB, g0 > 0 ? 1 : 0, Tn],
        Math.ceil(Fq / qPer), Fq * ng * 4 * O * C * 32);
    }
    this.run([K_FFT_GRADW_INV, Racc, dw, O * C, K, T, scale, sc.base, sc.per, 1, O],
      Math.ceil((O * C) / 4), Math.ceil((O * C) / 4) * tfFlops);
    this.output(dx, dxa, xLen);
    this.output(dw, dwa, wLen);
  }

  /**
   * Filter spectra of an FFT pass (kind 7: [f][l/2][r][l%2] complex, scaled and conjugated):
   * from the cache when these weights were transformed before (see cacheFilters), else
   * computed, into a cache block when the cache has room, else into this call's scratch.
   * `meanwhile` runs on this thread while the workers transform.
   */
  private filterSpectra(wa: Float32Array, wLen: number, key: FilterKey, sc: { base: number; per: number }, meanwhile?: () => void): number {
    // Only forward filters are kept: the gradient-of-input ones run once per training step.
    const cache = key.mode === 0;
    const cached = cache ? this.filters.find(wa, wLen, key) : -1;
    if (cached >= 0) {
      meanwhile?.();
      return cached;
    }
    const { T, K, R, L, mode } = key;
    const Lq = ceilTo(L, 4), F = slotCount(T), CB = Math.min(R, 8);
    const bytes = F * R * Lq * 8;
    let Ws = cache ? this.filters.reserve(wa, wLen, key, bytes, this.tensorLimit()) : -1;
    if (Ws < 0) Ws = this.arena.floats(bytes / 4);
    const win = this.input(wa, wLen);
    this.run([K_FFT_FILTER, win, Ws, L, Lq, R, K, T, mode, f32bits(1 / (4 * T * T)), sc.base, sc.per, CB],
      (Lq >> 2) * Math.ceil(R / CB), ((R * Lq) >> 2) * 12 * T * T * Math.log2(T), PARALLEL_FLOPS, meanwhile);
    return Ws;
  }

  /**
   * Tile groups per chunk of the weight gradient: spectra of about gradWeightChunkBytes, in
   * whole rounds of the threads when there are several rounds.
   */
  private chunkGroups(G: number, perGroup: number): number {
    let CG = Math.max(1, Math.min(G, Math.floor(this.gradWeightChunkBytes / perGroup)));
    if (CG < G && CG > this.threads) CG -= CG % this.threads;
    return CG;
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
