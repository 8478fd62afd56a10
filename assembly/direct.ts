// Direct 'same' convolution, register-blocked: 4 output channels x 8 pixels = 8 vector
// accumulators. The input is pre-padded (zero borders), the output row width is a multiple
// of 8, and the weights are re-arranged so that the 4 weights of one tap are contiguous.
import { P, PU, imin, madd, hsum, splat, ld, st } from './simd';

/**
 * y[n][o][h][0..Wq) = sum_{c,a,b} wr[o/4][c][a][b][o%4] * xp[n][c][h+a][j+b].
 * job: [kind, xp, wr, yq, N, C, Oq, H, Wq, Hp, Wp, K, band, CC, taps, planeX, planeY, obInside]
 * (plane strides in floats: a little more than Hp*Wp, H*Wq when those are multiples of 1 KiB)
 * task = (n, o block, row band), or with obInside = 1 (n, row band) doing every o block, so
 * that the band's input rows are read from cache by all but the first (1x1 convolutions, whose
 * input is read once per block otherwise). taps[i] (i32) = byte offset in xp of tap i = (c, a, b) in
 * that order, relative to the output pixel's origin, so that the innermost loop is one flat
 * run over C*K*K taps. Input channels are taken CC at a time (partial sums kept in y) so that
 * the K rows of CC channels being read stay in the L1 cache.
 */
export function convDirectTask(job: usize, t: i32): void {
  const Oq = P(job, 6), H = P(job, 7), band = P(job, 12);
  const nBands = (H + band - 1) / band;
  const nOB = P(job, 17) != 0 ? 1 : Oq >> 2;
  const n = t / (nOB * nBands);
  const r = t - n * nOB * nBands;
  const bi = r % nBands;
  const obLo = P(job, 17) != 0 ? 0 : r / nBands;
  const obHi = P(job, 17) != 0 ? Oq >> 2 : obLo + 1;
  for (let ob = obLo; ob < obHi; ob++) convDirectBlock(job, n, ob, bi * band, imin(H, bi * band + band));
}

/** Output block ob (4 channels) of image n, rows h0..h1: convDirectTask's work. */
function convDirectBlock(job: usize, n: i32, ob: i32, h0: i32, h1: i32): void {
  const xp = PU(job, 1), wr = PU(job, 2), yq = PU(job, 3);
  const C = P(job, 5), Oq = P(job, 6), Wq = P(job, 8);
  const Wp = P(job, 10), K = P(job, 11), CC = P(job, 13);
  const taps = PU(job, 14);
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

/**
 * The weight gradient of a 1x1 convolution over flat planes (HW a multiple of 4, dy with Oq = O
 * planes, O a multiple of 4): dw[o][c] = sum_{n,p} dy[n][o][p] * x[n][c][p]. Task = (block of 4
 * outputs, block of CB input channels); pixels are walked in chunks so that the 4 gradient rows
 * stay in cache while the block's channels, two at a time, read them. Each lane sums the pixels
 * of its residue mod 4 in the order of gradWeightDirectTask with K = 1 (n, then rows, then
 * columns), and hsum reduces it as there: the same bits, without that kernel's second tap.
 * job: [kind, x, dy, dw, N, C, O, Oq, HW, chunk, acc, CB]; acc: 4*CB vectors per task.
 */
export function channelMixGradTask(job: usize, t: i32): void {
  const x = PU(job, 1), dy = PU(job, 2), dw = PU(job, 3);
  const N = P(job, 4), C = P(job, 5), O = P(job, 6), Oq = P(job, 7), HW = P(job, 8), chunk = P(job, 9), CB = P(job, 11);
  const nCB = (C + CB - 1) / CB;
  const ob = t / nCB;
  const cb0 = (t - ob * nCB) * CB, cb1 = imin(C, cb0 + CB);
  const acc = PU(job, 10) + (<usize>(t * CB * 4) << 4);
  memory.fill(acc, 0, <usize>(CB * 4) << 4);
  const plane = <usize>HW << 2;
  for (let n = 0; n < N; n++) {
    const g = dy + <usize>(n * Oq + ob * 4) * plane;
    const xn = x + <usize>(n * C) * plane;
    for (let q0: usize = 0; q0 < plane; q0 += <usize>chunk << 2) {
      const q1 = q0 + (<usize>chunk << 2) < plane ? q0 + (<usize>chunk << 2) : plane;
      for (let c = cb0; c < cb1; c += 2) {
        const two = c + 1 < cb1;
        const ap = acc + (<usize>((c - cb0) * 4) << 4);
        let a0 = ld(ap), b0 = ld(ap + 16), c0 = ld(ap + 32), d0 = ld(ap + 48);
        let a1 = f32x4.splat(0), b1 = a1, c1 = a1, d1 = a1;
        if (two) {
          a1 = ld(ap + 64); b1 = ld(ap + 80); c1 = ld(ap + 96); d1 = ld(ap + 112);
        }
        const xa = xn + <usize>c * plane, xb = two ? xa + plane : xa;
        for (let q = q0; q < q1; q += 16) {
          const x0 = ld(xa + q), x1 = ld(xb + q);
          const g0 = ld(g + q), g1 = ld(g + plane + q), g2 = ld(g + 2 * plane + q), g3 = ld(g + 3 * plane + q);
          a0 = madd(g0, x0, a0); b0 = madd(g1, x0, b0); c0 = madd(g2, x0, c0); d0 = madd(g3, x0, d0);
          a1 = madd(g0, x1, a1); b1 = madd(g1, x1, b1); c1 = madd(g2, x1, c1); d1 = madd(g3, x1, d1);
        }
        st(ap, a0); st(ap + 16, b0); st(ap + 32, c0); st(ap + 48, d0);
        if (two) {
          st(ap + 64, a1); st(ap + 80, b1); st(ap + 96, c1); st(ap + 112, d1);
        }
      }
    }
  }
  for (let c = cb0; c < cb1; c++) {
    for (let l = 0; l < 4; l++) {
      const o = ob * 4 + l;
      if (o < O) store<f32>(dw + (<usize>(o * C + c) << 2), hsum(ld(acc + (<usize>((c - cb0) * 4 + l) << 4))));
    }
  }
}
