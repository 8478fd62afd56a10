// The optimiser's update (src/train/optim.ts Adam): the very arithmetic of its float64 JS loop,
// two parameters a vector (f64x2), each operation rounded as JS rounds it (no fused multiply-add,
// also in the relaxed build), so that the update is bit for bit the JS one. Elementwise, so the
// split into tasks (and the thread count) cannot change a bit.
// Job: [K_ADAM, w, g, m, v, n, chunk, consts], float32 arrays of n values (w, m, v updated in
// place) and consts: float64 [stepSize, bc2Sqrt, beta1, 1 - beta1, beta2, 1 - beta2, eps,
// weightDecay, gradScale]; the gradient is clipped first: fround(g * gradScale), as a float32 array holds it.
import { P, PU, load2, store2 } from './simd';

/** Elements [t * chunk, min(n, (t + 1) * chunk)): chunk is even, so only the last task has an odd tail. */
export function adamTask(job: usize, t: i32): void {
  const w = PU(job, 1), g = PU(job, 2), m = PU(job, 3), v = PU(job, 4);
  const n = P(job, 5), chunk = P(job, 6);
  const c = PU(job, 7);
  const stepSize = load<f64>(c), bc2Sqrt = load<f64>(c, 8), b1 = load<f64>(c, 16), nb1 = load<f64>(c, 24);
  const b2 = load<f64>(c, 32), nb2 = load<f64>(c, 40), eps = load<f64>(c, 48), wd = load<f64>(c, 56), gs = load<f64>(c, 64);
  const i0 = t * chunk, i1 = min(n, i0 + chunk);
  const iv = i0 + ((i1 - i0) & ~1);
  const vStep = f64x2.splat(stepSize), vBc2 = f64x2.splat(bc2Sqrt), vB1 = f64x2.splat(b1), vNb1 = f64x2.splat(nb1);
  const vB2 = f64x2.splat(b2), vNb2 = f64x2.splat(nb2), vEps = f64x2.splat(eps), vWd = f64x2.splat(wd), vGs = f64x2.splat(gs);
  for (let i = i0; i < iv; i += 2) {
    const o = <usize>i << 2;
    const wi = load2(w + o);
    const gi = f64x2.add(f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.mul(load2(g + o), vGs))), f64x2.mul(vWd, wi));
    const mi = f64x2.add(f64x2.mul(vB1, load2(m + o)), f64x2.mul(vNb1, gi));
    const vi = f64x2.add(f64x2.mul(vB2, load2(v + o)), f64x2.mul(f64x2.mul(vNb2, gi), gi));
    store2(m + o, mi);
    store2(v + o, vi);
    const den = f64x2.add(f64x2.div(f64x2.sqrt(vi), vBc2), vEps);
    store2(w + o, f64x2.sub(wi, f64x2.div(f64x2.mul(vStep, mi), den)));
  }
  for (let i = iv; i < i1; i++) {
    const o = <usize>i << 2;
    const wi = <f64>load<f32>(w + o);
    const gi = <f64><f32>(<f64>load<f32>(g + o) * gs) + wd * wi;
    const mi = b1 * <f64>load<f32>(m + o) + nb1 * gi;
    const vi = b2 * <f64>load<f32>(v + o) + nb2 * gi * gi;
    store<f32>(m + o, <f32>mi);
    store<f32>(v + o, <f32>vi);
    store<f32>(w + o, <f32>(wi - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps)));
  }
}

/**
 * Float64 sums of squares of chunks of a float32 array: partial[t] = the sum, in order, of x[i]^2
 * over [t * chunk, min(n, (t + 1) * chunk)) (src/train/optim.ts gradNorm's chunks).
 * Job: [K_SUM_SQUARES, x, n, chunk, partial].
 */
export function sumSquaresTask(job: usize, t: i32): void {
  const x = PU(job, 1), n = P(job, 2), chunk = P(job, 3);
  const i0 = t * chunk, i1 = min(n, i0 + chunk);
  let s: f64 = 0;
  for (let i = i0; i < i1; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    s += v * v;
  }
  store<f64>(PU(job, 4) + (<usize>t << 3), s);
}
