/**
 * The coupling's fused affine tail, forward and backward (assembly/elementwise.ts affine*Task;
 * the maths: AffineShape in ../backend.ts). Tasks are bands of rows of the affine resolution h x w,
 * each over all planes, so that per-pixel sums over the planes (cvn) stay within a task. One job
 * when the mean is known (evaluation, cvn); svn training takes two, with the per-channel means
 * summed here in between from float64 partial sums. The flags say which phases a job runs.
 */
import { affineSizes, type AffineShape } from '../backend.js';
import { type KernelCalls, f32bits, PARALLEL_ELEMS, TRANSCENDENTAL_WORK } from './calls.js';
import { nearestTables } from './resample.js';
import { K_AFFINE, K_AFFINE_BACK, A_SOFT, A_CVN, A_SVN, A_APPLY, A_MEAN_SHIFT, A_SAME, A_HAVE_S, A_INVERSE } from './kernel-ids.js';

const NO_TABLES = { ri: 0, ci: 0, rowStart: 0 };

export class AffineKernels {
  constructor(private readonly k: KernelCalls) {}

  /** Rows of the affine resolution per task: about 32 K values over all planes, 4 tasks a thread. */
  private rows(s: AffineShape): number {
    const { height: h, width: w } = s;
    const planes = s.batch * s.channels;
    const byCache = Math.max(1, Math.floor(32768 / (w * planes)));
    return Math.max(1, Math.min(byCache, Math.ceil(h / (4 * this.k.threads)), h));
  }

  forward(raw: Float32Array, x: Float32Array, s: AffineShape, runningMean: Float32Array | null, y: Float32Array, batchMean: Float32Array | null): void {
    const { hw, planes, rawSize, xSize, meanSize, same } = affineSizes(s);
    const training = runningMean === null;
    const cvn = s.volumeNorm === 'cvn';
    if (training && (!batchMean || batchMean.length < meanSize)) throw new Error(`fusedAffineForward: training needs a batchMean of ${meanSize} values`);
    if (runningMean && runningMean.length !== 1 && runningMean.length !== meanSize) {
      throw new Error(`fusedAffineForward: running mean of ${runningMean.length} values, expected 1 or ${meanSize}`);
    }
    if (y.length < xSize) throw new Error(`output array too short: ${y.length} < ${xSize}`);
    const rows = this.rows(s);
    const nb = Math.ceil(s.height / rows);
    const a = this.k.arena;
    a.reset();
    const rawP = this.k.input(raw, rawSize),
      xP = this.k.input(x, xSize),
      yP = this.k.outputAt(y, xSize);
    const sclP = training || !same ? a.floats(planes * hw) : 0;
    const meanP = a.floats(meanSize);
    const accP = training && cvn ? a.floats(2 * hw) : 0;
    const partP = training && !cvn ? a.floats(2 * nb * planes) : 0;
    const t = same ? NO_TABLES : nearestTables(this.k, s.outHeight, s.height, s.outWidth, s.width, true);
    const meanKind = training ? (cvn ? 1 : 2) : runningMean!.length === 1 ? 0 : cvn ? 1 : 2;
    if (runningMean) this.k.put(meanP, runningMean, runningMean.length);
    const base = (same ? A_SAME : 0) | (s.inverse ? A_INVERSE : 0);
    const params = (flags: number): number[] => [
      K_AFFINE,
      rawP,
      xP,
      sclP,
      yP,
      meanP,
      accP,
      s.batch,
      s.channels,
      s.height,
      s.width,
      s.outHeight,
      s.outWidth,
      rows,
      flags | base | (meanKind << A_MEAN_SHIFT),
      f32bits(s.clamp * 0.636),
      f32bits(1 / s.clamp),
      t.ri,
      t.ci,
      t.rowStart,
      partP,
    ];
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

  backward(
    gy: Float32Array,
    raw: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    s: AffineShape,
    training: boolean,
    gx: Float32Array | null,
    graw: Float32Array,
  ): void {
    const { hw, planes, rawSize, xSize, meanSize, same } = affineSizes(s);
    const cvn = s.volumeNorm === 'cvn';
    if (mean.length !== 1 && mean.length !== meanSize) throw new Error(`fusedAffineBackward: mean of ${mean.length} values, expected 1 or ${meanSize}`);
    if (graw.length < rawSize) throw new Error(`output array too short: ${graw.length} < ${rawSize}`);
    if (gx && gx.length < xSize) throw new Error(`output array too short: ${gx.length} < ${xSize}`);
    const rows = this.rows(s);
    const nb = Math.ceil(s.height / rows);
    const a = this.k.arena;
    a.reset();
    const gyP = this.k.input(gy, xSize),
      rawP = this.k.input(raw, rawSize),
      xP = this.k.input(x, xSize);
    const gxP = gx ? this.k.outputAt(gx, xSize) : 0,
      grawP = this.k.outputAt(graw, rawSize);
    const sclP = same ? 0 : a.floats(planes * hw);
    const meanP = a.floats(meanSize),
      gmeanP = a.floats(meanSize);
    const accP = training && cvn ? a.floats(2 * hw) : 0;
    const partP = training && !cvn ? a.floats(2 * nb * planes) : 0;
    const t = same ? NO_TABLES : nearestTables(this.k, s.outHeight, s.height, s.outWidth, s.width, true);
    this.k.put(meanP, mean, mean.length);
    const meanKind = mean.length === 1 ? 0 : cvn ? 1 : 2;
    const base = (same ? A_SAME : 0) | (meanKind << A_MEAN_SHIFT);
    const d = s.clamp * 0.636 * (1 / s.clamp);
    const params = (flags: number): number[] => [
      K_AFFINE_BACK,
      gyP,
      rawP,
      xP,
      sclP,
      gxP,
      grawP,
      meanP,
      accP,
      s.batch,
      s.channels,
      s.height,
      s.width,
      s.outHeight,
      s.outWidth,
      rows,
      flags | base,
      f32bits(s.clamp * 0.636),
      f32bits(1 / s.clamp),
      t.ri,
      t.ci,
      t.rowStart,
      partP,
      gmeanP,
      f32bits(d),
    ];
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
}
