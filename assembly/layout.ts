// Data movement kernels: zero padding, cropping, weight re-arrangement. O(size) work, run
// in parallel like the rest so that they never dominate.
import { P, PU, imin } from './simd';

/**
 * Copies planes src[N][Csrc][H][W] into dst[N][Cdst][Hd][Wd] at row/column offset (ty, tx),
 * zero elsewhere (also whole planes c >= Csrc). Task = one destination plane.
 * job: [kind, src, dst, N, Csrc, Cdst, H, W, Hd, Wd, ty, tx, plane]
 * plane: destination plane stride in floats (>= Hd*Wd; the gap is left as it is).
 */
export function padTask(job: usize, t: i32): void {
  const src = PU(job, 1), dst = PU(job, 2);
  const Csrc = P(job, 4), Cdst = P(job, 5);
  const H = P(job, 6), W = P(job, 7), Hd = P(job, 8), Wd = P(job, 9);
  const ty = P(job, 10), tx = P(job, 11);
  const n = t / Cdst, c = t - n * Cdst;
  const d = dst + (<usize>t * <usize>P(job, 12) << 2);
  const planeBytes = <usize>(Hd * Wd) << 2;
  if (c >= Csrc) {
    memory.fill(d, 0, planeBytes);
    return;
  }
  const s = src + (<usize>(n * Csrc + c) * <usize>(H * W) << 2);
  // top rows
  if (ty > 0) memory.fill(d, 0, <usize>(ty * Wd) << 2);
  const rows = imin(H, Hd - ty);
  const cols = imin(W, Wd - tx);
  const right = Wd - tx - cols;
  for (let h = 0; h < rows; h++) {
    const dr = d + (<usize>((h + ty) * Wd) << 2);
    if (tx > 0) memory.fill(dr, 0, <usize>tx << 2);
    memory.copy(dr + (<usize>tx << 2), s + (<usize>(h * W) << 2), <usize>cols << 2);
    if (right > 0) memory.fill(dr + (<usize>(tx + cols) << 2), 0, <usize>right << 2);
  }
  const after = ty + rows;
  if (after < Hd) memory.fill(d + (<usize>(after * Wd) << 2), 0, <usize>((Hd - after) * Wd) << 2);
}

/**
 * Copies src[N][Csrc][H][Ws] (first W columns, first Cdst channels) to dst[N][Cdst][H][W].
 * job: [kind, src, dst, N, Csrc, Cdst, H, Ws, W, plane]; task = destination plane; plane =
 * source plane stride in floats.
 */
export function cropTask(job: usize, t: i32): void {
  const src = PU(job, 1), dst = PU(job, 2);
  const Csrc = P(job, 4), Cdst = P(job, 5);
  const H = P(job, 6), Ws = P(job, 7), W = P(job, 8);
  const n = t / Cdst, c = t - n * Cdst;
  const s = src + (<usize>(n * Csrc + c) * <usize>P(job, 9) << 2);
  const d = dst + (<usize>t * <usize>(H * W) << 2);
  for (let h = 0; h < H; h++) {
    memory.copy(d + (<usize>(h * W) << 2), s + (<usize>(h * Ws) << 2), <usize>W << 2);
  }
}

/**
 * Weights for the direct kernel: w[A][B][K][K] -> wr[Lq/4][R][K][K][4], where the lanes run
 * over 4 consecutive "output" channels of the convolution being computed and R is the
 * reduction channel count. mode 0 (forward): lanes = A, R = B. mode 1 (gradient of input):
 * lanes = B, R = A, kernel flipped. Missing lanes (past the channel count) are zero.
 * job: [kind, src, dst, A, B, K, mode]; task = lane block.
 */
export function weightsDirectTask(job: usize, t: i32): void {
  const src = PU(job, 1), dst = PU(job, 2);
  const A = P(job, 3), B = P(job, 4), K = P(job, 5), mode = P(job, 6);
  const KK = K * K;
  const L = mode == 0 ? A : B;
  const R = mode == 0 ? B : A;
  let d = dst + (<usize>(t * R * KK) << 4);
  for (let r = 0; r < R; r++) {
    for (let ab = 0; ab < KK; ab++) {
      for (let l = 0; l < 4; l++) {
        const ch = t * 4 + l;
        let v: f32 = 0;
        if (ch < L) {
          if (mode == 0) v = load<f32>(src + (<usize>((ch * B + r) * KK + ab) << 2));
          else v = load<f32>(src + (<usize>((r * B + ch) * KK + (KK - 1 - ab)) << 2));
        }
        store<f32>(d, v);
        d += 4;
      }
    }
  }
}
