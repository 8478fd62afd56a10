// Per-pixel channel means of differences (src/tensor/ops/reduce.ts: the anomaly map's
// meanAbsDiffOverChannels and the loss's pairSquaredDiffMean), with the float64 arithmetic of
// their JS loops, two pixels a vector (f64x2): each difference taken in float64, |d| or d*d
// (then rounded to float32: the loss's squares), summed over the channels in channel order.
// Tasks split the pixels, never the channels, so neither the split nor the thread count can
// change a bit.
import { P, PU, load2, store2 } from './simd';

/**
 * job: [kind, square, u, v, out, pairs, C, hw, uItem, vItem, chunks, chunk, scratch, scratchPer]:
 * out[p][k] = sum_c f(u[pairs[2p]][c][k] - v[pairs[2p+1]][c][k]) / C, f = |d| (square 0) or
 * fround(d * d) (square 1); uItem, vItem: floats an item (vItem 0: v has one item, broadcast).
 * Task t: output item t / chunks, pixels [chunk * (t % chunks), +chunk) (chunk even); scratch:
 * chunk float64 a thread.
 */
export function channelDiffMeanTask(job: usize, t: i32, thread: i32): void {
  const square = P(job, 1) != 0;
  const u = PU(job, 2), v = PU(job, 3), out = PU(job, 4), pairs = PU(job, 5);
  const C = P(job, 6), hw = P(job, 7), uItem = P(job, 8), vItem = P(job, 9), chunks = P(job, 10), chunk = P(job, 11);
  const acc = PU(job, 12) + <usize>thread * PU(job, 13);
  const p = t / chunks;
  const k0 = (t % chunks) * chunk, k1 = min(hw, k0 + chunk), n = k1 - k0;
  const nv = n & ~1;
  const ui = load<i32>(pairs + (<usize>p << 3)), vi = load<i32>(pairs + (<usize>p << 3) + 4);
  memory.fill(acc, 0, <usize>n << 3);
  for (let c = 0; c < C; c++) {
    const up = u + ((<usize>ui * <usize>uItem + <usize>c * <usize>hw + <usize>k0) << 2);
    const vp = v + ((<usize>vi * <usize>vItem + <usize>c * <usize>hw + <usize>k0) << 2);
    if (square) {
      for (let k = 0; k < nv; k += 2) {
        const o = <usize>k;
        const d = f64x2.sub(load2(up + (o << 2)), load2(vp + (o << 2)));
        const sq = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.mul(d, d)));
        v128.store(acc + (o << 3), f64x2.add(v128.load(acc + (o << 3)), sq));
      }
      if (nv < n) {
        const o = <usize>nv;
        const d = <f64>load<f32>(up + (o << 2)) - <f64>load<f32>(vp + (o << 2));
        store<f64>(acc + (o << 3), load<f64>(acc + (o << 3)) + <f64>(<f32>(d * d)));
      }
    } else {
      for (let k = 0; k < nv; k += 2) {
        const o = <usize>k;
        const d = f64x2.abs(f64x2.sub(load2(up + (o << 2)), load2(vp + (o << 2))));
        v128.store(acc + (o << 3), f64x2.add(v128.load(acc + (o << 3)), d));
      }
      if (nv < n) {
        const o = <usize>nv;
        store<f64>(acc + (o << 3), load<f64>(acc + (o << 3)) + abs<f64>(<f64>load<f32>(up + (o << 2)) - <f64>load<f32>(vp + (o << 2))));
      }
    }
  }
  const op = out + ((<usize>p * <usize>hw + <usize>k0) << 2);
  const vc = f64x2.splat(<f64>C);
  for (let k = 0; k < nv; k += 2) store2(op + (<usize>k << 2), f64x2.div(v128.load(acc + (<usize>k << 3)), vc));
  if (nv < n) store<f32>(op + (<usize>nv << 2), <f32>(load<f64>(acc + (<usize>nv << 3)) / <f64>C));
}

/**
 * The gradient of the squares' mean over pairs of items of one array a [N][C][hw]:
 * job: [kind, a, g, ga, pairs, P, N, C, hw, chunks, chunk]: ga (overwritten) = sum over pairs (i, j),
 * in pair order, of +t at item i and -t at item j, t = 2 * fround(g[p][k] * (1 / C)) * (a[i] - a[j])
 * in float64, each addition rounded to float32 as the JS loop's Float32Array does. Task t:
 * channel t / chunks, pixels [chunk * (t % chunks), +chunk) (chunk even), over every item and pair.
 */
export function pairSquaredDiffGradTask(job: usize, t: i32): void {
  const a = PU(job, 1), g = PU(job, 2), ga = PU(job, 3), pairs = PU(job, 4);
  const np = P(job, 5), N = P(job, 6), C = P(job, 7), hw = P(job, 8), chunks = P(job, 9), chunk = P(job, 10);
  const c = t / chunks;
  const k0 = (t % chunks) * chunk, k1 = min(hw, k0 + chunk), n = k1 - k0;
  const nv = n & ~1;
  const item = <usize>C * <usize>hw;
  const base = (<usize>c * <usize>hw + <usize>k0) << 2;
  for (let i = 0; i < N; i++) memory.fill(ga + ((<usize>i * item) << 2) + base, 0, <usize>n << 2);
  const inv = 1 / <f64>C;
  const vinv = f64x2.splat(inv), two = f64x2.splat(2);
  for (let p = 0; p < np; p++) {
    const i = load<i32>(pairs + (<usize>p << 3)), j = load<i32>(pairs + (<usize>p << 3) + 4);
    const ai = a + ((<usize>i * item) << 2) + base, aj = a + ((<usize>j * item) << 2) + base;
    const gi = ga + ((<usize>i * item) << 2) + base, gj = ga + ((<usize>j * item) << 2) + base;
    const gp = g + ((<usize>p * <usize>hw + <usize>k0) << 2);
    for (let k = 0; k < nv; k += 2) {
      const o = <usize>k << 2;
      const gs = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.mul(load2(gp + o), vinv)));
      const tv = f64x2.mul(f64x2.mul(two, gs), f64x2.sub(load2(ai + o), load2(aj + o)));
      store2(gi + o, f64x2.add(load2(gi + o), tv));
      store2(gj + o, f64x2.sub(load2(gj + o), tv));
    }
    if (nv < n) {
      const o = <usize>nv << 2;
      const tv = 2 * <f64>(<f32>(<f64>load<f32>(gp + o) * inv)) * (<f64>load<f32>(ai + o) - <f64>load<f32>(aj + o));
      store<f32>(gi + o, <f32>(<f64>load<f32>(gi + o) + tv));
      store<f32>(gj + o, <f32>(<f64>load<f32>(gj + o) - tv));
    }
  }
}
