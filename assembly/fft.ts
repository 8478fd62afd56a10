// Small 1D and 2D FFTs on "4 transforms at once": a complex array is a run of 32-byte
// elements (real v128, imaginary v128) and each of the 4 lanes is an independent transform
// (4 image tiles, or 4 filters). No shuffles inside the transforms.
//
// Forward transforms are decimation in frequency (natural order in, bit-reversed order out),
// inverse transforms decimation in time (bit-reversed in, natural out) with conjugate
// twiddles, so no permutation pass is ever needed: the frequency-domain "slot" order is
// simply the bit-reversed one, the same for images, filters and products.
import { madd, nmadd, ld, st, splat } from './simd';
import { fftDIF16, fftDIF32, fftDIF64, fftDIT16, fftDIT32, fftDIT64 } from './fft-codelets';
import { useNative, nativeFwd2d, nativeInv2d } from './native';

/** Tables live in the pool's low page (see pool.ts): written once by initTables(). */
const TAB: usize = 65536 + 4096;

/** (cos, sin) of 2*pi*j/T for j < T, as f32 pairs. */
// @ts-ignore: decorator
@inline export function twTab(T: i32): usize {
  return TAB + (<usize>T << 4);
}
/** bit reversal of j < T, as i32. */
// @ts-ignore: decorator
@inline export function brTab(T: i32): usize {
  return TAB + 2048 + (<usize>T << 3);
}
// @ts-ignore: decorator
@inline export function br(T: i32, j: i32): i32 {
  return load<i32>(brTab(T) + (<usize>j << 2));
}

export function initTables(): void {
  for (let T = 4; T <= 64; T <<= 1) {
    const tw = twTab(T);
    let bits = 0;
    while ((1 << bits) < T) bits++;
    for (let j = 0; j < T; j++) {
      const th = 2.0 * Math.PI * <f64>j / <f64>T;
      store<f32>(tw + (<usize>j << 3), <f32>Math.cos(th));
      store<f32>(tw + (<usize>j << 3) + 4, <f32>Math.sin(th));
      let r = 0;
      for (let b = 0; b < bits; b++) if ((j >> b) & 1) r |= 1 << (bits - 1 - b);
      store<i32>(brTab(T) + (<usize>j << 2), r);
    }
  }
}

/** In-place forward FFT of T complex elements at p (natural order in, bit-reversed out). */
export function fftDIF(p: usize, T: i32): void {
  if (T == 32) fftDIF32(p);
  else if (T == 16) fftDIF16(p);
  else if (T == 64) fftDIF64(p);
  else fftDIFLoop(p, T);
}

/** In-place inverse (unnormalised) FFT of T complex elements at p (bit-reversed in, natural out). */
export function fftDIT(p: usize, T: i32): void {
  if (T == 32) fftDIT32(p);
  else if (T == 16) fftDIT16(p);
  else if (T == 64) fftDIT64(p);
  else fftDITLoop(p, T);
}

/** Loop version of fftDIF for any power of two T >= 2 (the codelets cover 16, 32, 64). */
export function fftDIFLoop(p: usize, T: i32): void {
  const tw = twTab(T);
  let L = T;
  while (L >= 4) {
    const q = L >> 2;
    const qb = <usize>q << 5;
    const step = <usize>(T / L) << 3;
    // k = 0: all twiddles are 1
    for (let blk = 0; blk < T; blk += L) {
      const a = p + (<usize>blk << 5);
      const a0r = ld(a), a0i = ld(a + 16);
      const a1r = ld(a + qb), a1i = ld(a + qb + 16);
      const a2r = ld(a + 2 * qb), a2i = ld(a + 2 * qb + 16);
      const a3r = ld(a + 3 * qb), a3i = ld(a + 3 * qb + 16);
      const t0r = f32x4.add(a0r, a2r), t0i = f32x4.add(a0i, a2i);
      const t1r = f32x4.sub(a0r, a2r), t1i = f32x4.sub(a0i, a2i);
      const t2r = f32x4.add(a1r, a3r), t2i = f32x4.add(a1i, a3i);
      const t3r = f32x4.sub(a1r, a3r), t3i = f32x4.sub(a1i, a3i);
      st(a, f32x4.add(t0r, t2r)); st(a + 16, f32x4.add(t0i, t2i));
      st(a + qb, f32x4.sub(t0r, t2r)); st(a + qb + 16, f32x4.sub(t0i, t2i));
      st(a + 2 * qb, f32x4.add(t1r, t3i)); st(a + 2 * qb + 16, f32x4.sub(t1i, t3r));
      st(a + 3 * qb, f32x4.sub(t1r, t3i)); st(a + 3 * qb + 16, f32x4.add(t1i, t3r));
    }
    for (let k = 1; k < q; k++) {
      const w1 = tw + <usize>k * step, w2 = tw + <usize>(2 * k) * step, w3 = tw + <usize>(3 * k) * step;
      const c1 = splat(w1), s1 = splat(w1 + 4);
      const c2 = splat(w2), s2 = splat(w2 + 4);
      const c3 = splat(w3), s3 = splat(w3 + 4);
      for (let blk = 0; blk < T; blk += L) {
        const a = p + (<usize>(blk + k) << 5);
        const a0r = ld(a), a0i = ld(a + 16);
        const a1r = ld(a + qb), a1i = ld(a + qb + 16);
        const a2r = ld(a + 2 * qb), a2i = ld(a + 2 * qb + 16);
        const a3r = ld(a + 3 * qb), a3i = ld(a + 3 * qb + 16);
        const t0r = f32x4.add(a0r, a2r), t0i = f32x4.add(a0i, a2i);
        const t1r = f32x4.sub(a0r, a2r), t1i = f32x4.sub(a0i, a2i);
        const t2r = f32x4.add(a1r, a3r), t2i = f32x4.add(a1i, a3i);
        const t3r = f32x4.sub(a1r, a3r), t3i = f32x4.sub(a1i, a3i);
        st(a, f32x4.add(t0r, t2r)); st(a + 16, f32x4.add(t0i, t2i));
        // y1 = (t0 - t2) * conj(w^2k)
        const y1r = f32x4.sub(t0r, t2r), y1i = f32x4.sub(t0i, t2i);
        st(a + qb, madd(y1r, c2, f32x4.mul(y1i, s2)));
        st(a + qb + 16, nmadd(y1r, s2, f32x4.mul(y1i, c2)));
        // y2 = (t1 - i t3) * conj(w^k)
        const y2r = f32x4.add(t1r, t3i), y2i = f32x4.sub(t1i, t3r);
        st(a + 2 * qb, madd(y2r, c1, f32x4.mul(y2i, s1)));
        st(a + 2 * qb + 16, nmadd(y2r, s1, f32x4.mul(y2i, c1)));
        // y3 = (t1 + i t3) * conj(w^3k)
        const y3r = f32x4.sub(t1r, t3i), y3i = f32x4.add(t1i, t3r);
        st(a + 3 * qb, madd(y3r, c3, f32x4.mul(y3i, s3)));
        st(a + 3 * qb + 16, nmadd(y3r, s3, f32x4.mul(y3i, c3)));
      }
    }
    L = q;
  }
  if (L == 2) {
    for (let j = 0; j < T; j += 2) {
      const a = p + (<usize>j << 5);
      const ar = ld(a), ai = ld(a + 16), br_ = ld(a + 32), bi = ld(a + 48);
      st(a, f32x4.add(ar, br_)); st(a + 16, f32x4.add(ai, bi));
      st(a + 32, f32x4.sub(ar, br_)); st(a + 48, f32x4.sub(ai, bi));
    }
  }
}

/** Loop version of fftDIT. */
export function fftDITLoop(p: usize, T: i32): void {
  const tw = twTab(T);
  let L = 2;
  let bits = 0;
  while ((1 << bits) < T) bits++;
  if (bits & 1) {
    for (let j = 0; j < T; j += 2) {
      const a = p + (<usize>j << 5);
      const ar = ld(a), ai = ld(a + 16), br_ = ld(a + 32), bi = ld(a + 48);
      st(a, f32x4.add(ar, br_)); st(a + 16, f32x4.add(ai, bi));
      st(a + 32, f32x4.sub(ar, br_)); st(a + 48, f32x4.sub(ai, bi));
    }
    L = 8;
  } else {
    L = 4;
  }
  for (; L <= T; L <<= 2) {
    const q = L >> 2;
    const qb = <usize>q << 5;
    const step = <usize>(T / L) << 3;
    for (let blk = 0; blk < T; blk += L) {
      const a = p + (<usize>blk << 5);
      const p0r = ld(a), p0i = ld(a + 16);
      const p1r = ld(a + qb), p1i = ld(a + qb + 16);
      const p2r = ld(a + 2 * qb), p2i = ld(a + 2 * qb + 16);
      const p3r = ld(a + 3 * qb), p3i = ld(a + 3 * qb + 16);
      const b0r = f32x4.add(p0r, p1r), b0i = f32x4.add(p0i, p1i);
      const b1r = f32x4.sub(p0r, p1r), b1i = f32x4.sub(p0i, p1i);
      const sr = f32x4.add(p2r, p3r), si = f32x4.add(p2i, p3i);
      const dr = f32x4.sub(p2r, p3r), di = f32x4.sub(p2i, p3i);
      st(a, f32x4.add(b0r, sr)); st(a + 16, f32x4.add(b0i, si));
      st(a + 2 * qb, f32x4.sub(b0r, sr)); st(a + 2 * qb + 16, f32x4.sub(b0i, si));
      st(a + qb, f32x4.sub(b1r, di)); st(a + qb + 16, f32x4.add(b1i, dr));
      st(a + 3 * qb, f32x4.add(b1r, di)); st(a + 3 * qb + 16, f32x4.sub(b1i, dr));
    }
    for (let k = 1; k < q; k++) {
      const w1 = tw + <usize>k * step, w2 = tw + <usize>(2 * k) * step, w3 = tw + <usize>(3 * k) * step;
      const c1 = splat(w1), s1 = splat(w1 + 4);
      const c2 = splat(w2), s2 = splat(w2 + 4);
      const c3 = splat(w3), s3 = splat(w3 + 4);
      for (let blk = 0; blk < T; blk += L) {
        const a = p + (<usize>(blk + k) << 5);
        const p0r = ld(a), p0i = ld(a + 16);
        // times (c + i s): re = xr c - xi s, im = xi c + xr s
        const x1r = ld(a + qb), x1i = ld(a + qb + 16);
        const p1r = nmadd(x1i, s2, f32x4.mul(x1r, c2)), p1i = madd(x1r, s2, f32x4.mul(x1i, c2));
        const x2r = ld(a + 2 * qb), x2i = ld(a + 2 * qb + 16);
        const p2r = nmadd(x2i, s1, f32x4.mul(x2r, c1)), p2i = madd(x2r, s1, f32x4.mul(x2i, c1));
        const x3r = ld(a + 3 * qb), x3i = ld(a + 3 * qb + 16);
        const p3r = nmadd(x3i, s3, f32x4.mul(x3r, c3)), p3i = madd(x3r, s3, f32x4.mul(x3i, c3));
        const b0r = f32x4.add(p0r, p1r), b0i = f32x4.add(p0i, p1i);
        const b1r = f32x4.sub(p0r, p1r), b1i = f32x4.sub(p0i, p1i);
        const sr = f32x4.add(p2r, p3r), si = f32x4.add(p2i, p3i);
        const dr = f32x4.sub(p2r, p3r), di = f32x4.sub(p2i, p3i);
        st(a, f32x4.add(b0r, sr)); st(a + 16, f32x4.add(b0i, si));
        st(a + 2 * qb, f32x4.sub(b0r, sr)); st(a + 2 * qb + 16, f32x4.sub(b0i, si));
        st(a + qb, f32x4.sub(b1r, di)); st(a + qb + 16, f32x4.add(b1i, dr));
        st(a + 3 * qb, f32x4.add(b1r, di)); st(a + 3 * qb + 16, f32x4.sub(b1i, dr));
      }
    }
  }
}

/** Number of frequency slots of a T x T real transform: (T/2-1)*T + 2*(T/2+1). */
// @ts-ignore: decorator
@inline export function slotCount(T: i32): i32 {
  return (T / 2 - 1) * T + T + 2;
}

/**
 * 2D forward real FFT of 4 tiles whose rows are in B: B[m][j] = (row 2m, row 2m+1) at column
 * j, for m < mAct (rows past that are zero). Output: S[0 .. F) in slot order, 2x the true
 * spectrum: S[(u-1)*T + pos] = X[br(pos)][u] for 0 < u < T/2, then X[v][0] and X[v][T/2] for
 * v = 0..T/2. P is a T-element work array. B is destroyed.
 */
export function fwd2d(B: usize, P: usize, S: usize, T: i32, mAct: i32): void {
  if (useNative() && T >= 16) {
    nativeFwd2d(B, P, S, T, mAct);
    return;
  }
  const half = T >> 1;
  const rowB = <usize>T << 5;
  for (let m = 0; m < mAct; m++) fftDIF(B + <usize>m * rowB, T);
  const colB = <usize>T << 5;
  // Split each row pair into the spectra of its two rows.
  for (let m = 0; m < half; m++) {
    const zb = B + <usize>m * rowB;
    const r0 = <usize>(2 * m) << 5;
    if (m >= mAct) {
      const z = f32x4.splat(0);
      for (let u = 1; u < half; u++) {
        const c = S + <usize>(u - 1) * colB + r0;
        st(c, z); st(c + 16, z); st(c + 32, z); st(c + 48, z);
      }
      st(P + r0, z); st(P + r0 + 16, z); st(P + r0 + 32, z); st(P + r0 + 48, z);
      continue;
    }
    for (let u = 1; u < half; u++) {
      const zu = zb + (<usize>br(T, u) << 5), zn = zb + (<usize>br(T, T - u) << 5);
      const zr = ld(zu), zi = ld(zu + 16), yr = ld(zn), yi = ld(zn + 16);
      const c = S + <usize>(u - 1) * colB + r0;
      st(c, f32x4.add(zr, yr)); st(c + 16, f32x4.sub(zi, yi));
      st(c + 32, f32x4.add(zi, yi)); st(c + 48, f32x4.sub(yr, zr));
    }
    // u = 0 sits at position 0, u = T/2 at position 1 (bit reversal).
    const z0r = ld(zb), z0i = ld(zb + 16), zhr = ld(zb + 32), zhi = ld(zb + 48);
    st(P + r0, f32x4.add(z0r, z0r)); st(P + r0 + 16, f32x4.add(zhr, zhr));
    st(P + r0 + 32, f32x4.add(z0i, z0i)); st(P + r0 + 48, f32x4.add(zhi, zhi));
  }
  for (let u = 1; u < half; u++) fftDIF(S + <usize>(u - 1) * colB, T);
  fftDIF(P, T);
  // Unpack the column pair (u = 0, u = T/2) of real-valued columns.
  const s0 = S + <usize>((half - 1) * T) * 32;
  const s1 = s0 + (<usize>(half + 1) << 5);
  const h = f32x4.splat(0.5);
  for (let v = 0; v <= half; v++) {
    const zu = P + (<usize>br(T, v) << 5), zn = P + (<usize>br(T, (T - v) & (T - 1)) << 5);
    const zr = ld(zu), zi = ld(zu + 16), yr = ld(zn), yi = ld(zn + 16);
    const o0 = s0 + (<usize>v << 5), o1 = s1 + (<usize>v << 5);
    st(o0, f32x4.mul(h, f32x4.add(zr, yr))); st(o0 + 16, f32x4.mul(h, f32x4.sub(zi, yi)));
    st(o1, f32x4.mul(h, f32x4.add(zi, yi))); st(o1 + 16, f32x4.mul(h, f32x4.sub(yr, zr)));
  }
}

/**
 * 2D inverse real FFT (unnormalised: T^2 times the true inverse) from slots S (destroyed),
 * for the row pairs m < mOut: B[m][j] = (row 2m, row 2m+1) at column j.
 */
export function inv2d(S: usize, B: usize, P: usize, T: i32, mOut: i32): void {
  if (useNative() && T >= 16) {
    nativeInv2d(S, B, P, T, mOut);
    return;
  }
  const half = T >> 1;
  const colB = <usize>T << 5;
  const rowB = <usize>T << 5;
  const s0 = S + <usize>((half - 1) * T) * 32;
  const s1 = s0 + (<usize>(half + 1) << 5);
  // Re-pack the real columns u = 0 and u = T/2 as one complex column (bit-reversed order).
  for (let v = 0; v <= half; v++) {
    const a = s0 + (<usize>v << 5), b = s1 + (<usize>v << 5);
    const ar = ld(a), ai = ld(a + 16), cr = ld(b), ci = ld(b + 16);
    const o = P + (<usize>br(T, v) << 5);
    st(o, f32x4.sub(ar, ci)); st(o + 16, f32x4.add(ai, cr));
    if (v > 0 && v < half) {
      const o2 = P + (<usize>br(T, T - v) << 5);
      st(o2, f32x4.add(ar, ci)); st(o2 + 16, f32x4.sub(cr, ai));
    }
  }
  for (let u = 1; u < half; u++) fftDIT(S + <usize>(u - 1) * colB, T);
  fftDIT(P, T);
  for (let m = 0; m < mOut; m++) {
    const zb = B + <usize>m * rowB;
    const r0 = <usize>(2 * m) << 5;
    for (let u = 1; u < half; u++) {
      const c = S + <usize>(u - 1) * colB + r0;
      const ar = ld(c), ai = ld(c + 16), bq = ld(c + 32), bi = ld(c + 48);
      const o = zb + (<usize>br(T, u) << 5), o2 = zb + (<usize>br(T, T - u) << 5);
      st(o, f32x4.sub(ar, bi)); st(o + 16, f32x4.add(ai, bq));
      st(o2, f32x4.add(ar, bi)); st(o2 + 16, f32x4.sub(bq, ai));
    }
    // u = 0 at position 0, u = T/2 at position 1
    const pa = P + r0, pb = P + r0 + 32;
    st(zb, ld(pa)); st(zb + 16, ld(pb));
    st(zb + 32, ld(pa + 16)); st(zb + 48, ld(pb + 16));
    fftDIT(zb, T);
  }
}
