// Direct 'same' convolution, register-blocked: 4 output channels x 8 pixels = 8 vector
// accumulators. The input is pre-padded (zero borders), the output row width is a multiple
// of 8, and the weights are re-arranged so that the 4 weights of one tap are contiguous.
import { P, PU, imin, madd, hsum, splat, ld, st } from './simd';

/**
 * y[n][o][h][0..Wq) = sum_{c,a,b} wr[o/4][c][a][b][o%4] * xp[n][c][h+a][j+b].
 * job: [kind, xp, wr, yq, N, C, Oq, H, Wq, Hp, Wp, K, band, CC, taps, planeX, planeY]
 * (plane strides in floats: a little more than Hp*Wp, H*Wq when those are multiples of 1 KiB)
 * task = (n, o block, row band). taps[i] (i32) = byte offset in xp of tap i = (c, a, b) in
 * that order, relative to the output pixel's origin, so that the innermost loop is one flat
 * run over C*K*K taps. Input channels are taken CC at a time (partial sums kept in y) so that
 * the K rows of CC channels being read stay in the L1 cache.
 */
export function convDirectTask(job: usize, t: i32): void {
  const xp = PU(job, 1), wr = PU(job, 2), yq = PU(job, 3);
  const C = P(job, 5), Oq = P(job, 6), H = P(job, 7), Wq = P(job, 8);
  const Hp = P(job, 9), Wp = P(job, 10), K = P(job, 11), band = P(job, 12), CC = P(job, 13);
  const taps = PU(job, 14);
  const nOB = Oq >> 2;
  const nBands = (H + band - 1) / band;
  const n = t / (nOB * nBands);
  const r = t - n * nOB * nBands;
  const ob = r / nBands;
  const bi = r - ob * nBands;
  const h0 = bi * band, h1 = imin(H, h0 + band);
  const KK = K * K;
  const wb = wr + (<usize>(ob * C * KK) << 4);
  const planeX = <usize>P(job, 15) << 2;
  const planeY = <usize>P(job, 16) << 2;
  const rowX = <usize>Wp << 2;
  const y0p = yq + <usize>(n * Oq + ob * 4) * planeY;
  const xn = xp + <usize>(n * C) * planeX;
  for (let h = h0; h < h1; h++) {
    const yr = y0p + (<usize>(h * Wq) << 2);
    const xr0 = xn + <usize>h * rowX;
    for (let c0 = 0; c0 < C; c0 += CC) {
      const c1 = imin(C, c0 + CC);
      const wc = wb + (<usize>(c0 * KK) << 4);
      const t0 = taps + (<usize>(c0 * KK) << 2), t1 = taps + (<usize>(c1 * KK) << 2);
      for (let j = 0; j < Wq; j += 8) {
        const yj = yr + (<usize>j << 2);
        let a0: v128, a1: v128, b0: v128, b1: v128, c0v: v128, c1v: v128, d0: v128, d1: v128;
        if (c0 == 0) {
          a0 = f32x4.splat(0); a1 = a0; b0 = a0; b1 = a0; c0v = a0; c1v = a0; d0 = a0; d1 = a0;
        } else {
          a0 = ld(yj); a1 = ld(yj + 16); b0 = ld(yj + planeY); b1 = ld(yj + planeY + 16);
          c0v = ld(yj + 2 * planeY); c1v = ld(yj + 2 * planeY + 16); d0 = ld(yj + 3 * planeY); d1 = ld(yj + 3 * planeY + 16);
        }
        const xj = xr0 + (<usize>j << 2);
        let wp = wc;
        for (let tp = t0; tp < t1; tp += 4) {
          const xb = xj + <usize>load<u32>(tp);
          const x0 = v128.load(xb), x1 = v128.load(xb, 16);
          const w0 = v128.load32_splat(wp), w1 = v128.load32_splat(wp, 4);
          const w2 = v128.load32_splat(wp, 8), w3 = v128.load32_splat(wp, 12);
          wp += 16;
          a0 = madd(x0, w0, a0); a1 = madd(x1, w0, a1);
          b0 = madd(x0, w1, b0); b1 = madd(x1, w1, b1);
          c0v = madd(x0, w2, c0v); c1v = madd(x1, w2, c1v);
          d0 = madd(x0, w3, d0); d1 = madd(x1, w3, d1);
        }
        st(yj, a0); st(yj + 16, a1);
        st(yj + planeY, b0); st(yj + planeY + 16, b1);
        st(yj + 2 * planeY, c0v); st(yj + 2 * planeY + 16, c1v);
        st(yj + 3 * planeY, d0); st(yj + 3 * planeY + 16, d1);
      }
    }
  }
}

/**
 * dw[o][c][a][b] = sum_{n,h,j} dyq[n][o][h][j] * xp[n][c][h+a][j+b] for o < O, with dyq
 * zero in padding columns (j >= W) and padding channels (o >= O).
 * Accumulators: 4 output channels x 2 taps b, b+1; lanes over pixels; reduced at the end.
 * Pixels are walked in chunks of `rows` rows so that the planes being read stay in L1/L2.
 * job: [kind, xp, dyq, dw, N, C, O, Oq, H, Wq, Hp, Wp, K, rows, acc, planeX, planeY]
 * task = (o block, c); acc = scratch for 4*K*(K+1) vectors per task, indexed by task.
 */
export function gradWeightDirectTask(job: usize, t: i32): void {
  const xp = PU(job, 1), dyq = PU(job, 2), dw = PU(job, 3);
  const N = P(job, 4), C = P(job, 5), O = P(job, 6), Oq = P(job, 7);
  const H = P(job, 8), Wq = P(job, 9), Hp = P(job, 10), Wp = P(job, 11), K = P(job, 12);
  const rows = P(job, 13);
  const Ke = K + 1; // even count of taps per row (last one computed and dropped when K is odd)
  const acc = PU(job, 14) + (<usize>(t * 4 * K * Ke) << 4);
  const ob = t / C, c = t - ob * C;
  const planeX = <usize>P(job, 15) << 2;
  const planeY = <usize>P(job, 16) << 2;
  const rowX = <usize>Wp << 2;
  const rowY = <usize>Wq << 2;
  memory.fill(acc, 0, <usize>(4 * K * Ke) << 4);
  for (let n = 0; n < N; n++) {
    const yb = dyq + <usize>(n * Oq + ob * 4) * planeY;
    const xb = xp + <usize>(n * C + c) * planeX;
    for (let h0 = 0; h0 < H; h0 += rows) {
      const h1 = imin(H, h0 + rows);
      let ap = acc;
      for (let a = 0; a < K; a++) {
        for (let b = 0; b < Ke; b += 2) {
          let a0 = ld(ap), a1 = ld(ap + 16), b0 = ld(ap + 32), b1 = ld(ap + 48);
          let c0 = ld(ap + 64), c1 = ld(ap + 80), d0 = ld(ap + 96), d1 = ld(ap + 112);
          for (let h = h0; h < h1; h++) {
            let yp = yb + <usize>h * rowY;
            const ye = yp + rowY;
            let xq = xb + <usize>(h + a) * rowX + (<usize>b << 2);
            for (; yp < ye; yp += 16) {
              const x0 = ld(xq), x1 = ld(xq + 4);
              const g0 = ld(yp), g1 = ld(yp + planeY), g2 = ld(yp + 2 * planeY), g3 = ld(yp + 3 * planeY);
              a0 = madd(g0, x0, a0); a1 = madd(g0, x1, a1);
              b0 = madd(g1, x0, b0); b1 = madd(g1, x1, b1);
              c0 = madd(g2, x0, c0); c1 = madd(g2, x1, c1);
              d0 = madd(g3, x0, d0); d1 = madd(g3, x1, d1);
              xq += 16;
            }
          }
          st(ap, a0); st(ap + 16, a1); st(ap + 32, b0); st(ap + 48, b1);
          st(ap + 64, c0); st(ap + 80, c1); st(ap + 96, d0); st(ap + 112, d1);
          ap += 128;
        }
      }
    }
  }
  // reduce and store
  const KK = K * K;
  let ap = acc;
  for (let a = 0; a < K; a++) {
    for (let b = 0; b < Ke; b += 2) {
      for (let l = 0; l < 4; l++) {
        const o = ob * 4 + l;
        if (o < O) {
          const d = dw + (<usize>((o * C + c) * KK + a * K + b) << 2);
          store<f32>(d, hsum(ld(ap + (<usize>l << 5))));
          if (b + 1 < K) store<f32>(d + 4, hsum(ld(ap + (<usize>l << 5) + 16)));
        }
      }
      ap += 128;
    }
  }
}
