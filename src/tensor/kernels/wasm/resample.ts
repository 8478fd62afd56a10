/**
 * Resampling kernels (assembly/resample.ts): the [1 4 6 4 1] blur, nearest resize and its
 * gradient, 2x2 max pooling and its gradient. Tasks are bands of rows of a plane, enough of them
 * for about 4 a thread. nearestTables also serves the fused affine kernels (affine.ts).
 */
import { nearestIndex } from '../backend.js';
import { type KernelCalls, ceilTo, PARALLEL_ELEMS } from './calls.js';
import { K_BLUR, K_NEAREST, K_NEAREST_GRAD, K_MAX_POOL } from './kernel-ids.js';

/** Byte offsets of a nearest resize's index tables in the shared memory (rowStart 0 when not asked for). */
export interface NearestTables {
  /** 1 exact 2x up, 2 exact 2x down, 0 other: the kernels' fast paths. */
  mode: number;
  /** Source row of each output row (outH int32), source column of each output column (outW). */
  ri: number;
  ci: number;
  /** First output row reading each input row, inH + 1 values (the row map is monotone). */
  rowStart: number;
}

/** Writes the index tables of a nearest resize from inH x inW to outH x outW into this call's scratch. */
export function nearestTables(k: KernelCalls, outH: number, inH: number, outW: number, inW: number, rowStart: boolean): NearestTables {
  const ri = nearestIndex(outH, inH),
    ci = nearestIndex(outW, inW);
  const mode = outH === 2 * inH && outW === 2 * inW ? 1 : inH === 2 * outH && inW === 2 * outW ? 2 : 0;
  let rs: Int32Array | null = null;
  if (rowStart) {
    rs = new Int32Array(inH + 1);
    for (let r = 0, i = 0; r <= inH; r++) {
      while (i < outH && ri[i]! < r) i++;
      rs[r] = i;
    }
  }
  const a = k.arena;
  const at = { mode, ri: a.floats(outH), ci: a.floats(outW), rowStart: rs ? a.floats(inH + 1) : 0 };
  const buf = k.buffer; // after the allocations, which may grow the memory
  new Int32Array(buf, at.ri, ri.length).set(ri);
  new Int32Array(buf, at.ci, ci.length).set(ci);
  if (rs) new Int32Array(buf, at.rowStart, rs.length).set(rs);
  return at;
}

function checkDims(what: string, ...dims: number[]): void {
  for (const v of dims) if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: bad size ${v}`);
}

export class ResampleKernels {
  constructor(private readonly k: KernelCalls) {}

  /** Bands of rows (of `rows` total) per plane: about 4 tasks a thread over all planes. */
  private rowsPerTask(rows: number, planes: number): number {
    const bands = Math.max(1, Math.min(rows, Math.ceil((4 * this.k.threads) / planes)));
    return Math.ceil(rows / bands);
  }

  blur(x: Float32Array, planes: number, height: number, width: number, y: Float32Array): void {
    checkDims('blur', planes, height, width);
    const n = planes * height * width;
    const ar = this.k.arena;
    ar.reset();
    const xp = this.k.input(x, n),
      yp = this.k.outputAt(y, n);
    const per = ceilTo((width + 16) * 4 + 64, 64); // per-thread row buffer (bytes)
    const scratch = ar.floats((per * this.k.threads) / 4);
    const rows = this.rowsPerTask(height, planes);
    this.k.run([K_BLUR, xp, yp, planes, height, width, rows, scratch, per], planes * Math.ceil(height / rows), n * 4, PARALLEL_ELEMS);
    this.k.output(yp, y, n);
  }

  nearest(x: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, y: Float32Array): void {
    checkDims('nearest', planes, height, width, outHeight, outWidth);
    const nIn = planes * height * width,
      nOut = planes * outHeight * outWidth;
    this.k.arena.reset();
    const xp = this.k.input(x, nIn),
      yp = this.k.outputAt(y, nOut);
    const t = nearestTables(this.k, outHeight, height, outWidth, width, false);
    let rows = this.rowsPerTask(outHeight, planes);
    if (t.mode === 1 && rows % 2) rows++; // keep the row pairs of 2x upsampling together
    this.k.run(
      [K_NEAREST, xp, yp, planes, height, width, outHeight, outWidth, t.ri, t.ci, rows, t.mode],
      planes * Math.ceil(outHeight / rows),
      nOut,
      PARALLEL_ELEMS,
    );
    this.k.output(yp, y, nOut);
  }

  /** Tasks are bands of input rows, each summing the output rows that read them (rowStart). */
  nearestGrad(gy: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, gx: Float32Array): void {
    checkDims('nearestGrad', planes, height, width, outHeight, outWidth);
    const nIn = planes * height * width,
      nOut = planes * outHeight * outWidth;
    this.k.arena.reset();
    const gp = this.k.input(gy, nOut),
      xp = this.k.outputAt(gx, nIn);
    const t = nearestTables(this.k, outHeight, height, outWidth, width, true);
    const rows = this.rowsPerTask(height, planes);
    this.k.run(
      [K_NEAREST_GRAD, gp, xp, planes, height, width, outHeight, outWidth, t.ri, t.ci, rows, t.mode, t.rowStart],
      planes * Math.ceil(height / rows),
      nOut + nIn,
      PARALLEL_ELEMS,
    );
    this.k.output(xp, gx, nIn);
  }

  /** Forward (gy null: dst = the pooled x) or gradient (dst = gy routed to the maxima, H x W). */
  maxPool(x: Float32Array, gy: Float32Array | null, planes: number, height: number, width: number, dst: Float32Array): void {
    checkDims('maxPool2', planes, height, width);
    if (height % 2 || width % 2) throw new Error(`maxPool2: size ${height}x${width} is not even`);
    const n = planes * height * width,
      nOut = n / 4;
    this.k.arena.reset();
    const xp = this.k.input(x, n),
      gyp = gy ? this.k.input(gy, nOut) : 0,
      dp = this.k.outputAt(dst, gy ? n : nOut);
    const h2 = height / 2;
    const rows = this.rowsPerTask(h2, planes);
    this.k.run([K_MAX_POOL, xp, gy ? 0 : dp, gyp, gy ? dp : 0, planes, height, width, rows, gy ? 1 : 0], planes * Math.ceil(h2 / rows), n, PARALLEL_ELEMS);
    this.k.output(dp, dst, gy ? n : nOut);
  }
}
