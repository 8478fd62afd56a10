// Resampling kernels of the Laplacian pyramid: the separable 5-tap binomial blur and PyTorch's
// 'nearest' resize with its scatter-add gradient. Tasks are (plane, band of rows).
import { P, PU, imin, madd } from './simd';

/**
 * [1 4 6 4 1]/16 blur, zero padding 2, of planes [P][H][W]: vertical pass into a zero-padded
 * row buffer, then the horizontal pass from that buffer with unaligned loads.
 * job: [kind, src, dst, planes, H, W, rows, scratch, scratchPer]; task = (plane, band of rows).
 * scratch: per thread, scratchPer bytes (>= (W + 16) floats + 64, 16-byte aligned).
 */
export function blurTask(job: usize, t: i32, thread: i32): void {
  const src = PU(job, 1), dst = PU(job, 2);
  const H = P(job, 4), W = P(job, 5), rows = P(job, 6);
  const nb = (H + rows - 1) / rows;
  const p = t / nb, b = t - p * nb;
  const h0 = b * rows, h1 = imin(H, h0 + rows);
  const plane = <usize>(H * W) << 2;
  const sp = src + <usize>p * plane, dp = dst + <usize>p * plane;
  // row buffer: 4 zeros, W values, then zeros (at least 8 floats)
  const buf = PU(job, 7) + <usize>thread * PU(job, 8);
  const tb = buf + 16;
  const rowB = <usize>W << 2;
  const Wv = W & ~3;
  v128.store(buf, f32x4.splat(0));
  const b0 = f32x4(0.0625, 0.0625, 0.0625, 0.0625), b1 = f32x4(0.25, 0.25, 0.25, 0.25), b2 = f32x4(0.375, 0.375, 0.375, 0.375);
  for (let h = h0; h < h1; h++) {
    const r = sp + <usize>h * rowB;
    const up1 = h >= 1, up2 = h >= 2, dn1 = h + 1 < H, dn2 = h + 2 < H;
    // vertical: every column, 4 at a time (the last vector may read past the row: cleared below)
    for (let o: usize = 0; o < rowB; o += 16) {
      let v = f32x4.mul(b2, v128.load(r + o));
      let n1 = f32x4.splat(0), n2 = f32x4.splat(0);
      if (up1) n1 = v128.load(r + o - rowB);
      if (dn1) n1 = f32x4.add(n1, v128.load(r + o + rowB));
      if (up2) n2 = v128.load(r + o - 2 * rowB);
      if (dn2) n2 = f32x4.add(n2, v128.load(r + o + 2 * rowB));
      v = madd(b1, n1, v);
      v = madd(b0, n2, v);
      v128.store(tb + o, v);
    }
    // zero padding after the row (overwrites what the last vector read past it)
    v128.store(tb + rowB, f32x4.splat(0));
    v128.store(tb + rowB, f32x4.splat(0), 16);
    const d = dp + <usize>h * rowB;
    const evB = <usize>Wv << 2;
    for (let o: usize = 0; o < evB; o += 16) {
      const q = tb + o;
      let v = f32x4.mul(b2, v128.load(q));
      v = madd(b1, f32x4.add(v128.load(q - 4), v128.load(q + 4)), v);
      v = madd(b0, f32x4.add(v128.load(q - 8), v128.load(q + 8)), v);
      v128.store(d + o, v);
    }
    for (let o = evB; o < rowB; o += 4) {
      const q = tb + o;
      let v = f32x4.mul(b2, v128.load32_zero(q));
      v = madd(b1, f32x4.add(v128.load32_zero(q - 4), v128.load32_zero(q + 4)), v);
      v = madd(b0, f32x4.add(v128.load32_zero(q - 8), v128.load32_zero(q + 8)), v);
      v128.store32_lane(d + o, v, 0);
    }
  }
}

/**
 * y[p][i][j] = x[p][ri[i]][ci[j]]. job: [kind, src, dst, planes, H, W, oH, oW, ri, ci, rows, mode];
 * task = (plane, band of output rows). mode 1: exact 2x upsampling (oH = 2H, oW = 2W); mode 2:
 * exact 2x downsampling (H = 2 oH, W = 2 oW); 0: any sizes, through the index tables.
 */
export function nearestTask(job: usize, t: i32): void {
  const src = PU(job, 1), dst = PU(job, 2);
  const H = P(job, 4), W = P(job, 5), oH = P(job, 6), oW = P(job, 7);
  const ri = PU(job, 8), ci = PU(job, 9), rows = P(job, 10), mode = P(job, 11);
  const nb = (oH + rows - 1) / rows;
  const p = t / nb, b = t - p * nb;
  const i0 = b * rows, i1 = imin(oH, i0 + rows);
  const sp = src + (<usize>p * <usize>(H * W) << 2), dp = dst + (<usize>p * <usize>(oH * oW) << 2);
  const oRowB = <usize>oW << 2;
  for (let i = i0; i < i1; i++) {
    const r = load<i32>(ri + (<usize>i << 2));
    const s = sp + (<usize>(r * W) << 2), d = dp + <usize>i * oRowB;
    let j = 0;
    if (mode == 1) {
      if (i > i0 && (i & 1) == 1) {
        memory.copy(d, d - oRowB, oRowB);
        continue;
      }
      // 4 source values -> 8 outputs
      for (; j + 8 <= oW; j += 8) {
        const v = v128.load(s + (<usize>(j >> 1) << 2));
        v128.store(d + (<usize>j << 2), v128.shuffle<f32>(v, v, 0, 0, 1, 1));
        v128.store(d + (<usize>j << 2), v128.shuffle<f32>(v, v, 2, 2, 3, 3), 16);
      }
    } else if (mode == 2) {
      // 8 source values -> 4 outputs
      for (; j + 4 <= oW; j += 4) {
        const q = s + (<usize>(2 * j) << 2);
        v128.store(d + (<usize>j << 2), v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6));
      }
    }
    for (; j < oW; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>load<i32>(ci + (<usize>j << 2)) << 2)));
  }
}

/**
 * gx[p][r][c] = sum of gy[p][i][j] over ri[i] = r, ci[j] = c. job: [kind, gy, gx, planes, H, W,
 * oH, oW, ri, ci, rows, mode, rowStart]; task = (plane, band of gx rows); rowStart[r] (r <= H) =
 * first i with ri[i] >= r. Modes as nearestTask.
 */
export function nearestGradTask(job: usize, t: i32): void {
  const gy = PU(job, 1), gx = PU(job, 2);
  const H = P(job, 4), W = P(job, 5), oH = P(job, 6), oW = P(job, 7);
  const ri = PU(job, 8), ci = PU(job, 9), rows = P(job, 10), mode = P(job, 11), rowStart = PU(job, 12);
  const nb = (H + rows - 1) / rows;
  const p = t / nb, b = t - p * nb;
  const r0 = b * rows, r1 = imin(H, r0 + rows);
  const gp = gy + (<usize>p * <usize>(oH * oW) << 2), xp = gx + (<usize>p * <usize>(H * W) << 2);
  const rowB = <usize>W << 2, oRowB = <usize>oW << 2;
  if (mode == 1) {
    // 2x2 sums; W = oW / 2
    for (let r = r0; r < r1; r++) {
      const a = gp + <usize>(2 * r) * oRowB, c = a + oRowB, d = xp + <usize>r * rowB;
      let k = 0;
      for (; k + 4 <= W; k += 4) {
        const o = <usize>(2 * k) << 2;
        const a0 = v128.load(a + o), a1 = v128.load(a + o, 16), c0 = v128.load(c + o), c1 = v128.load(c + o, 16);
        const top = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), v128.shuffle<f32>(a0, a1, 1, 3, 5, 7));
        const bot = f32x4.add(v128.shuffle<f32>(c0, c1, 0, 2, 4, 6), v128.shuffle<f32>(c0, c1, 1, 3, 5, 7));
        v128.store(d + (<usize>k << 2), f32x4.add(top, bot));
      }
      for (; k < W; k++) {
        const o = <usize>(2 * k) << 2;
        store<f32>(d + (<usize>k << 2), (load<f32>(a + o) + load<f32>(a + o, 4)) + (load<f32>(c + o) + load<f32>(c + o, 4)));
      }
    }
    return;
  }
  if (mode == 2) {
    // gx[2i][2j] = gy[i][j], zero elsewhere
    for (let r = r0; r < r1; r++) {
      const d = xp + <usize>r * rowB;
      if (r & 1) {
        memory.fill(d, 0, rowB);
        continue;
      }
      const s = gp + <usize>(r >> 1) * oRowB;
      const z = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= oW; j += 4) {
        const v = v128.load(s + (<usize>j << 2));
        v128.store(d + (<usize>(2 * j) << 2), v128.shuffle<f32>(v, z, 0, 4, 1, 4));
        v128.store(d + (<usize>(2 * j) << 2), v128.shuffle<f32>(v, z, 2, 4, 3, 4), 16);
      }
      for (; j < oW; j++) {
        store<f32>(d + (<usize>(2 * j) << 2), load<f32>(s + (<usize>j << 2)));
        store<f32>(d + (<usize>(2 * j) << 2), 0, 4);
      }
    }
    return;
  }
  memory.fill(xp + <usize>r0 * rowB, 0, <usize>(r1 - r0) * rowB);
  const i0 = load<i32>(rowStart + (<usize>r0 << 2)), i1 = load<i32>(rowStart + (<usize>r1 << 2));
  for (let i = i0; i < i1; i++) {
    const d = xp + (<usize>(load<i32>(ri + (<usize>i << 2)) * W) << 2), s = gp + <usize>i * oRowB;
    for (let j = 0; j < oW; j++) {
      const q = d + (<usize>load<i32>(ci + (<usize>j << 2)) << 2);
      store<f32>(q, load<f32>(q) + load<f32>(s + (<usize>j << 2)));
    }
  }
}

/**
 * 2x2 max pooling, stride 2, of planes [P][H][W] (H, W even), and its gradient. Of the window
 * (0,0), (0,1), (1,0), (1,1) the first maximum wins, a NaN replaces it (the JS reference's rule).
 * job: [kind, x, y, gy, gx, planes, H, W, rows, mode]; mode 0: y = pool(x); 1: gx = gy routed to
 * the chosen elements (zero elsewhere). task = (plane, band of output rows).
 */
export function maxPool2Task(job: usize, t: i32): void {
  const x = PU(job, 1), y = PU(job, 2), gy = PU(job, 3), gx = PU(job, 4);
  const H = P(job, 6), W = P(job, 7), rows = P(job, 8), mode = P(job, 9);
  const h2 = H >> 1, w2 = W >> 1;
  const nb = (h2 + rows - 1) / rows;
  const p = t / nb, b = t - p * nb;
  const i0 = b * rows, i1 = imin(h2, i0 + rows);
  const plane = <usize>(H * W) << 2, oPlane = <usize>(h2 * w2) << 2;
  const xp = x + <usize>p * plane, gxp = gx + <usize>p * plane;
  const yp = y + <usize>p * oPlane, gyp = gy + <usize>p * oPlane;
  const rowB = <usize>W << 2, oRowB = <usize>w2 << 2;
  for (let i = i0; i < i1; i++) {
    const r0 = xp + <usize>(2 * i) * rowB, r1 = r0 + rowB;
    const d0 = gxp + <usize>(2 * i) * rowB, d1 = d0 + rowB;
    const o = <usize>i * oRowB;
    let j = 0;
    for (; j + 4 <= w2; j += 4) {
      const q = <usize>(2 * j) << 2;
      const a0 = v128.load(r0 + q), a1 = v128.load(r0 + q, 16), c0 = v128.load(r1 + q), c1 = v128.load(r1 + q, 16);
      const v0 = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), v1 = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
      const v2 = v128.shuffle<f32>(c0, c1, 0, 2, 4, 6), v3 = v128.shuffle<f32>(c0, c1, 1, 3, 5, 7);
      let bv = v0;
      const m1 = v128.or(f32x4.gt(v1, bv), f32x4.ne(v1, v1));
      bv = v128.bitselect(v1, bv, m1);
      const m2 = v128.or(f32x4.gt(v2, bv), f32x4.ne(v2, v2));
      bv = v128.bitselect(v2, bv, m2);
      const m3 = v128.or(f32x4.gt(v3, bv), f32x4.ne(v3, v3));
      if (mode == 0) {
        v128.store(yp + o + (<usize>j << 2), v128.bitselect(v3, bv, m3));
        continue;
      }
      const g = v128.load(gyp + o + (<usize>j << 2));
      const k3 = m3, k2 = v128.andnot(m2, m3), k1 = v128.andnot(m1, v128.or(m2, m3));
      const k0 = v128.not(v128.or(m1, v128.or(m2, m3)));
      const g0 = v128.and(g, k0), g1 = v128.and(g, k1), g2 = v128.and(g, k2), g3 = v128.and(g, k3);
      v128.store(d0 + q, v128.shuffle<f32>(g0, g1, 0, 4, 1, 5));
      v128.store(d0 + q, v128.shuffle<f32>(g0, g1, 2, 6, 3, 7), 16);
      v128.store(d1 + q, v128.shuffle<f32>(g2, g3, 0, 4, 1, 5));
      v128.store(d1 + q, v128.shuffle<f32>(g2, g3, 2, 6, 3, 7), 16);
    }
    for (; j < w2; j++) {
      const q = <usize>(2 * j) << 2;
      let k = 0;
      let bv = load<f32>(r0 + q);
      let v = load<f32>(r0 + q, 4);
      if (v > bv || v != v) { bv = v; k = 1; }
      v = load<f32>(r1 + q);
      if (v > bv || v != v) { bv = v; k = 2; }
      v = load<f32>(r1 + q, 4);
      if (v > bv || v != v) { bv = v; k = 3; }
      if (mode == 0) {
        store<f32>(yp + o + (<usize>j << 2), bv);
        continue;
      }
      const g = load<f32>(gyp + o + (<usize>j << 2));
      store<f32>(d0 + q, k == 0 ? g : 0);
      store<f32>(d0 + q, k == 1 ? g : 0, 4);
      store<f32>(d1 + q, k == 2 ? g : 0);
      store<f32>(d1 + q, k == 3 ? g : 0, 4);
    }
  }
}
