/**
 * Convolutions computed directly (assembly/direct.ts, assembly/layout.ts): a zero-padded copy of
 * the input, then register-blocked kernels, 4 output channels x 8 pixels a block. The gradient
 * of the input is the same kernel with transposed, flipped weights. The choice between this and
 * the FFT (fft-conv.ts) is conv-plan.ts's.
 */
import type { ConvShape } from '../backend.js';
import { type KernelCalls, ceilTo, PARALLEL_ELEMS } from './calls.js';
import { K_PAD, K_CROP, K_WEIGHTS_DIRECT, K_CONV_DIRECT, K_GRADW_DIRECT, K_CHANNEL_MIX_GRAD } from './kernel-ids.js';

/**
 * A plane stride (floats) for h x w planes walked together: one cache line more when h*w is a
 * multiple of 1 KiB, so that the same pixel of consecutive planes does not map to the same
 * few L1 cache sets.
 */
const planeStride = (h: number, w: number): number => h * w + ((h * w) % 256 === 0 ? 16 : 0);

/**
 * Pixels per task of the 1x1 kernels (a multiple of 8): a chunk's rows of all `rows` planes
 * (about 32 KiB) stay in the core's cache while every block of outputs reads them.
 */
const mixChunk = (rows: number): number => Math.max(8, Math.floor(8192 / rows) & ~7);

export class DirectConvolutions {
  constructor(private readonly k: KernelCalls) {}

  /** Copies planes [N][C][H][W] to [N][Cd][Hd][Wd] (plane stride `plane`) at (ty, tx), zero elsewhere. */
  private pad(
    src: number,
    dst: number,
    N: number,
    C: number,
    Cd: number,
    H: number,
    W: number,
    Hd: number,
    Wd: number,
    ty: number,
    tx: number,
    plane: number,
  ): void {
    this.k.run([K_PAD, src, dst, N, C, Cd, H, W, Hd, Wd, ty, tx, plane], N * Cd, N * Cd * Hd * Wd, PARALLEL_ELEMS);
  }

  /**
   * mode 0: y = conv2d(x, w) with x [N][C], y [N][O].
   * mode 1: dx = conv2dGradInput(dy, w): the same kernel over dy [N][O] with the weights
   * transposed and flipped, output [N][C].
   */
  convolve(xa: Float32Array, wa: Float32Array, s: ConvShape, ya: Float32Array, mode: 0 | 1): void {
    const { batch: N, height: H, width: W, kernel: K } = s;
    const Cin = mode === 0 ? s.inChannels : s.outChannels;
    const Cout = mode === 0 ? s.outChannels : s.inChannels;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const Wq = ceilTo(W, 8),
      Wp = Wq + K - 1,
      Hp = H + K - 1,
      Oq = ceilTo(Cout, 4);
    // A 1x1 convolution reads the input as it is: no padded copy (nor the cache-set spacing).
    const noPad = K === 1 && Wq === W;
    const planeX = noPad ? H * W : planeStride(Hp, Wp),
      planeY = noPad ? H * W : planeStride(H, Wq);
    const inLen = N * Cin * H * W,
      outLen = N * Cout * H * W,
      wLen = s.outChannels * s.inChannels * KK;
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
    // A 1x1 convolution's task does every block of 4 outputs over rows of about mixChunk pixels,
    // which stay in cache for all blocks after the first; otherwise a task is one block.
    const obInside = noPad ? 1 : 0;
    const rowsTotal = N * (Oq >> 2) * H;
    const band = obInside ? Math.max(1, Math.floor(mixChunk(Cin) / W)) : Math.max(1, Math.min(H, Math.ceil(rowsTotal / (this.k.threads * 12))));
    const nBands = Math.ceil(H / band);
    // input channels per pass: their K rows (about 24 KiB) stay in the L1 cache
    const CC = Math.max(1, Math.min(Cin, Math.floor(24576 / (K * Wp * 4))));
    const tapView = new Int32Array(this.k.buffer, taps, Cin * KK);
    for (let c = 0, i = 0; c < Cin; c++) {
      for (let ka = 0; ka < K; ka++) for (let kb = 0; kb < K; kb++) tapView[i++] = (c * planeX + ka * Wp + kb) * 4;
    }
    const tasks = N * (obInside ? 1 : Oq >> 2) * nBands;
    this.k.run([K_CONV_DIRECT, xp, wr, yq, N, Cin, Oq, H, Wq, Hp, Wp, K, band, CC, taps, planeX, planeY, obInside], tasks, flops);
    if (!direct) {
      this.k.run([K_CROP, yq, yout, N, Oq, Cout, H, Wq, W, planeY], N * Cout, outLen, PARALLEL_ELEMS);
    }
    this.k.output(yout, ya, outLen);
  }

  /** dw = conv2dGradWeight(x, dy): one task per (4 output channels, input channel). */
  gradWeight(xa: Float32Array, dya: Float32Array, s: ConvShape, dwa: Float32Array): void {
    const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
    const p = (K - 1) >> 1;
    const KK = K * K;
    const Wq = ceilTo(W, 8),
      Wp = Wq + K - 1,
      Hp = H + K - 1,
      Oq = ceilTo(O, 4);
    // 1x1: the inputs as they are (the kernel's extra tap column reads one value past a row: heap slack)
    const noPad = K === 1 && Wq === W;
    const planeX = noPad ? H * W : planeStride(Hp, Wp),
      planeY = noPad ? H * W : planeStride(H, Wq);
    const xLen = N * C * H * W,
      dyLen = N * O * H * W,
      wLen = O * C * KK;
    const a = this.k.arena;
    a.reset();
    const xin = this.k.input(xa, xLen);
    const xp = noPad ? xin : a.floats(N * C * planeX);
    const dyin = this.k.input(dya, dyLen);
    const dyAsIs = noPad && Oq === O;
    const dyq = dyAsIs ? dyin : a.floats(N * Oq * planeY);
    const dw = this.k.outputAt(dwa, wLen);
    if (dyAsIs) {
      const CB = 4,
        chunk = mixChunk(4 + 2),
        tasks = (Oq >> 2) * Math.ceil(C / CB);
      const mixAcc = a.floats(tasks * CB * 4 * 4);
      this.k.run([K_CHANNEL_MIX_GRAD, xin, dyin, dw, N, C, O, Oq, H * W, chunk, mixAcc, CB], tasks, 2 * N * H * W * C * O);
      this.k.output(dw, dwa, wLen);
      return;
    }
    const ntasks = (Oq >> 2) * C;
    const acc = a.floats(ntasks * 4 * K * (K + 1) * 4);
    if (!noPad) this.pad(xin, xp, N, C, C, H, W, Hp, Wp, p, p, planeX);
    if (!dyAsIs) this.pad(dyin, dyq, N, O, Oq, H, W, H, Wq, 0, 0, planeY);
    const rows = Math.max(1, Math.floor(32768 / (4 * (4 * Wq + Wp))));
    const flops = 2 * N * H * Wq * C * Oq * K * (K + 1);
    this.k.run([K_GRADW_DIRECT, xp, dyq, dw, N, C, O, Oq, H, Wq, Hp, Wp, K, rows, acc, planeX, planeY], ntasks, flops);
    this.k.output(dw, dwa, wLen);
  }
}
