/**
 * The WebAssembly backend: AssemblyScript kernels (assembly/) compiled to SIMD128 and relaxed
 * SIMD builds, run by a pool of worker threads over one shared memory. Calls are synchronous:
 * the work is split into tasks that every thread claims (pool.ts). Arrays that live in the
 * shared memory (resident tensors, resident.ts) are used in place; any other input is copied
 * in and any other output copied back (calls.ts).
 *
 * This class owns the memory and the threads and routes each call to its kernels: convolutions
 * direct (direct-conv.ts) or by FFT (fft-conv.ts), chosen per pass and shape by a cost model
 * (conv-plan.ts); elementwise maps (maps.ts); blur, nearest and max pooling (resample.ts); the
 * fused affine tail (affine.ts). load-kernels.ts loads the module; kernel-ids.ts numbers the
 * kernels. All are checked against the JS reference (test/tensor/kernels/).
 */
import {
  convOutputSize,
  type AdamArrays,
  type AdamConstants,
  type AffineShape,
  type BinaryOp,
  type ConvShape,
  type FftTables,
  type KernelBackend,
  type LeakyGradient,
  type Spectra,
} from '../backend.js';
import type { FloatAllocator } from '../../storage.js';
import { nodePlatform, type Platform } from './platform.js';
import { HEAP_OFFSET, type ThreadPool } from './pool.js';
import { Heap } from './heap.js';
import { chooseAlgorithm, chooseTile, fftTiles, type ConvAlgorithm, type ConvPass } from './conv-plan.js';
import { KernelCalls } from './calls.js';
import { K_FMA_LOOP } from './kernel-ids.js';
import { loadKernels, MAX_PAGES } from './load-kernels.js';
import { residentAllocator, tensorLimit } from './resident.js';
import { DirectConvolutions } from './direct-conv.js';
import { FftConvolutions } from './fft-conv.js';
import { MapKernels } from './maps.js';
import { ResampleKernels } from './resample.js';
import { AffineKernels } from './affine.js';
import { OptimKernels } from './optim.js';
import { ChannelDiffKernels } from './channel-diff.js';
import { FftLossKernels } from './fft-loss.js';

export interface WasmBackendOptions {
  /** Threads including the calling one; default: all logical processors. */
  threads?: number;
  /** Use the relaxed-SIMD (fused multiply-add) build where the runtime validates it (default true). */
  relaxedSimd?: boolean;
  /**
   * Run the FFT convolutions' products and 2D transforms as native AVX2 code where the host has it (Node.js on
   * x86-64, after `npm run build:native`; native-kernels.ts): default true. Bit-identical to the
   * relaxed-SIMD build, which it needs. PYRAMIDFLOW_NATIVE=0 turns it off for the API and CLI.
   */
  nativeKernels?: boolean;
  /** Force one convolution algorithm (tests, benchmarks); default: chosen per shape. */
  algorithm?: ConvAlgorithm | 'auto';
  /** Host services; default: Node.js. */
  platform?: Platform;
}

export { chooseAlgorithm, chooseTile, estimateSeconds, fftTiles, type ConvAlgorithm, type ConvPass } from './conv-plan.js';
export { KERNEL_NAMES } from './kernel-ids.js';

/** Bytes of input and output-gradient spectra per chunk of tiles in the weight gradient (16 MB: 5-10% faster than 8 at 128 and 256, 2 threads). */
const GRADW_CHUNK_BYTES = 16 << 20;

export class WasmBackend implements KernelBackend {
  readonly threads: number;
  readonly relaxedSimd: boolean;
  /** Whether native code was loaded for the FFT convolutions (WasmBackendOptions.nativeKernels). */
  readonly nativeLoaded: boolean;
  /** Resident tensors: arrays in the shared memory, which the kernels use without copies. */
  readonly floatAllocator: FloatAllocator;
  private readonly pool: ThreadPool;
  private readonly k: KernelCalls;
  private readonly direct: DirectConvolutions;
  private readonly fft: FftConvolutions;
  private readonly maps: MapKernels;
  private readonly resample: ResampleKernels;
  private readonly affine: AffineKernels;
  private readonly optim: OptimKernels;
  private readonly diffs: ChannelDiffKernels;
  private readonly fftLoss: FftLossKernels;
  private readonly force: ConvAlgorithm | undefined;
  private disposed = false;

  constructor(memory: WebAssembly.Memory, pool: ThreadPool, relaxed: boolean, force: ConvAlgorithm | undefined, maxPages = MAX_PAGES, native = false) {
    this.pool = pool;
    this.k = new KernelCalls(memory, pool, new Heap(memory, HEAP_OFFSET, maxPages));
    this.floatAllocator = residentAllocator(this.k);
    this.direct = new DirectConvolutions(this.k);
    this.fft = new FftConvolutions(this.k, this, tensorLimit(this.k));
    this.maps = new MapKernels(this.k);
    this.resample = new ResampleKernels(this.k);
    this.affine = new AffineKernels(this.k);
    this.optim = new OptimKernels(this.k);
    this.diffs = new ChannelDiffKernels(this.k);
    this.fftLoss = new FftLossKernels(this.k);
    this.threads = pool.threads;
    this.relaxedSimd = relaxed;
    this.force = force;
    this.nativeLoaded = native;
  }

  /** The kernels in words: 'wasm-relaxed-simd+avx2 x2' (native code on), 'wasm-relaxed-simd x2', 'wasm-simd x2'. */
  get name(): string {
    return `wasm-${this.relaxedSimd ? 'relaxed-simd' : 'simd'}${this.nativeKernels ? '+avx2' : ''} x${this.threads}`;
  }

  /**
   * Whether the FFT convolutions' products and transforms run as native code now. Can be
   * turned off and on again between calls (benchmarks alternate; the results are the same
   * bits); on needs it loaded (nativeLoaded).
   */
  get nativeKernels(): boolean {
    return this.pool.native;
  }
  set nativeKernels(on: boolean) {
    if (on && !this.nativeLoaded) throw new Error('wasm backend: no native code is loaded (npm run build:native; x86-64 with AVX2 and FMA)');
    this.pool.native = on;
  }

  /**
   * Keeps forward FFT filter spectra between calls, up to `bytes` (0: off, the default, and
   * frees them). For evaluation, where every image runs the same weights, and the two forwards
   * of a memory-saving step: spectra are reused only for weights holding exactly the values
   * they were computed from (filter-cache.ts). Asked again for the same budget, it keeps what it holds.
   */
  cacheFilters(bytes: number): void {
    this.k.arena.reset();
    const budget = Math.max(0, bytes);
    // The same budget again (one evaluation call after another): the spectra stay, for the next
    // images (each use checks them against the weights' values); another budget starts afresh.
    if (budget > 0 && budget === this.fft.filters.budget) return;
    this.fft.filters.clear(budget);
  }

  /** Cached filter spectra (tests). */
  get cachedFilters(): number {
    return this.fft.filters.size;
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

  conv2d(x: Float32Array, w: Float32Array, s: ConvShape, y: Float32Array, leakySlope?: number): void {
    this.check(s);
    // the FFT's fused job applies LeakyReLU as it stores the outputs; otherwise a map in place
    let activated = false;
    if (this.algorithm('forward', s) === 'fft') activated = this.fft.convolve(x, w, s, y, 0, leakySlope);
    else this.direct.convolve(x, w, s, y, 0);
    if (leakySlope !== undefined && !activated) this.maps.leakyRelu(y, leakySlope, convOutputSize(s), y);
  }

  conv2dGradInput(dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array): void {
    this.check(s);
    if (this.algorithm('gradInput', s) === 'fft') this.fft.convolve(dy, w, s, dx, 1);
    else this.direct.convolve(dy, w, s, dx, 1);
  }

  conv2dGradWeight(x: Float32Array, dy: Float32Array, s: ConvShape, dw: Float32Array): void {
    this.check(s);
    if (this.algorithm('gradWeight', s) === 'fft') this.fft.gradWeight(x, dy, s, dw);
    else this.direct.gradWeight(x, dy, s, dw);
  }

  /**
   * Both gradients. By FFT (when both passes choose it with the same tile), dy is transformed
   * once for the two; otherwise the two passes run one after the other.
   */
  conv2dBackward(x: Float32Array, dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array, dw: Float32Array, leaky?: LeakyGradient): void {
    this.check(s);
    if (
      this.algorithm('gradInput', s) === 'fft' &&
      this.algorithm('gradWeight', s) === 'fft' &&
      this.fftTile('gradInput', s) === this.fftTile('gradWeight', s)
    ) {
      this.fft.backward(x, dy, w, s, dx, dw, leaky);
      return;
    }
    let g = dy;
    if (leaky) {
      const n = s.batch * s.outChannels * s.height * s.width;
      g = this.floatAllocator.alloc(n) ?? new Float32Array(n);
      this.leakyReluGrad(leaky.output, dy, leaky.slope, n, g);
    }
    try {
      this.conv2dGradInput(g, w, s, dx);
      this.conv2dGradWeight(x, g, s, dw);
    } finally {
      if (g !== dy && this.floatAllocator.owns(g)) this.floatAllocator.free(g);
    }
  }

  /**
   * Vector multiply-adds per second that the threads deliver right now on a register-only loop
   * (K_FMA_LOOP): `threads` tasks run at once, one per thread. Benchmarks compare their
   * kernels' scaling with this ceiling (a shared machine's cores are not always all there).
   */
  fmaRate(threads = this.threads, rounds = 20_000_000): number {
    const k = this.live(this.k);
    const t0 = performance.now();
    k.run([K_FMA_LOOP, rounds], Math.min(threads, this.threads), Infinity);
    return (Math.min(threads, this.threads) * rounds * 8) / ((performance.now() - t0) / 1000);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
  }

  softClamp(x: Float32Array, clamp: number, n: number, y: Float32Array): void {
    this.live(this.maps).softClamp(x, clamp, n, y);
  }

  exp(x: Float32Array, n: number, y: Float32Array): void {
    this.live(this.maps).exp(x, n, y);
  }

  adamStep(groups: readonly AdamArrays[], h: AdamConstants): void {
    this.live(this.optim).adamStep(groups, h);
  }

  sumOfSquares(arrays: readonly Float32Array[]): number {
    return this.live(this.optim).sumOfSquares(arrays);
  }

  fftLossForward(x: Float32Array, planes: number, height: number, width: number, tables: FftTables, spectra: Spectra, rowSums: Float64Array): void {
    this.live(this.fftLoss).forward(x, planes, height, width, tables, spectra, rowSums);
  }

  fftLossBackward(spectra: Spectra, planes: number, height: number, width: number, tables: FftTables, c: number, gx: Float32Array): void {
    this.live(this.fftLoss).backward(spectra, planes, height, width, tables, c, gx);
  }

  channelDiffMean(
    kind: 'abs' | 'square',
    u: Float32Array,
    v: Float32Array,
    vItems: number,
    pairs: readonly (readonly [number, number])[],
    channels: number,
    pixels: number,
    out: Float32Array,
  ): void {
    this.live(this.diffs).channelDiffMean(kind, u, v, vItems, pairs, channels, pixels, out);
  }

  pairSquaredDiffMeanGrad(
    a: Float32Array,
    g: Float32Array,
    items: number,
    pairs: readonly (readonly [number, number])[],
    channels: number,
    pixels: number,
    ga: Float32Array,
  ): void {
    this.live(this.diffs).pairSquaredDiffMeanGrad(a, g, items, pairs, channels, pixels, ga);
  }

  leakyRelu(x: Float32Array, slope: number, n: number, y: Float32Array): void {
    this.live(this.maps).leakyRelu(x, slope, n, y);
  }

  leakyReluGrad(x: Float32Array, gy: Float32Array, slope: number, n: number, gx: Float32Array): void {
    this.live(this.maps).leakyReluGrad(x, gy, slope, n, gx);
  }

  addInto(acc: Float32Array, x: Float32Array, n: number): void {
    this.live(this.maps).addInto(acc, x, n);
  }

  binary(op: BinaryOp, a: Float32Array, b: Float32Array, n: number, out: Float32Array): void {
    this.live(this.maps).binary(op, a, b, n, out);
  }

  blur(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void {
    this.live(this.resample).blur(x, planes, height, width, y);
  }

  nearest(x: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, y: Float32Array): void {
    this.live(this.resample).nearest(x, planes, height, width, outHeight, outWidth, y);
  }

  nearestGrad(gy: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, gx: Float32Array): void {
    this.live(this.resample).nearestGrad(gy, planes, height, width, outHeight, outWidth, gx);
  }

  maxPool2(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void {
    this.live(this.resample).maxPool(x, null, planes, height, width, y);
  }

  maxPool2Grad(x: Float32Array, gy: Float32Array, planes: number, height: number, width: number, gx: Float32Array): void {
    this.live(this.resample).maxPool(x, gy, planes, height, width, gx);
  }

  fusedAffineForward(
    raw: Float32Array,
    x: Float32Array,
    s: AffineShape,
    runningMean: Float32Array | null,
    y: Float32Array,
    batchMean: Float32Array | null,
  ): void {
    this.live(this.affine).forward(raw, x, s, runningMean, y, batchMean);
  }

  fusedAffineBackward(
    gy: Float32Array,
    raw: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    s: AffineShape,
    training: boolean,
    gx: Float32Array | null,
    graw: Float32Array,
  ): void {
    this.live(this.affine).backward(gy, raw, x, mean, s, training, gx, graw);
  }

  /** `kernels`, once this backend is known not disposed. */
  private live<T>(kernels: T): T {
    if (this.disposed) throw new Error('wasm backend used after dispose()');
    return kernels;
  }

  private check(s: ConvShape): void {
    if (this.disposed) throw new Error('wasm backend used after dispose()');
    const { batch, inChannels, outChannels, height, width, kernel } = s;
    for (const v of [batch, inChannels, outChannels, height, width, kernel]) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`bad conv shape ${JSON.stringify(s)}`);
    }
    if (kernel % 2 !== 1) throw new Error(`conv kernel must be odd, got ${kernel}`);
  }
}

/** Compiles the kernels, starts the worker threads and returns the backend. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const platform = opts.platform ?? (await nodePlatform());
  const threads = Math.max(1, Math.floor(opts.threads ?? platform.cpuCount()));
  const loaded = await loadKernels(platform, threads, opts.relaxedSimd !== false, opts.nativeKernels !== false);
  const force = opts.algorithm && opts.algorithm !== 'auto' ? opts.algorithm : undefined;
  return new WasmBackend(loaded.memory, loaded.pool, loaded.relaxed, force, loaded.maxPages, loaded.native);
}
