// The two gradients of a convolution by tiled FFT (see fftconv.ts for tiles, lanes and slots).
//
// Gradient of the weights: per frequency slot, a sum over tiles of products of two spectra,
// accumulated over all tiles (kind 9, spectra as "frequency quads": vectors over 4 consecutive
// slots, so that the sum over tiles stays inside each lane), then one inverse transform per
// filter pair (kind 10).
//
// The backward job (kind 19) computes the gradient of the input of a tile group from the full
// T x T windows of dy (as a forward-type convolution with the flipped filters) and stores those
// same dy spectra as frequency quads for the weight gradient, so that dy is transformed once
// for both gradients. The weight gradient then pairs dy windows with V x V blocks of x:
// dw[o][c][a][b] = sum over blocks, i, j of x[c][i][j] dy[o][i + 2p - a][j + 2p - b], i.e. the
// correlation conj(X_block) * DY_window read at (2p - a, 2p - b).
import { P as Pm, PU, imin, imax, madd, ld, st } from './simd';
import { inv2d, slotCount } from './fft';
import { useNative, nativeGradWProducts } from './native';
import { scratchOf, scrB, scrP, scrS, scrRest, prepareLanes, transformChannels, storeQuads, groupOutputs } from './fftconv';

/**
 * Kind 9: weight-gradient products on frequency quads (vectors over 4 consecutive slots):
 * Racc[fq][o*C + c] = sum over tiles t of conj(DY[fq][t][o]) * X[fq][t][c], complex vectors.
 * Task = a run of qPer quads. Accumulators: 1 output channel x 2 input channels x 4 partial
 * products (one multiply-add per accumulator per tile).
 * job: [kind, Xs, DYs, Racc, C, O, Tn (tiles, a multiple of 4), Fq, qPer, txB, tdB, accumulate, TnS, ahead]
 * (TnS: the tiles a quad of the spectra arrays has room for, >= Tn: a chunk's arrays are laid
 * out for a full chunk, the last chunk may hold fewer tiles)
 * (txB, tdB: byte strides between tiles of X and DY, see fftInputTask; accumulate = 1 adds to
 * Racc instead of overwriting it, for tiles processed in chunks).
 */
export function fftGradWTask(job: usize, t: i32, thread: i32): void {
  const Xs = PU(job, 1), DYs = PU(job, 2), Racc = PU(job, 3);
  const C = Pm(job, 4), O = Pm(job, 5), Tn = Pm(job, 6), Fq = Pm(job, 7), qPer = Pm(job, 8), TnS = Pm(job, 12);
  const q0 = t * qPer, q1 = imin(Fq, q0 + qPer);
  const txB = PU(job, 9), tdB = PU(job, 10), acc = Pm(job, 11) != 0;
  if (useNative()) {
    nativeGradWProducts(Xs, DYs, Racc, C, O, Tn, TnS, txB, tdB, q0, q1, acc ? 1 : 0);
    return;
  }
  // With `ahead`, lines of the next quad are touched before each tile loop: a quad's spectra
  // are contiguous but the tile loop strides through them, so a first pass from memory waits
  // on every line (products at ~60% of their in-cache speed once the chunk outgrows the L2
  // cache; touching: 2-7% faster passes at 128 and 256, 3-7% slower at 64, whose chunks fit).
  const ahead = Pm(job, 13) != 0;
  const combos = ((C + 1) >> 1) * O;
  const perCombo = ahead ? (Tn * <i32>(txB + tdB) / 64 + combos - 1) / combos : 0;
  let sink: u32 = 0;
  for (let fq = q0; fq < q1; fq++) {
    const xq = Xs + <usize>fq * <usize>TnS * txB;
    const dq = DYs + <usize>fq * <usize>TnS * tdB;
    const rq = Racc + (<usize>fq * <usize>(O * C) << 5);
    const more = ahead && fq + 1 < Fq;
    let ta = xq + <usize>TnS * txB, tb = dq + <usize>TnS * tdB;
    const taEnd = more ? ta + <usize>Tn * txB : ta, tbEnd = more ? tb + <usize>Tn * tdB : tb;
    for (let c = 0; c < C; c += 2) {
      const cB = imin(c + 1, C - 1);
      for (let o = 0; o < O; o++) {
        for (let k = 0; k < perCombo; k++) {
          if (ta < taEnd) { sink ^= load<u32>(ta); ta += 64; }
          else if (tb < tbEnd) { sink ^= load<u32>(tb); tb += 64; }
        }
        const ra = rq + (<usize>(o * C + c) << 5);
        let p0 = f32x4.splat(0), q0_ = f32x4.splat(0), s0 = f32x4.splat(0), t0 = f32x4.splat(0);
        let p1 = f32x4.splat(0), q1_ = f32x4.splat(0), s1 = f32x4.splat(0), t1 = f32x4.splat(0);
        if (acc) {
          p0 = ld(ra); s0 = ld(ra + 16);
          if (cB != c) { p1 = ld(ra + 32); s1 = ld(ra + 48); }
        }
        let xa = xq + (<usize>c << 5), xb = xq + (<usize>cB << 5), dp = dq + (<usize>o << 5);
        for (let i = 0; i < Tn; i++) {
          const dr = v128.load(dp), di = v128.load(dp, 16);
          const xar = v128.load(xa), xai = v128.load(xa, 16);
          p0 = madd(dr, xar, p0); q0_ = madd(di, xai, q0_); s0 = madd(dr, xai, s0); t0 = madd(di, xar, t0);
          const xbr = v128.load(xb), xbi = v128.load(xb, 16);
          p1 = madd(dr, xbr, p1); q1_ = madd(di, xbi, q1_); s1 = madd(dr, xbi, s1); t1 = madd(di, xbr, t1);
          xa += txB;
          xb += txB;
          dp += tdB;
        }
        // conj(d) * x = (dr xr + di xi) + i (dr xi - di xr)
        st(ra, f32x4.add(p0, q0_)); st(ra + 16, f32x4.sub(s0, t0));
        if (cB != c) { st(ra + 32, f32x4.add(p1, q1_)); st(ra + 48, f32x4.sub(s1, t1)); }
      }
    }
  }
  // never read: a place for the touched bits, per thread, past the job block
  store<u32>(job + 256 + (<usize>thread << 6), sink);
}

// @ts-ignore: decorator
@inline function tr0(a: v128, b: v128, c: v128, d: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 0, 4, 1, 5), 0, 1, 4, 5);
}
// @ts-ignore: decorator
@inline function tr1(a: v128, b: v128, c: v128, d: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 0, 4, 1, 5), 2, 3, 6, 7);
}
// @ts-ignore: decorator
@inline function tr2(a: v128, b: v128, c: v128, d: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 2, 6, 3, 7), v128.shuffle<f32>(c, d, 2, 6, 3, 7), 0, 1, 4, 5);
}
// @ts-ignore: decorator
@inline function tr3(a: v128, b: v128, c: v128, d: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 2, 6, 3, 7), v128.shuffle<f32>(c, d, 2, 6, 3, 7), 2, 3, 6, 7);
}

/**
 * Kind 10: inverse transforms of the accumulated weight-gradient spectra (frequency quads
 * from kind 9), 4 (o, c) pairs per task; writes dw[q][a][b] (q = o*C + c) for a, b < K,
 * times scale. With `swapped` (the backward job's layout, q = c*O + o, taps reflected):
 * writes dw[o*C + c][K-1-a][K-1-b] instead.
 * job: [kind, Racc, dw, OC, K, T, scale (f32 bits), scratch, scratchPer, swapped, O]
 */
export function fftGradWInverseTask(job: usize, t: i32, thread: i32): void {
  const Racc = PU(job, 1), dw = PU(job, 2);
  const OC = Pm(job, 3), K = Pm(job, 4), T = Pm(job, 5);
  const scale = f32x4.splat(load<f32>(job + 24));
  const base = scratchOf(job, 7, thread);
  const B = scrB(base), Pw = scrP(base, T), S = scrS(base, T);
  const F = slotCount(T);
  const q0 = t * 4;
  const qa = <usize>q0 << 5, qb = <usize>imin(q0 + 1, OC - 1) << 5;
  const qc = <usize>imin(q0 + 2, OC - 1) << 5, qd = <usize>imin(q0 + 3, OC - 1) << 5;
  const strideF = <usize>OC << 5;
  let rp = Racc;
  for (let f = 0; f < F; f += 4) {
    const r0 = ld(rp + qa), i0 = ld(rp + qa + 16), r1 = ld(rp + qb), i1 = ld(rp + qb + 16);
    const r2 = ld(rp + qc), i2 = ld(rp + qc + 16), r3 = ld(rp + qd), i3 = ld(rp + qd + 16);
    const sp = S + (<usize>f << 5);
    st(sp, tr0(r0, r1, r2, r3)); st(sp + 16, tr0(i0, i1, i2, i3));
    if (f + 1 < F) { st(sp + 32, tr1(r0, r1, r2, r3)); st(sp + 48, tr1(i0, i1, i2, i3)); }
    if (f + 2 < F) { st(sp + 64, tr2(r0, r1, r2, r3)); st(sp + 80, tr2(i0, i1, i2, i3)); }
    if (f + 3 < F) { st(sp + 96, tr3(r0, r1, r2, r3)); st(sp + 112, tr3(i0, i1, i2, i3)); }
    rp += strideF;
  }
  inv2d(S, B, Pw, T, (K + 1) >> 1);
  const rowB = <usize>T << 5;
  const KK = K * K;
  const swapped = Pm(job, 9) != 0, O = Pm(job, 10), C = OC / imax(1, O);
  // destination of each lane's (a, b) = (0, 0) tap, and the step per tap
  const d0 = tapBase(dw, q0, KK, swapped, O, C), d1 = tapBase(dw, q0 + 1, KK, swapped, O, C);
  const d2 = tapBase(dw, q0 + 2, KK, swapped, O, C), d3 = tapBase(dw, q0 + 3, KK, swapped, O, C);
  for (let a = 0; a < K; a++) {
    const srow = B + <usize>(a >> 1) * rowB + (<usize>(a & 1) << 4);
    for (let b = 0; b < K; b++) {
      const v = f32x4.mul(ld(srow + (<usize>b << 5)), scale);
      const tap = <usize>(swapped ? (K - 1 - a) * K + (K - 1 - b) : a * K + b) << 2;
      store<f32>(d0 + tap, f32x4.extract_lane(v, 0));
      if (q0 + 1 < OC) store<f32>(d1 + tap, f32x4.extract_lane(v, 1));
      if (q0 + 2 < OC) store<f32>(d2 + tap, f32x4.extract_lane(v, 2));
      if (q0 + 3 < OC) store<f32>(d3 + tap, f32x4.extract_lane(v, 3));
    }
  }
}

/** Address of the first tap of pair q's filter: dw + q*KK, or with swapped (q = c*O + o) dw + (o*C + c)*KK. */
// @ts-ignore: decorator
@inline function tapBase(dw: usize, q: i32, KK: i32, swapped: bool, O: i32, C: i32): usize {
  const r = swapped ? (q % O) * C + q / O : q;
  return dw + (<usize>(r * KK) << 2);
}

/**
 * Kind 19: the backward job of one chunk of tile groups (g0 .. g0 + ng). Group tasks: tile group
 * g0 + i: transforms the T x T windows of dy (O channels) into the thread's scratch, stores them
 * as frequency quads at DYs + i*4*tdB (tile stride tdB, quad stride dyStrideF) and computes dx
 * for the group (products with the gradient-of-input filter spectra Ws, inverse transforms).
 * The first `pairs` tasks take groups 2t and 2t + 1 (products together: convProductsPair), the
 * next ng - 2*pairs one group each. Then the tasks u = 0, 1, ... after them: transforms of the
 * V x V blocks of x, CB channels a task, as frequency quads at Xs (tile stride txB, quad
 * stride xStrideF).
 * job: [kind, dy, Ws, dx, N, O, C, Cq, H, W, T, V, tY, tX, numTiles, OB, scratch, scratchPer, p,
 *       g0, ng, DYs, tdB, dyStrideF, x, Xs, txB, xStrideF, CB, pairs, leakyDelta, leakySlope]
 * (leakyDelta != 0: dy is the gradient of a LeakyReLU's output y, which lies leakyDelta bytes
 * after dy; the gradient of its input is taken as dy is read. leakySlope: f32 bits)
 */
export function fftBackwardTask(job: usize, t: i32, thread: i32): void {
  const O = Pm(job, 5), C = Pm(job, 6), H = Pm(job, 8), W = Pm(job, 9);
  const T = Pm(job, 10), V = Pm(job, 11), tY = Pm(job, 12), tX = Pm(job, 13), numTiles = Pm(job, 14);
  const p = Pm(job, 18), g0 = Pm(job, 19), ng = Pm(job, 20), pairs = Pm(job, 29);
  const base = scratchOf(job, 16, thread);
  const groupTasks = ng - pairs;
  if (t < groupTasks) {
    if (t < pairs) dyGroups(job, base, 2 * t, 2);
    else dyGroups(job, base, pairs + t, 1);
    return;
  }
  const CB = Pm(job, 28);
  const nCB = (C + CB - 1) / CB;
  const u = t - groupTasks;
  const gl = u / nCB, cb = u - gl * nCB;
  const c0 = cb * CB, c1 = imin(C, c0 + CB);
  const txB = PU(job, 26);
  prepareLanes(base, T, g0 + gl, numTiles, tY, tX, V, H, W, 0, V);
  transformChannels(base, T, PU(job, 24), C, c0, c1, H, W, (V + 1) >> 1, PU(job, 25) + <usize>gl * 4 * txB,
    PU(job, 27), scrRest(base, T), true, txB);
}

/**
 * fftBackwardTask's work on `count` (1 or 2) tile groups from chunk index i: dy windows
 * transformed and stored as frequency quads, then dx (OB input channels a pass). Scratch after
 * the lane data, per group: O spectra of dy, OB of dx.
 */
function dyGroups(job: usize, base: usize, i: i32, count: i32): void {
  const dy = PU(job, 1), Ws = PU(job, 2), dx = PU(job, 3);
  const O = Pm(job, 5), C = Pm(job, 6), Cq = Pm(job, 7), H = Pm(job, 8), W = Pm(job, 9);
  const T = Pm(job, 10), V = Pm(job, 11), tY = Pm(job, 12), tX = Pm(job, 13), numTiles = Pm(job, 14);
  const OB = Pm(job, 15), p = Pm(job, 18), g = Pm(job, 19) + i;
  const F = slotCount(T);
  const tdB = PU(job, 22);
  const per = <usize>F * <usize>(O + OB) << 5;
  const Xa = scrRest(base, T);
  for (let k = 0; k < count; k++) {
    const Xg = Xa + <usize>k * per;
    prepareLanes(base, T, g + k, numTiles, tY, tX, V, H, W, p, T);
    transformChannels(base, T, dy, O, 0, O, H, W, T >> 1, Xg, 0, 0, false, 0, PU(job, 30), reinterpret<f32>(Pm(job, 31)));
    storeQuads(Xg, F, O, PU(job, 21) + <usize>(i + k) * 4 * tdB, PU(job, 23), tdB);
  }
  groupOutputs(base, T, V, g, count, Xa, per, Ws, O, Cq, OB, C, dx, H, W, numTiles, tY, tX);
}
