// Tiled FFT convolution (overlap-save): T x T tiles (T = 16, 32 or 64) each produce
// V = T - K + 1 rows and columns of output. Lanes of every vector are 4 tiles (or 4
// filters), so the transforms need no shuffles; the per-frequency products across channels
// are small complex matrix products done 4 tiles at a time.
//
// Spectra are stored as complex vectors (re v128, im v128; 32 bytes) in "slot" order (see
// fwd2d); filter spectra as complex scalars (re f32, im f32). All slot values carry a factor 2
// (fwd2d) which the scale passed with the filters / the weight gradient removes.
import { P as Pm, PU, imin, imax, madd, nmadd, ld, st, splat, leaky4, leakyGrad4 } from './simd';
import { fwd2d, inv2d, slotCount } from './fft';
import { useNative, nativeConvProducts, nativeConvProductsPair, nativeGatherFwd2d, nativeInv2dScatter, nativeStoreQuads } from './native';

// @ts-ignore: decorator
@inline export function scratchOf(job: usize, iScratch: i32, thread: i32): usize {
  return PU(job, iScratch) + <usize>thread * PU(job, iScratch + 1);
}

// Lane table: per lane (tile) 16 i32 at lanes + l*64:
//  0 n, 1 row0, 2 col0 (input window origin in image coordinates, may be negative),
//  3 rLo, 4 rHi, 5 cLo, 6 cHi (window rows / columns holding image data),
//  7 output offset within a plane (floats), 8 output rows, 9 output columns (0 for a dummy lane).
const LANE: usize = 64;

/**
 * Fills the lane table of tile group g: tiles g*4 .. g*4+3 of the N x tY x tX grid. The input
 * window of tile (ty, tx) starts at (ty*V - off, tx*V - off) and is rowsMax x colsMax.
 */
function tileLanes(lanes: usize, g: i32, numTiles: i32, tY: i32, tX: i32, V: i32, H: i32, W: i32, off: i32, rowsMax: i32, colsMax: i32): void {
  const tpi = tY * tX;
  for (let l = 0; l < 4; l++) {
    const li = lanes + <usize>l * LANE;
    const tile = g * 4 + l;
    if (tile >= numTiles) {
      memory.fill(li, 0, LANE);
      continue;
    }
    const n = tile / tpi, rem = tile - n * tpi, ty = rem / tX, tx = rem - ty * tX;
    const row0 = ty * V - off, col0 = tx * V - off;
    store<i32>(li, n);
    store<i32>(li + 4, row0);
    store<i32>(li + 8, col0);
    store<i32>(li + 12, imax(0, -row0));
    store<i32>(li + 16, imin(rowsMax, H - row0));
    store<i32>(li + 20, imax(0, -col0));
    store<i32>(li + 24, imin(colsMax, W - col0));
    store<i32>(li + 28, ty * V * W + tx * V);
    store<i32>(li + 32, imin(V, H - ty * V));
    store<i32>(li + 36, imin(V, W - tx * V));
  }
}

/** Column masks of the lane table: masks + (j/4)*64 + l*16 selects lane l's image columns j..j+3. */
function laneMasks(lanes: usize, masks: usize, T: i32): void {
  const iota = i32x4(0, 1, 2, 3);
  for (let l = 0; l < 4; l++) {
    const li = lanes + <usize>l * LANE;
    const lo = i32x4.splat(load<i32>(li + 20)), hi = i32x4.splat(load<i32>(li + 24));
    for (let j = 0; j < T; j += 4) {
      const c = i32x4.add(iota, i32x4.splat(j));
      st(masks + (<usize>(j >> 2) << 6) + (<usize>l << 4), v128.and(i32x4.ge_s(c, lo), i32x4.lt_s(c, hi)));
    }
  }
}

/**
 * Loads 4 tiles (one per lane) of one channel into B: B[m][j] = (row 2m, row 2m+1) of column j.
 * Lane l reads the plane at planes_l (a pointer per lane, stored at lanes + l*64 + 48), window
 * rows rLo..rHi with columns masked; the rest is zero. zeroRow: T zero floats, then room for 8.
 * ahead (bytes, 0 for none): the next plane to touch, see below.
 */
export function gatherClip(B: usize, T: i32, rows: i32, lanes: usize, masks: usize, W: i32, zeroRow: usize, ahead: usize = 0,
                           leakyDelta: usize = 0, leakySlope: f32 = 0): void {
  const rowB = <usize>T << 5;
  const Wb = <usize>W << 2;
  const rLo0 = load<i32>(lanes + 12), rHi0 = load<i32>(lanes + 16);
  const rLo1 = load<i32>(lanes + LANE + 12), rHi1 = load<i32>(lanes + LANE + 16);
  const rLo2 = load<i32>(lanes + 2 * LANE + 12), rHi2 = load<i32>(lanes + 2 * LANE + 16);
  const rLo3 = load<i32>(lanes + 3 * LANE + 12), rHi3 = load<i32>(lanes + 3 * LANE + 16);
  const b0 = <usize>load<u32>(lanes + 48), b1 = <usize>load<u32>(lanes + LANE + 48);
  const b2 = <usize>load<u32>(lanes + 2 * LANE + 48), b3 = <usize>load<u32>(lanes + 3 * LANE + 48);
  let touch: u32 = 0;
  for (let r = 0; r < rows; r++) {
    const ro = <usize>r * Wb;
    const s0 = r >= rLo0 && r < rHi0 ? b0 + ro : zeroRow;
    const s1 = r >= rLo1 && r < rHi1 ? b1 + ro : zeroRow;
    const s2 = r >= rLo2 && r < rHi2 ? b2 + ro : zeroRow;
    const s3 = r >= rLo3 && r < rHi3 ? b3 + ro : zeroRow;
    const dst = B + <usize>(r >> 1) * rowB + (<usize>(r & 1) << 4);
    if (ahead != 0) {
      // Touch the same rows of the next plane, so that their cache misses overlap this
      // channel's transform (wasm has no prefetch instruction).
      // (rows outside the image touch the zero row instead)
      const a0 = s0 != zeroRow ? s0 + ahead : zeroRow, a1 = s1 != zeroRow ? s1 + ahead : zeroRow;
      const a2 = s2 != zeroRow ? s2 + ahead : zeroRow, a3 = s3 != zeroRow ? s3 + ahead : zeroRow;
      touch = touch ^ load<u32>(a0) ^ load<u32>(a0 + 64) ^ load<u32>(a0 + 124);
      touch = touch ^ load<u32>(a1) ^ load<u32>(a1 + 64) ^ load<u32>(a1 + 124);
      touch = touch ^ load<u32>(a2) ^ load<u32>(a2 + 64) ^ load<u32>(a2 + 124);
      touch = touch ^ load<u32>(a3) ^ load<u32>(a3 + 64) ^ load<u32>(a3 + 124);
    }
    let mk = masks;
    if (leakyDelta != 0) {
      // the gradient of a LeakyReLU applied on the way in (simd.ts's leakyGrad4, the same bits
      // as MAP_LEAKY_GRAD): its output y lies leakyDelta bytes after this gradient, laid out alike
      const d = leakyDelta, sl = f32x4.splat(leakySlope);
      const y0 = s0 != zeroRow ? s0 + d : zeroRow, y1 = s1 != zeroRow ? s1 + d : zeroRow;
      const y2 = s2 != zeroRow ? s2 + d : zeroRow, y3 = s3 != zeroRow ? s3 + d : zeroRow;
      for (let j = 0; j < T; j += 4) {
        const jo = <usize>j << 2;
        const v0 = leakyGrad4(ld(y0 + jo), v128.and(ld(s0 + jo), ld(mk)), sl), v1 = leakyGrad4(ld(y1 + jo), v128.and(ld(s1 + jo), ld(mk + 16)), sl);
        const v2 = leakyGrad4(ld(y2 + jo), v128.and(ld(s2 + jo), ld(mk + 32)), sl), v3 = leakyGrad4(ld(y3 + jo), v128.and(ld(s3 + jo), ld(mk + 48)), sl);
        mk += 64;
        storeTransposed(dst + (<usize>j << 5), v0, v1, v2, v3);
      }
      continue;
    }
    for (let j = 0; j < T; j += 4) {
      const jo = <usize>j << 2;
      const v0 = v128.and(ld(s0 + jo), ld(mk)), v1 = v128.and(ld(s1 + jo), ld(mk + 16));
      const v2 = v128.and(ld(s2 + jo), ld(mk + 32)), v3 = v128.and(ld(s3 + jo), ld(mk + 48));
      mk += 64;
      storeTransposed(dst + (<usize>j << 5), v0, v1, v2, v3);
    }
  }
  // kept (never read) past the T zeros that rows outside the image read
  if (ahead != 0) store<u32>(zeroRow + (<usize>(T + 4) << 2), touch);
}

/** Stores the columns j..j+3 of 4 lanes' rows v0..v3 as 4 lane vectors at d, d+32, d+64, d+96. */
// @ts-ignore: decorator
@inline function storeTransposed(d: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
  st(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  st(d + 32, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  st(d + 64, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  st(d + 96, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/** Points every lane at channel c of its image: lanes + l*64 + 48 = window origin address. */
export function lanePlanes(lanes: usize, src: usize, C: i32, c: i32, H: i32, W: i32): void {
  const HW = H * W;
  for (let l = 0; l < 4; l++) {
    const li = lanes + <usize>l * LANE;
    const n = load<i32>(li), row0 = load<i32>(li + 4), col0 = load<i32>(li + 8);
    // window origin may lie before the plane (negative row0 / col0): only masked or
    // out-of-window addresses are formed from it, and buffers never start below 64 KiB.
    const a = <i32>src + ((n * C + c) * HW + row0 * W + col0) * 4;
    store<u32>(li + 48, <u32>a);
  }
}

/** Scratch layout shared by the transform tasks: B (row pairs), P (one column), S (one spectrum). */
// @ts-ignore: decorator
@inline export function scrB(base: usize): usize { return base; }
// @ts-ignore: decorator
@inline export function scrP(base: usize, T: i32): usize { return base + (<usize>(T >> 1) * <usize>T << 5); }
// @ts-ignore: decorator
@inline export function scrS(base: usize, T: i32): usize { return base + (<usize>(T >> 1) * <usize>T << 5) + (<usize>T << 5); }
/** lane table, masks, zero row, then the task's own arrays */
// @ts-ignore: decorator
@inline export function scrLanes(base: usize, T: i32): usize { return scrS(base, T) + (<usize>slotCount(T) << 5); }
// @ts-ignore: decorator
@inline export function scrMasks(base: usize, T: i32): usize { return scrLanes(base, T) + 4 * LANE; }
// @ts-ignore: decorator
@inline export function scrZero(base: usize, T: i32): usize { return scrMasks(base, T) + (<usize>(T >> 2) << 6); }
// @ts-ignore: decorator
@inline export function scrRest(base: usize, T: i32): usize { return scrZero(base, T) + (<usize>(T + 8) << 2); }

/**
 * Transforms channels c0..c1 of tile group g (lane table filled): spectrum c (F slots) to
 * out + c*F*32; or, with quads, staged in `spectra` then stored as frequency quads (storeQuads)
 * at out + (f/4)*strideF + tile*C*32 + c*32.
 */
export function transformChannels(base: usize, T: i32, src: usize, C: i32, c0: i32, c1: i32, H: i32, W: i32, mAct: i32,
                           out: usize, strideF: usize, spectra: usize, quads: bool = false, strideT: usize = 0,
                           leakyDelta: usize = 0, leakySlope: f32 = 0): void {
  const B = scrB(base), Pw = scrP(base, T), lanes = scrLanes(base, T), masks = scrMasks(base, T), zero = scrZero(base, T);
  const F = slotCount(T);
  const fsB = <usize>F << 5;
  // The next channel's rows are read ahead while this one's are gathered: native code
  // prefetches them (no load, pays at every size); the wasm touches them, for large planes
  // only, which are read from memory, not cache (measured: 2-15% at 256 x 256, nothing at 128).
  const plane = <usize>(H * W) << 2;
  const native = useNative() && T >= 16;
  const touch = plane >= (<usize>128 << 10);
  for (let c = c0; c < c1; c++) {
    lanePlanes(lanes, src, C, c, H, W);
    const S = quads ? spectra + <usize>(c - c0) * fsB : out + <usize>c * fsB;
    const next = c + 1 < c1 ? plane : 0;
    if (native) {
      nativeGatherFwd2d(B, Pw, S, T, mAct, lanes, masks, W, zero, next, leakyDelta, leakySlope);
      continue;
    }
    gatherClip(B, T, imin(T, 2 * mAct), lanes, masks, W, zero, touch ? next : 0, leakyDelta, leakySlope);
    fwd2d(B, Pw, S, T, mAct);
  }
  if (quads) storeQuads(spectra, F, c1 - c0, out + (<usize>c0 << 5), strideF, strideT);
}

/**
 * Stores n spectra (slot vectors over 4 tiles, F slots each, consecutive at sp) transposed
 * to "frequency quads": vectors over 4 consecutive slots, one per tile:
 * out + (f/4)*strideF + tile*strideT + i*32 (tile 0..3 of this group; slots past F are zero).
 */
export function storeQuads(sp: usize, F: i32, n: i32, out: usize, strideF: usize, strideT: usize): void {
  if (useNative()) {
    nativeStoreQuads(sp, F, n, out, strideF, strideT);
    return;
  }
  const fsB = <usize>F << 5;
  const z = f32x4.splat(0);
  for (let i = 0; i < n; i++) {
    const s = sp + <usize>i * fsB;
    let o = out + (<usize>i << 5);
    for (let f = 0; f < F; f += 4) {
      const a = s + (<usize>f << 5);
      const r0 = ld(a), i0 = ld(a + 16);
      const r1 = f + 1 < F ? ld(a + 32) : z, i1 = f + 1 < F ? ld(a + 48) : z;
      const r2 = f + 2 < F ? ld(a + 64) : z, i2 = f + 2 < F ? ld(a + 80) : z;
      const r3 = f + 3 < F ? ld(a + 96) : z, i3 = f + 3 < F ? ld(a + 112) : z;
      // 4 x 4 transposes (lanes: tiles -> slots)
      const ra = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), rb = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      const rc = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), rd = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const ia = v128.shuffle<f32>(i0, i1, 0, 4, 1, 5), ib = v128.shuffle<f32>(i2, i3, 0, 4, 1, 5);
      const ic = v128.shuffle<f32>(i0, i1, 2, 6, 3, 7), id = v128.shuffle<f32>(i2, i3, 2, 6, 3, 7);
      st(o, v128.shuffle<f32>(ra, rb, 0, 1, 4, 5)); st(o + 16, v128.shuffle<f32>(ia, ib, 0, 1, 4, 5));
      st(o + strideT, v128.shuffle<f32>(ra, rb, 2, 3, 6, 7)); st(o + strideT + 16, v128.shuffle<f32>(ia, ib, 2, 3, 6, 7));
      st(o + 2 * strideT, v128.shuffle<f32>(rc, rd, 0, 1, 4, 5)); st(o + 2 * strideT + 16, v128.shuffle<f32>(ic, id, 0, 1, 4, 5));
      st(o + 3 * strideT, v128.shuffle<f32>(rc, rd, 2, 3, 6, 7)); st(o + 3 * strideT + 16, v128.shuffle<f32>(ic, id, 2, 3, 6, 7));
      o += strideF;
    }
  }
}

/** Zeroes the scratch zero row and fills lanes + masks for tile group g. */
export function prepareLanes(base: usize, T: i32, g: i32, numTiles: i32, tY: i32, tX: i32, V: i32, H: i32, W: i32,
                      off: i32, rowsMax: i32): void {
  memory.fill(scrZero(base, T), 0, <usize>(T + 8) << 2);
  tileLanes(scrLanes(base, T), g, numTiles, tY, tX, V, H, W, off, rowsMax, rowsMax);
  laneMasks(scrLanes(base, T), scrMasks(base, T), T);
}

/**
 * Kind 6: forward transforms of image tiles, read straight from the unpadded planes
 * src[N][C][H][W]. Task = (tile group g, block of CB channels). Tile (n, ty, tx) covers
 * rows ty*V - off .. + rowsMax and the same for columns (zero outside the image).
 * job: [kind, src, out, N, C, T, V, tY, tX, H, W, off, rowsMax, strideG, strideF, numTiles,
 *       scratch, scratchPer, CB, quads, strideT, g0]
 * Task t covers tile group g0 + t / ceil(C/CB) (its output goes to out + (t / ceil(C/CB))*strideG).
 * Spectrum (g, c) goes to out + g*strideG + c*F*32 (strideF unused); with quads = 1,
 * frequency quads (storeQuads) go to out + g*strideG + (f/4)*strideF + tile*strideT + c*32
 * (strideT: job word 20, a little more than C*32 so that tiles do not share cache sets).
 */
export function fftInputTask(job: usize, t: i32, thread: i32): void {
  const src = PU(job, 1), out = PU(job, 2);
  const C = Pm(job, 4), T = Pm(job, 5), V = Pm(job, 6), tY = Pm(job, 7), tX = Pm(job, 8);
  const H = Pm(job, 9), W = Pm(job, 10), off = Pm(job, 11), rowsMax = Pm(job, 12);
  const strideG = PU(job, 13), strideF = PU(job, 14), numTiles = Pm(job, 15);
  const CB = Pm(job, 18);
  const base = scratchOf(job, 16, thread);
  const nCB = (C + CB - 1) / CB;
  const gl = t / nCB, cb = t - gl * nCB;
  const c0 = cb * CB, c1 = imin(C, c0 + CB);
  prepareLanes(base, T, gl + Pm(job, 21), numTiles, tY, tX, V, H, W, off, rowsMax);
  transformChannels(base, T, src, C, c0, c1, H, W, (rowsMax + 1) >> 1, out + <usize>gl * strideG, strideF, scrRest(base, T),
    Pm(job, 19) != 0, PU(job, 20));
}

/**
 * Kind 7: filter spectra. The convolution computed has L output channels (padded to Lq, a
 * multiple of 4) and R reduction channels. mode 0 (forward): filter (l, r) = w[l][r];
 * mode 1 (gradient of input): w[r][l] flipped. Task = (4 output channels, block of RB
 * reduction channels); lanes = the 4 output channels. Stored conjugated and scaled (so that
 * the product is a plain complex multiply-add) as complex scalars laid out
 * [f][l/2][r][l%2][re, im], i.e. at Ws + f*R*Lq*8 + (l/2)*R*16 + r*16 + (l%2)*8.
 * job: [kind, w, Ws, L, Lq, R, K, T, mode, scale (f32 bits), scratch, scratchPer, RB]
 */
export function fftFilterTask(job: usize, t: i32, thread: i32): void {
  const w = PU(job, 1), Ws = PU(job, 2);
  const L = Pm(job, 3), Lq = Pm(job, 4), R = Pm(job, 5), K = Pm(job, 6), T = Pm(job, 7), mode = Pm(job, 8);
  const scale = load<f32>(job + 36);
  const RB = Pm(job, 12);
  const B = scratchOf(job, 10, thread);
  const Pw = B + (<usize>(T >> 1) * <usize>T << 5);
  const S = Pw + (<usize>T << 5);
  const F = slotCount(T);
  const fsB = <usize>F << 5;
  const rowB = <usize>T << 5;
  const KK = K * K;
  const nRB = (R + RB - 1) / RB;
  const lq = t / nRB, rb = t - lq * nRB;
  const l0 = lq * 4;
  const r0 = rb * RB, r1 = imin(R, r0 + RB);
  const mAct = (K + 1) >> 1;
  for (let r = r0; r < r1; r++) {
    memory.fill(B, 0, <usize>mAct * rowB);
    for (let l = 0; l < 4; l++) {
      const ll = l0 + l;
      if (ll >= L) break;
      for (let a = 0; a < K; a++) {
        const d = B + <usize>(a >> 1) * rowB + (<usize>(a & 1) << 4) + (<usize>l << 2);
        for (let b = 0; b < K; b++) {
          let v: f32;
          if (mode == 0) v = load<f32>(w + (<usize>((ll * R + r) * KK + a * K + b) << 2));
          else v = load<f32>(w + (<usize>((r * L + ll) * KK + (K - 1 - a) * K + (K - 1 - b)) << 2));
          store<f32>(d + (<usize>b << 5), v);
        }
      }
    }
    fwd2d(B, Pw, S + <usize>(r - r0) * fsB, T, mAct);
  }
  const sc = f32x4.splat(scale), nsc = f32x4.splat(-scale);
  const strideF = <usize>(R * Lq) << 3;
  const pairB = <usize>R << 4;
  let o = Ws + <usize>(l0 >> 1) * pairB + (<usize>r0 << 4);
  const n = r1 - r0;
  for (let f = 0; f < F; f++) {
    let sp = S + (<usize>f << 5);
    let d = o;
    for (let i = 0; i < n; i++) {
      const re = f32x4.mul(ld(sp), sc), im = f32x4.mul(ld(sp + 16), nsc);
      st(d, v128.shuffle<f32>(re, im, 0, 4, 1, 5));
      st(d + pairB, v128.shuffle<f32>(re, im, 2, 6, 3, 7));
      d += 16;
      sp += fsB;
    }
    o += strideF;
  }
}

/**
 * Products for one tile group: for every slot f and output channel o in [o0, o1) (pairs),
 * Ys[o - o0][f] = sum_r X[r][f] * Ws[f][o][r]. Each accumulator takes one multiply-add per
 * step (4 per complex output, combined at the end) so that no dependency chain limits it.
 * X holds the R input spectra one after the other (as the transforms write them).
 */
export function convProducts(x0: usize, Ws: usize, Ys: usize, F: i32, R: i32, Lq: i32, o0: i32, o1: i32): void {
  if (useNative()) {
    nativeConvProducts(x0, Ws, Ys, F, R, Lq, o0, o1);
    return;
  }
  const fsB = <usize>F << 5;
  const wfB = <usize>(R * Lq) << 3;
  const pairB = <usize>R << 4;
  for (let f = 0; f < F; f++) {
    const xf = x0 + (<usize>f << 5);
    const wf = Ws + <usize>f * wfB;
    for (let o = o0; o < o1; o += 2) {
      let p0 = f32x4.splat(0), q0 = f32x4.splat(0), s0 = f32x4.splat(0), t0 = f32x4.splat(0);
      let p1 = f32x4.splat(0), q1 = f32x4.splat(0), s1 = f32x4.splat(0), t1 = f32x4.splat(0);
      let xp = xf;
      let wp = wf + <usize>(o >> 1) * pairB;
      const we = wp + pairB;
      for (; wp < we; wp += 16) {
        const xr = v128.load(xp), xi = v128.load(xp, 16);
        const w0r = v128.load32_splat(wp), w0i = v128.load32_splat(wp, 4);
        const w1r = v128.load32_splat(wp, 8), w1i = v128.load32_splat(wp, 12);
        p0 = madd(xr, w0r, p0); q0 = madd(xi, w0i, q0); s0 = madd(xr, w0i, s0); t0 = madd(xi, w0r, t0);
        p1 = madd(xr, w1r, p1); q1 = madd(xi, w1i, q1); s1 = madd(xr, w1i, s1); t1 = madd(xi, w1r, t1);
        xp += fsB;
      }
      const yo = Ys + <usize>(o - o0) * fsB + (<usize>f << 5);
      st(yo, f32x4.sub(p0, q0)); st(yo + 16, f32x4.add(s0, t0));
      st(yo + fsB, f32x4.sub(p1, q1)); st(yo + fsB + 16, f32x4.add(s1, t1));
    }
  }
}

/**
 * convProducts of two tile groups with the same filters (xa -> Ya, xb -> Yb): the native code
 * broadcasts each filter value once for both (the same bits as two calls).
 */
export function convProductsPair(xa: usize, xb: usize, Ws: usize, Ya: usize, Yb: usize, F: i32, R: i32, Lq: i32, o0: i32, o1: i32): void {
  if (useNative()) {
    nativeConvProductsPair(xa, xb, Ws, Ya, Yb, F, R, Lq, o0, o1);
    return;
  }
  convProducts(xa, Ws, Ya, F, R, Lq, o0, o1);
  convProducts(xb, Ws, Yb, F, R, Lq, o0, o1);
}

/**
 * Inverse transforms of output channels o0..o1 (o < L) of the tile group whose lane table is
 * in the scratch, spectra at Ys[o - o0] (destroyed); writes y[n][o] cropped to H x W.
 */
export function inverseOutputs(base: usize, T: i32, V: i32, Ys: usize, o0: i32, o1: i32, L: i32, y: usize, H: i32, W: i32, leaky: bool = false, slope: f32 = 0): void {
  const sl = f32x4.splat(slope);
  const B = scrB(base), Pw = scrP(base, T), lanes = scrLanes(base, T);
  const F = slotCount(T);
  const fsB = <usize>F << 5;
  const mOut = (V + 1) >> 1;
  const rowB = <usize>T << 5;
  const HW = H * W;
  const r0 = load<i32>(lanes + 32), c0 = load<i32>(lanes + 36);
  const r1 = load<i32>(lanes + LANE + 32), c1 = load<i32>(lanes + LANE + 36);
  const r2 = load<i32>(lanes + 2 * LANE + 32), c2 = load<i32>(lanes + 2 * LANE + 36);
  const r3 = load<i32>(lanes + 3 * LANE + 32), c3 = load<i32>(lanes + 3 * LANE + 36);
  const rmax = imax(imax(r0, r1), imax(r2, r3));
  for (let o = o0; o < o1; o++) {
    if (o >= L) break;
    if (useNative() && T >= 16) {
      nativeInv2dScatter(Ys + <usize>(o - o0) * fsB, B, Pw, T, V, lanes, y, L, o, H, W, leaky, slope);
      continue;
    }
    inv2d(Ys + <usize>(o - o0) * fsB, B, Pw, T, mOut);
    let d0: usize = 0, d1: usize = 0, d2: usize = 0, d3: usize = 0;
    for (let l = 0; l < 4; l++) {
      const li = lanes + <usize>l * LANE;
      const dst = y + (<usize>((load<i32>(li) * L + o) * HW + load<i32>(li + 28)) << 2);
      if (l == 0) d0 = dst; else if (l == 1) d1 = dst; else if (l == 2) d2 = dst; else d3 = dst;
    }
    for (let r = 0; r < rmax; r++) {
      const srow = B + <usize>(r >> 1) * rowB + (<usize>(r & 1) << 4);
      const ro = <usize>(r * W) << 2;
      for (let j = 0; j < V; j += 4) {
        const s = srow + (<usize>j << 5);
        const v0 = ld(s), v1 = ld(s + 32), v2 = ld(s + 64), v3 = ld(s + 96);
        let t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
        let t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
        if (leaky) {
          // the activation that follows (LeakyReLU), applied as the values are stored: elementwise, so before the lane shuffles
          t0 = leaky4(t0, sl);
          t1 = leaky4(t1, sl);
          t2 = leaky4(t2, sl);
          t3 = leaky4(t3, sl);
        }
        const jo = ro + (<usize>j << 2);
        if (r < r0) storeCols(d0 + jo, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), c0 - j);
        if (r < r1) storeCols(d1 + jo, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), c1 - j);
        if (r < r2) storeCols(d2 + jo, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), c2 - j);
        if (r < r3) storeCols(d3 + jo, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), c3 - j);
      }
    }
  }
}

/**
 * Kind 8: products and inverse transforms for a forward-type convolution, the input spectra
 * already computed (kind 6) as Xs[g][r][f]. Task = (tile group g, block of OB output
 * channels). Output y[n][l][h][w] (L channels), cropped to H x W.
 * job: [kind, Xs, Ws, y, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, scratch, scratchPer]
 */
export function fftConvTask(job: usize, t: i32, thread: i32): void {
  const Xs = PU(job, 1), Ws = PU(job, 2), y = PU(job, 3);
  const R = Pm(job, 5), L = Pm(job, 6), Lq = Pm(job, 7), H = Pm(job, 8), W = Pm(job, 9);
  const T = Pm(job, 10), V = Pm(job, 11), tY = Pm(job, 12), tX = Pm(job, 13), numTiles = Pm(job, 14);
  const OB = Pm(job, 15);
  const F = slotCount(T);
  const nOB = (Lq + OB - 1) / OB;
  const g = t / nOB, ob = t - g * nOB;
  const o0 = ob * OB, o1 = imin(Lq, o0 + OB);
  const base = scratchOf(job, 16, thread);
  const Ys = scrRest(base, T);
  tileLanes(scrLanes(base, T), g, numTiles, tY, tX, V, H, W, 0, T, T);
  convProducts(Xs + (<usize>g * <usize>F * <usize>R << 5), Ws, Ys, F, R, Lq, o0, o1);
  inverseOutputs(base, T, V, Ys, o0, o1, L, y, H, W);
}

/**
 * Kind 11: the whole forward-type convolution of one tile group, or of two: input transforms
 * of all R channels straight from x[N][R][H][W] into per-thread spectrum arrays, then products
 * and inverse transforms OB output channels at a time. Keeps the spectra in the core's cache.
 * Tasks t < pairs take groups first + 2t and first + 2t + 1 (their products together:
 * convProductsPair), the rest one group each: first + pairs + t.
 * Scratch after the lane data: R spectra, OB spectra (then, for a pair, R and OB more).
 * job: [kind, x, Ws, y, N, R, L, Lq, H, W, T, V, tY, tX, numTiles, OB, scratch, scratchPer, off,
 *       first tile group, leaky (1: y = LeakyReLU(conv)), its slope (f32 bits), pairs]
 */
export function fftConvFusedTask(job: usize, t: i32, thread: i32): void {
  const x = PU(job, 1), Ws = PU(job, 2), y = PU(job, 3);
  const R = Pm(job, 5), L = Pm(job, 6), Lq = Pm(job, 7), H = Pm(job, 8), W = Pm(job, 9);
  const T = Pm(job, 10), V = Pm(job, 11), tY = Pm(job, 12), tX = Pm(job, 13), numTiles = Pm(job, 14);
  const OB = Pm(job, 15), off = Pm(job, 18), pairs = Pm(job, 22);
  const F = slotCount(T);
  const base = scratchOf(job, 16, thread);
  const count = t < pairs ? 2 : 1;
  const g = Pm(job, 19) + (t < pairs ? 2 * t : pairs + t);
  const per = <usize>F * <usize>(R + OB) << 5;
  const Xa = scrRest(base, T);
  for (let k = 0; k < count; k++) {
    prepareLanes(base, T, g + k, numTiles, tY, tX, V, H, W, off, T);
    transformChannels(base, T, x, R, 0, R, H, W, T >> 1, Xa + <usize>k * per, 0, 0);
  }
  groupOutputs(base, T, V, g, count, Xa, per, Ws, R, Lq, OB, L, y, H, W, numTiles, tY, tX, Pm(job, 20) != 0, reinterpret<f32>(Pm(job, 21)));
}

/**
 * Products with the filter spectra Ws and inverse transforms, OB outputs at a time, of `count`
 * (1 or 2) tile groups g and g + 1: group k's R input spectra at Xa + k*per, its OB output
 * spectra staged after them. Two groups' products run together (convProductsPair). The lane
 * table must hold the last group transformed, g + count - 1: inverseOutputs reads it, so it is
 * rewritten as the groups take turns. Writes y[n][o] (L channels) cropped to H x W.
 */
export function groupOutputs(base: usize, T: i32, V: i32, g: i32, count: i32, Xa: usize, per: usize, Ws: usize, R: i32, Lq: i32, OB: i32,
                             L: i32, y: usize, H: i32, W: i32, numTiles: i32, tY: i32, tX: i32, leaky: bool = false, slope: f32 = 0): void {
  const F = slotCount(T), lanes = scrLanes(base, T);
  const Ya = Xa + (<usize>F * <usize>R << 5), Xb = Xa + per, Yb = Ya + per;
  for (let o0 = 0; o0 < Lq; o0 += OB) {
    const o1 = imin(Lq, o0 + OB);
    if (count == 1) {
      convProducts(Xa, Ws, Ya, F, R, Lq, o0, o1);
      inverseOutputs(base, T, V, Ya, o0, o1, L, y, H, W, leaky, slope);
      continue;
    }
    convProductsPair(Xa, Xb, Ws, Ya, Yb, F, R, Lq, o0, o1);
    // the second group's lanes (prepared last, or again for a later block), then the first's
    if (o0 > 0) tileLanes(lanes, g + 1, numTiles, tY, tX, V, H, W, 0, T, T);
    inverseOutputs(base, T, V, Yb, o0, o1, L, y, H, W, leaky, slope);
    tileLanes(lanes, g, numTiles, tY, tX, V, H, W, 0, T, T);
    inverseOutputs(base, T, V, Ya, o0, o1, L, y, H, W, leaky, slope);
  }
}

/** Stores the first min(4, left) lanes of v at d (nothing when left <= 0). */
// @ts-ignore: decorator
@inline function storeCols(d: usize, v: v128, left: i32): void {
  if (left >= 4) st(d, v);
  else if (left > 0) {
    store<f32>(d, f32x4.extract_lane(v, 0));
    if (left > 1) store<f32>(d + 4, f32x4.extract_lane(v, 1));
    if (left > 2) store<f32>(d + 8, f32x4.extract_lane(v, 2));
  }
}
