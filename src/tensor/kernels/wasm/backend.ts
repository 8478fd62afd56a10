/**
 * The WebAssembly backend: AssemblyScript kernels (assembly/) compiled to SIMD128 and relaxed
 * SIMD builds, run by a pool of worker threads over one shared memory. Calls are synchronous:
 * inputs are copied into the shared memory, the work is split into tasks that every thread
 * claims, the output is copied back.
 */
import type { ConvShape, KernelBackend } from '../backend.js';
import { nodePlatform, type Platform } from './platform.js';
import { ThreadPool, HEAP_OFFSET } from './pool.js';

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

export type ConvAlgorithm = 'direct' | 'fft';
export type ConvPass = 'forward' | 'gradInput' | 'gradWeight';

// Kernel ids (assembly/index.ts).
const K_PAD = 1, K_CROP = 2, K_WEIGHTS_DIRECT = 3, K_CONV_DIRECT = 4, K_GRADW_DIRECT = 5;
const K_FFT_INPUT = 6, K_FFT_FILTER = 7, K_FFT_CONV = 8, K_FFT_GRADW = 9, K_FFT_GRADW_INV = 10;

const f32bits = (v: number): number => {
  const b = new Float32Array([v]);
  return new Int32Array(b.buffer)[0]!;
};

/** Frequency slots of a T x T real FFT (assembly/fft.ts slotCount). */
const slotCount = (T: number): number => (T / 2 - 1) * T + T + 2;

/** Geometry of a tiled FFT convolution. */
interface FftPlan {
  T: number;
  V: number;
  tY: number;
  tX: number;
  numTiles: number;
  G: number;
  F: number;
  /** Padded input plane (tiles read T x T from it). */
  Hx: number;
  Wx: number;
}

function fftPlan(s: ConvShape, T: number): FftPlan {
  const V = T - s.kernel + 1;
  const tY = Math.ceil(s.height / V), tX = Math.ceil(s.width / V);
  const numTiles = s.batch * tY * tX;
  return { T, V, tY, tX, numTiles, G: Math.ceil(numTiles / 4), F: slotCount(T), Hx: (tY - 1) * V + T, Wx: (tX - 1) * V + T };
}

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Work (flops) below which a kernel stays on the calling thread: waking workers costs more. */
const PARALLEL_FLOPS = 4e6;
/** Elements below which a copy / pad job stays on the calling thread. */
const PARALLEL_ELEMS = 1 << 17;

const ceilTo = (v: number, m: number): number => Math.ceil(v / m) * m;

/** A bump allocator over the shared memory, reset at every kernel call. */
class Arena {
  top = HEAP_OFFSET;
  reset(): void {
    this.top = HEAP_OFFSET;
  }
  /** Bytes for `floats` float32 values, 64-byte aligned, with slack for over-reading vector loads. */
  floats(floats: number): number {
    const p = ceilTo(this.top, 64);
    this.top = p + floats * 4 + 256;
    return p;
  }
}

export class WasmBackend implements KernelBackend {
  readonly name: string;
  readonly threads: number;
  readonly relaxedSimd: boolean;
  private readonly memory: WebAssembly.Memory;
  private readonly pool: ThreadPool;
  private readonly arena = new Arena();
  private readonly force: ConvAlgorithm | undefined;
  private disposed = false;

  constructor(memory: WebAssembly.Memory, pool: ThreadPool, relaxed: boolean, force: ConvAlgorithm | undefined) {
    this.memory = memory;
    this.pool = pool;
    this.threads = pool.threads;
    this.relaxedSimd = relaxed;
    this.force = force;
    this.name = `wasm-${relaxed ? 'relaxed-simd' : 'simd'} x${pool.threads}`;
  }

  /** The algorithm a pass of this shape runs with. */
  algorithm(pass: ConvPass, s: ConvShape): ConvAlgorithm {
    const forced = this.forceAlgorithm ?? this.force;
    if (forced === 'fft' && s.kernel >= 3 && s.kernel <= 31) return 'fft';
    if (forced === 'direct') return 'direct';
    return chooseAlgorithm(pass, s);
  }

  /** Overrides the per-shape choice (tests, benchmarks); undefined restores it. */
  forceAlgorithm: ConvAlgorithm | undefined;

  /** FFT tile size used for a shape. */
  fftTile(s: ConvShape): number {
    return s.kernel <= 11 ? 32 : 64;
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

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
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

  /** Grows the shared memory to hold everything allocated since the arena was reset. */
  private commit(): void {
    const need = Math.ceil(this.arena.top / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > MAX_PAGES) throw new Error(`convolution needs ${need * PAGE} bytes of wasm memory (max 4 GiB)`);
    if (need > have) this.memory.grow(need - have);
  }

  private f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  private put(offset: number, a: Float32Array, length: number): void {
    if (a.length < length) throw new Error(`array too short: ${a.length} < ${length}`);
    this.f32(offset, length).set(length === a.length ? a : a.subarray(0, length));
  }

  private get(offset: number, out: Float32Array, length: number): void {
    if (out.length < length) throw new Error(`output array too short: ${out.length} < ${length}`);
    out.set(this.f32(offset, length));
  }

  /** When set, accumulates CPU milliseconds (all threads) per kernel id: a profiling aid for benchmarks. */
  profile: Map<number, number> | undefined;

  private run(params: number[], ntasks: number, work: number, threshold = PARALLEL_FLOPS): void {
    if (!this.profile) {
      this.pool.run(params, ntasks, work >= threshold);
      return;
    }
    const t0 = process.cpuUsage();
    this.pool.run(params, ntasks, work >= threshold);
    const d = process.cpuUsage(t0);
    const k = params[0]!;
    this.profile.set(k, (this.profile.get(k) ?? 0) + (d.user + d.system) / 1000);
  }

  /** Copies planes [N][C][H][W] to [N][Cd][Hd][Wd] at (ty, tx), zero elsewhere. */
  private pad(src: number, dst: number, N: number, C: number, Cd: number, H: number, W: number,
              Hd: number, Wd: number, ty: number, tx: number): void {
    this.run([K_PAD, src, dst, N, C, Cd, H, W, Hd, Wd, ty, tx], N * Cd, N * Cd * Hd * Wd, PARALLEL_ELEMS);
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
    const inLen = N * Cin * H * W, outLen = N * Cout * H * W, wLen = s.outChannels * s.inChannels * KK;
    const direct = Wq === W && Oq === Cout;
    const a = this.arena;
    a.reset();
    const xin = a.floats(inLen);
    const xp = a.floats(N * Cin * Hp * Wp);
    const win = a.floats(wLen);
    const wr = a.floats(Oq * Cin * KK);
    const yq = a.floats(N * Oq * H * Wq);
    const yout = direct ? yq : a.floats(outLen);
    this.commit();
    this.put(xin, xa, inLen);
    this.put(win, wa, wLen);
    this.pad(xin, xp, N, Cin, Cin, H, W, Hp, Wp, p, p);
    this.run([K_WEIGHTS_DIRECT, win, wr, s.outChannels, s.inChannels, K, mode], Oq >> 2, wLen * 8);
    const flops = 2 * N * H * Wq * Cin * Oq * KK;
    const rowsTotal = N * (Oq >> 2) * H;
    const band = Math.max(1, Math.min(H, Math.ceil(rowsTotal / (this.threads * 12))));
    const nBands = Math.ceil(H / band);
    this.run([K_CONV_DIRECT, xp, wr, yq, N, Cin, Oq, H, Wq, Hp, Wp, K, band], N * (Oq >> 2) * nBands, flops);
    if (!direct) {
      this.run([K_CROP, yq, yout, N, Oq, Cout, H, Wq, W], N * Cout, outLen, PARALLEL_ELEMS);
    }
    this.get(yout, ya, outLen);
  }

  private gradWeightDirect(xa: Float32Array, dya: Float32Array, s: ConvShape, dwa: Float32Array): void {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const Wq = ceilTo(W, 8), Wp = Wq + K - 1, Hp = H + K - 1, Oq = ceilTo(O, 4);
    const xLen = N * C * H * W, dyLen = N * O * H * W, wLen = O * C * KK;
    const a = this.arena;
    a.reset();
    const xin = a.floats(xLen);
    const xp = a.floats(N * C * Hp * Wp);
    const dyin = a.floats(dyLen);
    const dyq = a.floats(N * Oq * H * Wq);
    const ntasks = (Oq >> 2) * C;
    const acc = a.floats(ntasks * 4 * K * (K + 1) * 4);
    const dw = a.floats(wLen);
    this.commit();
    this.put(xin, xa, xLen);
    this.put(dyin, dya, dyLen);
    this.pad(xin, xp, N, C, C, H, W, Hp, Wp, p, p);
    this.pad(dyin, dyq, N, O, Oq, H, W, H, Wq, 0, 0);
    const rows = Math.max(1, Math.floor(32768 / (4 * (4 * Wq + Wp))));
    const flops = 2 * N * H * Wq * C * Oq * K * (K + 1);
    this.run([K_GRADW_DIRECT, xp, dyq, dw, N, C, O, Oq, H, Wq, Hp, Wp, K, rows, acc], ntasks, flops);
    this.get(dw, dwa, wLen);
  }

  /** Per-thread scratch of the FFT kernels, in bytes: B, P, S, OB products, lane table. */
  private fftScratch(p: FftPlan, OB: number): { base: number; per: number } {
    const per = ceilTo(((p.T / 2) * p.T + p.T + p.F + OB * p.F) * 32 + 64 + 256, 64);
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
    const plan = fftPlan(s, this.fftTile(s));
    const { T, V, tY, tX, numTiles, G, F, Hx, Wx } = plan;
    const OB = Math.min(Lq, 8);
    const inLen = N * R * H * W, outLen = N * L * H * W, wLen = s.outChannels * s.inChannels * KK;
    const a = this.arena;
    a.reset();
    const xin = a.floats(inLen);
    const xp = a.floats(N * R * Hx * Wx);
    const win = a.floats(wLen);
    const Ws = a.floats(F * R * Lq * 2);
    const Xs = a.floats(G * F * R * 8);
    const yout = a.floats(outLen);
    const zeroLen = T * Wx + 64;
    const zero = a.floats(zeroLen);
    const sc = this.fftScratch(plan, OB);
    this.commit();
    this.put(xin, xa, inLen);
    this.put(win, wa, wLen);
    this.f32(zero, zeroLen).fill(0);
    this.pad(xin, xp, N, R, R, H, W, Hx, Wx, p, p);
    const tfFlops = 12 * T * T * Math.log2(T);
    this.run([K_FFT_FILTER, win, Ws, L, Lq, R, K, T, mode, f32bits(1 / (4 * T * T)), sc.base, sc.per],
      (R * Lq) >> 2, ((R * Lq) >> 2) * tfFlops);
    this.run([K_FFT_INPUT, xp, Xs, N, R, T, V, tY, tX, Wx, Hx * Wx, T, T, F * R * 32, process.env.HACK ? 32 : R * 32, zero, numTiles, sc.base, sc.per],
      G * R, G * R * tfFlops);
    const nOB = Math.ceil(Lq / OB);
    this.run([K_FFT_CONV, Xs, Ws, yout, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, sc.base, sc.per],
      G * nOB, G * F * R * Lq * 32);
    this.get(yout, ya, outLen);
  }

  private gradWeightFft(xa: Float32Array, dya: Float32Array, s: ConvShape, dwa: Float32Array): void {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const plan = fftPlan(s, this.fftTile(s));
    const { T, V, tY, tX, numTiles, G, F, Hx, Wx } = plan;
    const Hd = tY * V, Wd = tX * V;
    const OCq = ceilTo(O * C, 4);
    const xLen = N * C * H * W, dyLen = N * O * H * W, wLen = O * C * KK;
    const a = this.arena;
    a.reset();
    const xin = a.floats(xLen);
    const xp = a.floats(N * C * Hx * Wx);
    const dyin = a.floats(dyLen);
    const dyp = a.floats(N * O * Hd * Wd);
    const Xs = a.floats(F * G * C * 8);
    const DYs = a.floats(F * G * O * 8);
    const Racc = a.floats(F * OCq * 2);
    const dw = a.floats(wLen);
    const zeroLen = T * Wx + 64;
    const zero = a.floats(zeroLen);
    const sc = this.fftScratch(plan, 0);
    this.commit();
    this.put(xin, xa, xLen);
    this.put(dyin, dya, dyLen);
    this.f32(zero, zeroLen).fill(0);
    this.pad(xin, xp, N, C, C, H, W, Hx, Wx, p, p);
    this.pad(dyin, dyp, N, O, O, H, W, Hd, Wd, 0, 0);
    const tfFlops = 12 * T * T * Math.log2(T);
    this.run([K_FFT_INPUT, xp, Xs, N, C, T, V, tY, tX, Wx, Hx * Wx, T, T, C * 32, G * C * 32, zero, numTiles, sc.base, sc.per],
      G * C, G * C * tfFlops);
    this.run([K_FFT_INPUT, dyp, DYs, N, O, T, V, tY, tX, Wd, Hd * Wd, V, V, O * 32, G * O * 32, zero, numTiles, sc.base, sc.per],
      G * O, G * O * tfFlops);
    const fPer = Math.max(1, Math.ceil(F / (this.threads * 8)));
    this.run([K_FFT_GRADW, Xs, DYs, Racc, C, O, G, F, fPer, OCq], Math.ceil(F / fPer), G * F * O * C * 32);
    this.run([K_FFT_GRADW_INV, Racc, dw, O * C, OCq, K, T, f32bits(1 / (4 * T * T)), sc.base, sc.per],
      OCq >> 2, (OCq >> 2) * tfFlops);
    this.get(dw, dwa, wLen);
  }
}

/** The per-shape choice between direct and FFT convolution (see bench/kernels.ts). */
export function chooseAlgorithm(_pass: ConvPass, s: ConvShape): ConvAlgorithm {
  if (s.kernel < 5) return 'direct';
  return 'fft';
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
  try {
    memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
  } catch {
    memory = new WebAssembly.Memory({ initial, maximum: 16384, shared: true });
  }
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const runTask = instance.exports.runTask as (job: number, task: number, thread: number) => void;
  (instance.exports.initTables as () => void)();
  const pool = await ThreadPool.create(platform, module, memory, runTask, threads, relaxed);
  const force = opts.algorithm && opts.algorithm !== 'auto' ? opts.algorithm : undefined;
  return new WasmBackend(memory, pool, relaxed, force);
}
