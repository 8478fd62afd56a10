/**
 * Convolutions by tiled FFT (assembly/fftconv.ts, assembly/fftgrad.ts): overlap-save over T x T
 * tiles (T = 16, 32 or 64, V = T - k + 1 outputs a side), 4 tiles per vector. Forward and
 * gradient of the input: filter spectra once per call, then per tile group the input spectra,
 * per-frequency complex products across channels and inverse transforms (kept in the core's
 * cache: "fused"). Gradient of the weights: input and output-gradient spectra of all tiles,
 * products summed over tiles per frequency, one inverse transform per (o, c) filter. Both
 * gradients at once: the dy spectra serve both. Forward filter spectra can be kept between
 * calls for unchanged weights (filter-cache.ts). The per-shape choices (algorithm, tile size)
 * are conv-plan.ts's.
 */
import type { ConvShape, LeakyGradient } from '../backend.js';
import { fftPlan, slotCount, type ConvPass, type FftPlan } from './conv-plan.js';
import { FilterCache, type FilterKey } from './filter-cache.js';
import { type KernelCalls, ceilTo, f32bits, PARALLEL_FLOPS } from './calls.js';
import { K_FFT_INPUT, K_FFT_FILTER, K_FFT_CONV, K_FFT_GRADW, K_FFT_GRADW_INV, K_FFT_FUSED, K_FFT_BACKWARD } from './kernel-ids.js';

/**
 * Work of one call of a 2-D transform (4 tiles or filters, one per lane), in the units of the
 * products' work (flops over all lanes), for the pool's decision to wake the workers: a
 * 16 x 16 filter job is ~0.5 ms, and ran on one thread when a lane's flops were counted alone.
 */
const transformFlops = (T: number): number => 4 * 12 * T * T * Math.log2(T);

/** Frequency quads per weight-gradient product task: about 16 tasks a thread (even shares). */
const quadsPerTask = (Fq: number, threads: number): number => Math.max(1, Math.ceil(Fq / (threads * 16)));

/**
 * 1 when the weight-gradient products should touch the next quad's spectra ahead (kind 9):
 * only when a chunk's spectra outgrow the L2 cache (~1 MB a core), where it pays.
 */
const touchAhead = (Fq: number, Tn: number, tileBytes: number): number => (Fq * Tn * tileBytes > 2 << 20 ? 1 : 0);

/** The knobs tests and benchmarks turn (WasmBackend's fields). */
export interface FftSettings {
  fftMode: 'auto' | 'fused' | 'separate';
  gradWeightChunkBytes: number;
  fftTile(pass: ConvPass, s: ConvShape): number;
}

export class FftConvolutions {
  readonly filters: FilterCache;

  /** tensorLimit: the byte below which cached spectra stay (as tensors do). */
  constructor(
    private readonly k: KernelCalls,
    private readonly settings: FftSettings,
    private readonly tensorLimit: number,
  ) {
    this.filters = new FilterCache(k.heap);
  }

  /**
   * Per-thread scratch of the FFT kernels (assembly/fftconv.ts scr*): row pairs, one column,
   * one spectrum, lane table, column masks, a zero row, then `spectra` more spectra.
   */
  private fftScratch(p: FftPlan, spectra: number): { base: number; per: number } {
    const T = p.T;
    const per = ceilTo(((T / 2) * T + T + p.F) * 32 + 4 * 64 + (T / 4) * 64 + (T + 8) * 4 + spectra * p.F * 32 + 256, 64);
    const base = this.k.arena.floats((per * this.k.threads) / 4);
    return { base, per };
  }

  /**
   * Tiled FFT convolution. mode 0: forward (x [N][C] -> y [N][O]); mode 1: gradient of the
   * input (dy [N][O] -> dx [N][C], filters transposed and flipped). With leakySlope, the fused
   * job applies LeakyReLU to the outputs it stores; returns whether it did (the separate jobs
   * do not: the caller then applies it).
   */
  convolve(xa: Float32Array, wa: Float32Array, s: ConvShape, ya: Float32Array, mode: 0 | 1, leakySlope?: number): boolean {
    const { batch: N, height: H, width: W, kernel: K } = s;
    const R = mode === 0 ? s.inChannels : s.outChannels;
    const L = mode === 0 ? s.outChannels : s.inChannels;
    const Lq = ceilTo(L, 4);
    const p = (K - 1) >> 1;
    const KK = K * K;
    const plan = fftPlan(s, this.settings.fftTile(mode === 0 ? 'forward' : 'gradInput', s));
    const { T, V, tY, tX, numTiles, G, F } = plan;
    const CB = Math.min(R, 8);
    // One task per tile group (input spectra kept in the core's cache) when there are enough
    // groups for the threads; otherwise input transforms and products as separate jobs.
    const fused = this.settings.fftMode === 'fused' || (this.settings.fftMode !== 'separate' && (G >= 3 * this.k.threads || this.k.threads === 1));
    // Fused: all output channels (up to 32) in one product pass, so that each slot's filter
    // spectra are read once, front to back, and the input spectra once (16 a pass read both
    // twice, every other 4 KB of the filters: 32->32 at 256, 1 thread: 0.73-0.82 of the time).
    let OB: number;
    if (fused) OB = Math.min(Lq, 32);
    else {
      OB = Math.min(Lq, 8);
      while (OB > 4 && G * Math.ceil(Lq / OB) < 3 * this.k.threads) OB -= 4;
    }
    const inLen = N * R * H * W,
      outLen = N * L * H * W,
      wLen = s.outChannels * s.inChannels * KK;
    const a = this.k.arena;
    a.reset();
    if (xa.length < inLen) throw new Error(`array too short: ${xa.length} < ${inLen}`);
    const xResident = this.k.heap.owns(xa),
      yResident = this.k.heap.owns(ya);
    const xin = xResident ? xa.byteOffset : a.floats(inLen);
    const Xs = fused ? 0 : a.floats(G * F * R * 8);
    const yout = this.k.outputAt(ya, outLen);
    // (the filter job stages CB spectra in the same scratch)
    // Fused tasks may take two tile groups, whose products the native code does together
    // (convProductsPair): all but the last 3 groups a thread, so that the job's tail stays short.
    const pairsOf = (groups: number): number => (fused && this.k.native ? Math.max(0, Math.floor((groups - 3 * this.k.threads) / 2)) : 0);
    const paired = pairsOf(G) > 0 || pairsOf((tY * tX) / 4) > 0;
    const sc = this.fftScratch(plan, fused ? (paired ? 2 : 1) * (R + OB) : Math.max(CB, OB));
    const tfFlops = transformFlops(T);
    // A non-resident input is copied in while the workers transform the filters.
    const Ws = this.filterSpectra(wa, wLen, { mode, T, K, R, L }, sc, xResident ? undefined : () => this.k.put(xin, xa, inLen));
    const productFlops = G * F * R * Lq * 32;
    const tpi = tY * tX;
    const act = leakySlope === undefined ? [0, 0] : [1, f32bits(leakySlope)];
    if (fused && !yResident && this.k.threads > 1 && N >= 2 && tpi % 4 === 0) {
      // One job per image, each image's output copied out while the next one is computed.
      const gPer = tpi / 4,
        imgOut = L * H * W;
      const pairs = pairsOf(gPer);
      for (let n = 0; n < N; n++) {
        this.k.run(
          [K_FFT_FUSED, xin, Ws, yout, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, sc.base, sc.per, p, n * gPer, ...act, pairs],
          gPer - pairs,
          productFlops / N,
          PARALLEL_FLOPS,
          n > 0 ? () => this.k.getRange(yout, ya, (n - 1) * imgOut, imgOut) : undefined,
        );
      }
      this.k.getRange(yout, ya, (N - 1) * imgOut, imgOut);
      return true;
    }
    if (fused) {
      const pairs = pairsOf(G);
      this.k.run([K_FFT_FUSED, xin, Ws, yout, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, sc.base, sc.per, p, 0, ...act, pairs], G - pairs, productFlops);
    } else {
      this.k.run(
        [K_FFT_INPUT, xin, Xs, N, R, T, V, tY, tX, H, W, p, T, F * R * 32, R * 32, numTiles, sc.base, sc.per, CB, 0, 0, 0],
        G * Math.ceil(R / CB),
        G * R * tfFlops,
      );
      this.k.run([K_FFT_CONV, Xs, Ws, yout, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, sc.base, sc.per], G * Math.ceil(Lq / OB), productFlops);
    }
    this.k.output(yout, ya, outLen);
    return fused;
  }

  gradWeight(xa: Float32Array, dya: Float32Array, s: ConvShape, dwa: Float32Array): void {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const plan = fftPlan(s, this.settings.fftTile('gradWeight', s));
    const { T, V, tY, tX, numTiles, G } = plan;
    const CB = 8;
    const wLen = O * C * KK;
    const { Fq, txB, tdB, CG, Tn, xin, dyin, dyResident, dyLen, Xs, DYs, Racc } = this.weightGradientArrays(plan, s, xa, dya);
    const dw = this.k.outputAt(dwa, wLen);
    const sc = this.fftScratch(plan, CB);
    const tfFlops = transformFlops(T);
    const qPer = quadsPerTask(Fq, this.k.threads);
    for (let g0 = 0; g0 < G; g0 += CG) {
      const ng = Math.min(CG, G - g0);
      const tiles = ng * 4;
      // the first chunk copies a non-resident dy in while the workers transform x
      this.k.run(
        [K_FFT_INPUT, xin, Xs, N, C, T, V, tY, tX, H, W, p, T, 4 * txB, Tn * txB, numTiles, sc.base, sc.per, CB, 1, txB, g0],
        ng * Math.ceil(C / CB),
        ng * C * tfFlops,
        PARALLEL_FLOPS,
        g0 === 0 && !dyResident ? () => this.k.put(dyin, dya, dyLen) : undefined,
      );
      this.k.run(
        [K_FFT_INPUT, dyin, DYs, N, O, T, V, tY, tX, H, W, 0, V, 4 * tdB, Tn * tdB, numTiles, sc.base, sc.per, CB, 1, tdB, g0],
        ng * Math.ceil(O / CB),
        ng * O * tfFlops,
      );
      this.k.run(
        [K_FFT_GRADW, Xs, DYs, Racc, C, O, tiles, Fq, qPer, txB, tdB, g0 > 0 ? 1 : 0, Tn, touchAhead(Fq, Tn, txB + tdB)],
        Math.ceil(Fq / qPer),
        Fq * tiles * O * C * 32,
      );
    }
    this.k.run(
      [K_FFT_GRADW_INV, Racc, dw, O * C, K, T, f32bits(1 / (4 * T * T)), sc.base, sc.per, 0, O],
      Math.ceil((O * C) / 4),
      Math.ceil((O * C) / 4) * tfFlops,
    );
    this.k.output(dw, dwa, wLen);
  }

  /**
   * Both gradients by FFT (assembly/fftgrad.ts): per chunk of tile groups, one job transforms
   * the T x T windows of dy once, computes dx from them and keeps them as frequency quads, and
   * transforms the V x V blocks of x; the weight-gradient products pair the two.
   */
  backward(xa: Float32Array, dya: Float32Array, wa: Float32Array, s: ConvShape, dxa: Float32Array, dwa: Float32Array, leaky?: LeakyGradient): void {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const plan = fftPlan(s, this.settings.fftTile('gradWeight', s));
    const { T, V, tY, tX, numTiles, G, F } = plan;
    const Cq = ceilTo(C, 4);
    // (all input channels, up to 32, in one product pass: see convolve)
    const OB = Math.min(Cq, 32),
      CB = 8;
    const xLen = N * C * H * W,
      wLen = O * C * KK;
    const { Fq, txB, tdB, CG, Tn, xin, dyin, dyResident, dyLen, Xs, DYs, Racc } = this.weightGradientArrays(plan, s, xa, dya);
    const dx = this.k.outputAt(dxa, xLen);
    const dw = this.k.outputAt(dwa, wLen);
    // a LeakyReLU's gradient, taken as dy's windows are read: its output, at a distance from dy
    const leakyWords = leaky ? [this.k.input(leaky.output, dyLen) - dyin, f32bits(leaky.slope)] : [0, 0];
    // a group task may take two tile groups (products together in native code: convProductsPair);
    // the job's tail is its small x-transform tasks
    const pairing = this.k.native;
    const sc = this.fftScratch(plan, Math.max((pairing ? 2 : 1) * (O + OB), CB));
    const tfFlops = transformFlops(T);
    const scale = f32bits(1 / (4 * T * T));
    // filters of the gradient of the input (flipped, transposed); a non-resident dy is copied in meanwhile
    const Ws = this.filterSpectra(wa, wLen, { mode: 1, T, K, R: O, L: C }, sc, dyResident ? undefined : () => this.k.put(dyin, dya, dyLen));
    const qPer = quadsPerTask(Fq, this.k.threads);
    for (let g0 = 0; g0 < G; g0 += CG) {
      const ng = Math.min(CG, G - g0);
      const pairs = pairing ? ng >> 1 : 0;
      this.k.run(
        [
          K_FFT_BACKWARD,
          dyin,
          Ws,
          dx,
          N,
          O,
          C,
          Cq,
          H,
          W,
          T,
          V,
          tY,
          tX,
          numTiles,
          OB,
          sc.base,
          sc.per,
          p,
          g0,
          ng,
          DYs,
          tdB,
          Tn * tdB,
          xin,
          Xs,
          txB,
          Tn * txB,
          CB,
          pairs,
          ...leakyWords,
        ],
        ng - pairs + ng * Math.ceil(C / CB),
        ng * (F * O * Cq * 32 + (O + 2 * C) * tfFlops),
      );
      // conj(X block) * DY window, accumulated as Racc[f][c*O + o]
      this.k.run(
        [K_FFT_GRADW, DYs, Xs, Racc, O, C, ng * 4, Fq, qPer, tdB, txB, g0 > 0 ? 1 : 0, Tn, touchAhead(Fq, Tn, txB + tdB)],
        Math.ceil(Fq / qPer),
        Fq * ng * 4 * O * C * 32,
      );
    }
    this.k.run([K_FFT_GRADW_INV, Racc, dw, O * C, K, T, scale, sc.base, sc.per, 1, O], Math.ceil((O * C) / 4), Math.ceil((O * C) / 4) * tfFlops);
    this.k.output(dx, dxa, xLen);
    this.k.output(dw, dwa, wLen);
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
    const Lq = ceilTo(L, 4),
      F = slotCount(T),
      CB = Math.min(R, 8);
    const bytes = F * R * Lq * 8;
    let Ws = cache ? this.filters.reserve(wa, wLen, key, bytes, this.tensorLimit) : -1;
    if (Ws < 0) Ws = this.k.arena.floats(bytes / 4);
    const win = this.k.input(wa, wLen);
    this.k.run(
      [K_FFT_FILTER, win, Ws, L, Lq, R, K, T, mode, f32bits(1 / (4 * T * T)), sc.base, sc.per, CB],
      (Lq >> 2) * Math.ceil(R / CB),
      ((R * Lq) >> 2) * transformFlops(T),
      PARALLEL_FLOPS,
      meanwhile,
    );
    return Ws;
  }

  /**
   * Inputs and spectra arrays of a weight gradient (the call's scratch is reset first). Spectra
   * are frequency quads, [f/4][tile][channel] complex vectors over 4 slots, for a chunk of CG tile
   * groups at a time (Tn tiles), small enough to stay in the last-level cache between the
   * transforms and the products. Byte strides between tiles (txB, tdB) are one cache line more
   * than the channels need, so that the tile loop of the products does not hit the same few
   * cache sets.
   */
  private weightGradientArrays(plan: FftPlan, s: ConvShape, xa: Float32Array, dya: Float32Array) {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W } = s;
    const Fq = Math.ceil(plan.F / 4);
    const txB = C * 32 + 64,
      tdB = O * 32 + 64;
    const CG = this.chunkGroups(plan.G, Fq * 4 * (txB + tdB));
    const Tn = CG * 4;
    const dyLen = N * O * H * W;
    const a = this.k.arena;
    a.reset();
    if (dya.length < dyLen) throw new Error(`array too short: ${dya.length} < ${dyLen}`);
    const dyResident = this.k.heap.owns(dya);
    const xin = this.k.input(xa, N * C * H * W);
    const dyin = dyResident ? dya.byteOffset : a.floats(dyLen);
    const Xs = a.floats((Fq * Tn * txB) / 4);
    const DYs = a.floats((Fq * Tn * tdB) / 4);
    const Racc = a.floats(Fq * O * C * 8);
    return { Fq, txB, tdB, CG, Tn, xin, dyin, dyResident, dyLen, Xs, DYs, Racc };
  }

  /**
   * Tile groups per chunk of the weight gradient: spectra of about gradWeightChunkBytes, in
   * whole rounds of the threads when there are several rounds.
   */
  private chunkGroups(G: number, perGroup: number): number {
    let CG = Math.max(1, Math.min(G, Math.floor(this.settings.gradWeightChunkBytes / perGroup)));
    if (CG < G && CG > this.k.threads) CG -= CG % this.k.threads;
    return CG;
  }
}
