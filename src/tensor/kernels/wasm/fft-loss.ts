/**
 * The Fourier loss's transforms (assembly/fftloss.ts): the float64 loops of
 * src/tensor/ops/fft.ts (the same bits) in five phases over all threads: row pairs, columns and
 * moduli forward; columns and row pairs back. Spectra that are not resident are copied in and out
 * (KernelCalls.input / output, on float32 views of their bytes).
 */
import type { FftTables, Radix2Table, Spectra } from '../backend.js';
import { type KernelCalls, PARALLEL_ELEMS, TRANSCENDENTAL_WORK } from './calls.js';
import { K_FFT_LOSS } from './kernel-ids.js';

/** Row pairs, columns or rows per task: even (the kernel takes two row pairs or columns a vector). */
const ROW_PAIRS = 8,
  COLUMNS = 16,
  ROWS = 32;

/** The kernel's phases (its job's second word). */
const Phase = { RowsForward: 0, ColumnsForward: 1, Moduli: 2, ColumnsInverse: 3, RowsInverse: 4 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

export class FftLossKernels {
  constructor(private readonly k: KernelCalls) {}

  forward(x: Float32Array, planes: number, H: number, W: number, tables: FftTables, spectra: Spectra, rowSums: Float64Array): void {
    const n = planes * H * (W / 2 + 1);
    this.check(spectra, n, H, W);
    if (rowSums.length < planes * H) throw new Error(`fftLossForward: ${rowSums.length} row sums for ${planes * H} rows`);
    const k = this.k;
    k.arena.reset();
    const xp = k.input(x, planes * H * W);
    const reBytes = bytes(spectra.re, n),
      imBytes = bytes(spectra.im, n);
    const re = k.outputAt(reBytes, 2 * n),
      im = k.outputAt(imBytes, 2 * n);
    const sums = k.arena.floats(2 * planes * H);
    const job = this.job(planes, H, W, tables, re, im, sums);
    this.run(job, Phase.RowsForward, xp, planes, H, W);
    this.run(job, Phase.ColumnsForward, 0, planes, H, W);
    this.run(job, Phase.Moduli, 0, planes, H, W);
    k.output(re, reBytes, 2 * n);
    k.output(im, imBytes, 2 * n);
    rowSums.set(new Float64Array(k.buffer, sums, planes * H));
  }

  backward(spectra: Spectra, planes: number, H: number, W: number, tables: FftTables, c: number, gx: Float32Array): void {
    const n = planes * H * (W / 2 + 1);
    this.check(spectra, n, H, W);
    const k = this.k;
    k.arena.reset();
    // (destroyed: nothing is copied back)
    const re = k.input(bytes(spectra.re, n), 2 * n),
      im = k.input(bytes(spectra.im, n), 2 * n);
    const gp = k.outputAt(gx, planes * H * W);
    const job = this.job(planes, H, W, tables, re, im, 0);
    const cw = new Int32Array(new Float64Array([c]).buffer);
    job.push(cw[0]!, cw[1]!);
    this.run(job, Phase.ColumnsInverse, 0, planes, H, W);
    this.run(job, Phase.RowsInverse, gp, planes, H, W);
    k.output(gp, gx, planes * H * W);
  }

  private check(spectra: Spectra, n: number, H: number, W: number): void {
    if (H < 2 || W < 4 || (H & (H - 1)) !== 0 || (W & (W - 1)) !== 0) throw new Error(`fft loss kernels: ${H} x ${W} is not a power-of-two plane`);
    if (spectra.re.length < n || spectra.im.length < n) throw new Error(`fft loss kernels: spectra of ${spectra.re.length} values, ${n} needed`);
  }

  /** The job words common to all phases (phase, data and block filled in by run). */
  private job(planes: number, H: number, W: number, tables: FftTables, re: number, im: number, sums: number): number[] {
    const scratch = this.k.arena.floats(8 * W * this.k.threads);
    return [K_FFT_LOSS, 0, 0, re, im, planes, H, W, this.table(tables.width, W), this.table(tables.height, H), sums, scratch, 32 * W, 0];
  }

  private run(job: number[], phase: Phase, data: number, planes: number, H: number, W: number): void {
    const rows = phase === Phase.RowsForward || phase === Phase.RowsInverse;
    const columns = phase === Phase.ColumnsForward || phase === Phase.ColumnsInverse;
    const units = rows ? H / 2 : columns ? W / 2 + 1 : H;
    const block = rows ? ROW_PAIRS : columns ? COLUMNS : ROWS;
    job[1] = phase;
    job[2] = data;
    job[13] = block;
    // work: about a transform's log2 passes (or a square root) per value
    const work = planes * H * W * (phase === Phase.Moduli ? TRANSCENDENTAL_WORK / 2 : Math.log2(rows ? W : H));
    this.k.run(job, planes * Math.ceil(units / block), work, PARALLEL_ELEMS);
  }

  /** A radix-2 table in the call's scratch: rev int32[n], then cos and sin float64 from the next multiple of 8 bytes. */
  private table(t: Radix2Table, n: number): number {
    const half = Math.max(1, n >> 1);
    if (t.rev.length !== n || t.cos.length !== half || t.sin.length !== half)
      throw new Error(`fft loss kernels: a table for length ${t.rev.length}, ${n} needed`);
    const cosAt = Math.ceil((n * 4) / 8) * 8;
    const p = this.k.arena.floats((cosAt + 16 * half) / 4);
    const buf = this.k.buffer;
    new Int32Array(buf, p, n).set(t.rev);
    new Float64Array(buf, p + cosAt, half).set(t.cos);
    new Float64Array(buf, p + cosAt + 8 * half, half).set(t.sin);
    return p;
  }
}

/** The bytes of a float64 array's first n values as 2n floats (for the float32 copies in and out). */
function bytes(a: Float64Array, n: number): Float32Array {
  return new Float32Array(a.buffer, a.byteOffset, 2 * n);
}
