/**
 * The WebAssembly elementwise kernels (fused affine tail forward and backward, soft clamp, exp,
 * LeakyReLU, blur, max pooling, nearest, and their gradients) against the JS reference kernels: both builds,
 * 1 and 2 threads, odd sizes (not multiples of the vector width, single rows and columns,
 * nearest resizes by 2 and by other ratios). Relative error <= 1e-5 of the largest reference
 * value; atan and exp (float32 polynomials) also per element.
 */
import { test } from 'node:test';
import { rng, randomArray, relErr, wasmBackendFactory } from './helpers.js';
import assert from 'node:assert/strict';
import type { AffineShape, KernelBackend } from '../../../src/tensor/kernels/backend.js';
import { JsBackend } from '../../../src/tensor/kernels/js/conv.js';
import { createWasmBackend } from '../../../src/tensor/kernels/wasm/backend.js';

/** max over elements of |a - b| / |a| (|a| >= tiny), NaN and infinities compared exactly. */
function elemRelErr(ref: Float32Array, got: Float32Array, tiny = 1e-30): number {
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!,
      g = got[i]!;
    if (Number.isNaN(r) || !Number.isFinite(r)) {
      if (!Object.is(r, g)) return Infinity;
      continue;
    }
    if (Math.abs(r) < tiny) {
      if (Math.abs(g) > tiny) return Infinity;
      continue;
    }
    const d = Math.abs(r - g) / Math.abs(r);
    if (!(d <= e)) e = Number.isNaN(d) ? Infinity : d;
  }
  return e;
}

const TOL = 1e-5;
const js = new JsBackend();

const make = wasmBackendFactory();

/** Runs a kernel writing `n` outputs into a NaN-filled array. */
function out(n: number, fn: (o: Float32Array) => void): Float32Array {
  const o = new Float32Array(n).fill(NaN);
  fn(o);
  return o;
}

// ---------------------------------------------------------------------------------------------

const MAP_SIZES = [1, 3, 4, 5, 17, 1023, 40001, 262147];

function checkMaps(b: KernelBackend): void {
  const next = rng(7);
  for (const n of MAP_SIZES) {
    const label = `${b.name} n=${n}`;
    // soft clamp over a wide range: the three branches of atan's reduction, and large values
    const wide = randomArray(n, next, 12);
    for (let i = 0; i < n; i += 7) wide[i] = wide[i]! * 1e3;
    const sc = out(n, (o) => b.softClamp(wide, 2, n, o));
    const scRef = out(n, (o) => js.softClamp(wide, 2, n, o));
    assert.ok(relErr(scRef, sc) <= TOL, `softClamp ${label}: ${relErr(scRef, sc)}`);
    assert.ok(elemRelErr(scRef, sc) <= 1e-6, `softClamp ${label} per element: ${elemRelErr(scRef, sc)}`);
    const e = out(n, (o) => b.exp(wide, n, o));
    const eRef = out(n, (o) => js.exp(wide, n, o));
    assert.ok(elemRelErr(eRef, e, 1.2e-38) <= 1e-6, `exp ${label} per element: ${elemRelErr(eRef, e, 1.2e-38)}`);
    const x = randomArray(n, next),
      g = randomArray(n, next);
    for (const slope of [0.01, 0.3]) {
      // (the slope is a float32 in wasm: products may differ in the last bit)
      const l = out(n, (o) => b.leakyRelu(x, slope, n, o));
      assert.ok(
        elemRelErr(
          out(n, (o) => js.leakyRelu(x, slope, n, o)),
          l,
        ) <= 2.5e-7,
        `leakyRelu ${label}`,
      );
      const gx = out(n, (o) => b.leakyReluGrad(x, g, slope, n, o));
      assert.ok(
        elemRelErr(
          out(n, (o) => js.leakyReluGrad(x, g, slope, n, o)),
          gx,
        ) <= 2.5e-7,
        `leakyReluGrad ${label}`,
      );
    }
    // in place: the sum of two float32 values is exact in both
    const accRef = x.slice(),
      acc = x.slice();
    js.addInto(accRef, g, n);
    b.addInto(acc, g, n);
    assert.deepEqual(acc, accRef, `addInto ${label}`);
    assert.ok(
      accRef.some((v, i) => v !== x[i]),
      'addInto changed the values',
    );
    // sum, difference and product of two float32 values: one rounding in both, bit for bit
    for (const op of ['add', 'sub', 'mul'] as const) {
      const r = out(n, (o) => b.binary(op, x, g, n, o)),
        rRef = out(n, (o) => js.binary(op, x, g, n, o));
      assert.deepEqual(r, rRef, `binary ${op} ${label}`);
      const i = n - 1;
      const expect = op === 'add' ? x[i]! + g[i]! : op === 'sub' ? x[i]! - g[i]! : x[i]! * g[i]!;
      assert.equal(r[i], Math.fround(expect), `binary ${op} ${label}: last element`);
    }
  }
  // special values
  const special = Float32Array.from([
    0,
    -0,
    NaN,
    Infinity,
    -Infinity,
    1e-40,
    -1e-40,
    88.7,
    88.73,
    89,
    100,
    -87.3,
    -87.4,
    -103,
    -104,
    -200,
    0.41421356,
    0.41421357,
    2.4142135,
    2.4142137,
    -0.41421357,
    -2.4142137,
    1,
    -1,
    3.4e38,
    -3.4e38,
  ]);
  const n = special.length;
  const e = out(n, (o) => b.exp(special, n, o)),
    eRef = out(n, (o) => js.exp(special, n, o));
  assert.ok(elemRelErr(eRef, e, 1.2e-38) <= 1e-6, `exp special ${b.name}: ${Array.from(e).join(', ')}`);
  const s = out(n, (o) => b.softClamp(special, 2, n, o)),
    sRef = out(n, (o) => js.softClamp(special, 2, n, o));
  assert.ok(elemRelErr(sRef, s) <= 1e-6, `softClamp special ${b.name}: ${Array.from(s).join(', ')}`);
  assert.ok(Object.is(s[1], -0) && Number.isNaN(s[2]!), 'softClamp keeps -0 and NaN');
  const l = out(n, (o) => b.leakyRelu(special, 0.01, n, o));
  assert.ok(Number.isNaN(l[2]!) && l[3] === Infinity && l[4] === -Infinity, 'leakyRelu special values');
}

// [planes, H, W]
const BLUR_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 1, 7],
  [2, 7, 1],
  [2, 3, 5],
  [3, 7, 9],
  [5, 17, 13],
  [1, 2, 2],
  [2, 64, 61],
  [33, 40, 36],
  [3, 129, 67],
];

function checkBlur(b: KernelBackend): void {
  const next = rng(11);
  for (const [P, H, W] of BLUR_SHAPES) {
    const n = P * H * W;
    const x = randomArray(n, next);
    const err = relErr(
      out(n, (o) => js.blur(x, P, H, W, o)),
      out(n, (o) => b.blur(x, P, H, W, o)),
    );
    assert.ok(err <= TOL, `blur ${b.name} ${P}x${H}x${W}: ${err}`);
  }
}

// [planes, H, W, outH, outW]
const NEAREST_SHAPES: [number, number, number, number, number][] = [
  [2, 4, 4, 8, 8],
  [3, 5, 7, 10, 14],
  [1, 1, 1, 2, 2],
  [2, 16, 16, 32, 32],
  [3, 33, 30, 66, 60], // 2x up
  [2, 8, 8, 4, 4],
  [3, 10, 14, 5, 7],
  [1, 2, 2, 1, 1],
  [2, 64, 62, 32, 31], // 2x down
  [2, 5, 7, 7, 3],
  [1, 3, 3, 8, 5],
  [3, 9, 4, 4, 9],
  [2, 6, 6, 12, 5],
  [1, 7, 5, 1, 1],
  [4, 1, 1, 3, 2],
  [2, 40, 31, 17, 64],
  // large enough to be split over the threads
  [8, 64, 63, 128, 126],
  [8, 256, 130, 128, 65],
  [4, 200, 170, 130, 260],
];

function checkNearest(b: KernelBackend): void {
  const next = rng(13);
  for (const [P, H, W, oH, oW] of NEAREST_SHAPES) {
    const label = `${b.name} ${P}x${H}x${W} -> ${oH}x${oW}`;
    const x = randomArray(P * H * W, next),
      g = randomArray(P * oH * oW, next);
    const nOut = P * oH * oW,
      nIn = P * H * W;
    assert.deepEqual(
      out(nOut, (o) => b.nearest(x, P, H, W, oH, oW, o)),
      out(nOut, (o) => js.nearest(x, P, H, W, oH, oW, o)),
      `nearest ${label}`,
    );
    const err = relErr(
      out(nIn, (o) => js.nearestGrad(g, P, H, W, oH, oW, o)),
      out(nIn, (o) => b.nearestGrad(g, P, H, W, oH, oW, o)),
    );
    assert.ok(err <= 1e-6, `nearestGrad ${label}: ${err}`);
  }
}

// [planes, H, W]
const POOL_SHAPES: [number, number, number][] = [
  [1, 2, 2],
  [2, 4, 6],
  [3, 6, 10],
  [2, 2, 14],
  [5, 18, 22],
  [4, 64, 62],
  [16, 128, 130],
];

function checkMaxPool(b: KernelBackend): void {
  const next = rng(17);
  for (const [P, H, W] of POOL_SHAPES) {
    const label = `${b.name} ${P}x${H}x${W}`;
    const n = P * H * W;
    // coarse values: many ties; and some NaNs
    const x = randomArray(n, next).map((v) => Math.round(v * 3) / 3);
    for (let i = 0; i < n; i += 37) x[i] = NaN;
    const g = randomArray(n / 4, next);
    assert.deepEqual(
      out(n / 4, (o) => b.maxPool2(x, P, H, W, o)),
      out(n / 4, (o) => js.maxPool2(x, P, H, W, o)),
      `maxPool2 ${label}`,
    );
    assert.deepEqual(
      out(n, (o) => b.maxPool2Grad(x, g, P, H, W, o)),
      out(n, (o) => js.maxPool2Grad(x, g, P, H, W, o)),
      `maxPool2Grad ${label}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

interface AffineCase {
  s: AffineShape;
  /** Evaluation: 'scalar' or 'full' running mean; training: null. */
  running: 'scalar' | 'full' | null;
  gx: boolean;
}

const aff = (N: number, C: number, h: number, w: number, H: number, W: number, volumeNorm: 'cvn' | 'svn'): AffineShape => ({
  batch: N,
  channels: C,
  height: h,
  width: w,
  outHeight: H,
  outWidth: W,
  clamp: 2,
  volumeNorm,
});

const AFFINE_SHAPES: AffineShape[] = [
  aff(2, 3, 8, 8, 8, 8, 'cvn'),
  aff(1, 1, 1, 1, 1, 1, 'cvn'),
  aff(3, 5, 7, 9, 7, 9, 'svn'),
  aff(2, 3, 13, 5, 13, 5, 'cvn'),
  aff(2, 4, 8, 6, 4, 3, 'cvn'), // down block: 2x down
  aff(1, 2, 10, 14, 5, 7, 'svn'),
  aff(2, 2, 5, 7, 3, 4, 'cvn'), // other ratios
  aff(2, 3, 3, 4, 7, 9, 'svn'), // up: several y pixels read one scale pixel
  aff(2, 16, 64, 62, 64, 62, 'cvn'), // several bands, several threads
  aff(2, 8, 64, 66, 32, 33, 'svn'),
  aff(1, 4, 33, 17, 33, 17, 'svn'),
];

const AFFINE_CASES: AffineCase[] = AFFINE_SHAPES.flatMap((s, i) => [
  { s, running: null, gx: i % 2 === 0 },
  { s, running: 'full', gx: true },
  { s, running: 'scalar', gx: i % 2 === 1 },
]);

function checkAffine(b: KernelBackend): void {
  AFFINE_CASES.forEach((c, idx) => {
    const { s } = c;
    const next = rng(100 + idx);
    const { batch: N, channels: C, height: h, width: w, outHeight: H, outWidth: W } = s;
    const label = `${b.name} ${JSON.stringify(s)} ${c.running ?? 'training'}`;
    const meanSize = s.volumeNorm === 'cvn' ? h * w : C;
    // log-scales over all branches of atan; a non-zero mean per channel
    const raw = randomArray(N * 2 * C * h * w, next, 3);
    for (let i = 0; i < raw.length; i += 5) raw[i] = raw[i]! * 4 + 1;
    const x = randomArray(N * C * H * W, next),
      gy = randomArray(N * C * H * W, next);
    const running = c.running === null ? null : c.running === 'scalar' ? Float32Array.of(0.3) : randomArray(meanSize, next, 0.5);
    const refMean = new Float32Array(meanSize),
      gotMean = new Float32Array(meanSize).fill(NaN);
    const yRef = out(N * C * H * W, (o) => js.fusedAffineForward(raw, x, s, running, o, running ? null : refMean));
    const y = out(N * C * H * W, (o) => b.fusedAffineForward(raw, x, s, running, o, running ? null : gotMean));
    assert.ok(relErr(yRef, y) <= TOL, `fusedAffineForward ${label}: y ${relErr(yRef, y)}`);
    if (!running) assert.ok(relErr(refMean, gotMean) <= 1e-6, `fusedAffineForward ${label}: batch mean ${relErr(refMean, gotMean)}`);
    // the inverse direction: x = (y - shift) / scale, back to x
    const si = { ...s, inverse: true };
    const xRef = out(N * C * H * W, (o) => js.fusedAffineForward(raw, yRef, si, running, o, running ? null : new Float32Array(meanSize)));
    const xGot = out(N * C * H * W, (o) => b.fusedAffineForward(raw, yRef, si, running, o, running ? null : new Float32Array(meanSize)));
    assert.ok(relErr(xRef, xGot) <= TOL, `fusedAffineForward inverse ${label}: x ${relErr(xRef, xGot)}`);
    assert.ok(relErr(x, xGot) <= 1e-4, `fusedAffineForward inverse ${label}: round trip ${relErr(x, xGot)}`);
    const mean = running ?? refMean;
    const gxRef = c.gx ? new Float32Array(N * C * H * W) : null,
      gxGot = c.gx ? new Float32Array(N * C * H * W).fill(NaN) : null;
    const grawRef = new Float32Array(raw.length),
      grawGot = new Float32Array(raw.length).fill(NaN);
    js.fusedAffineBackward(gy, raw, x, mean, s, !running, gxRef, grawRef);
    b.fusedAffineBackward(gy, raw, x, mean, s, !running, gxGot, grawGot);
    if (gxRef) assert.ok(relErr(gxRef, gxGot!) <= TOL, `fusedAffineBackward ${label}: gx ${relErr(gxRef, gxGot!)}`);
    // the log-scale and shift halves separately (different magnitudes)
    const half = (a: Float32Array, k: number): Float32Array => {
      const o = new Float32Array(N * C * h * w);
      for (let n = 0; n < N; n++) o.set(a.subarray((2 * n + k) * C * h * w, (2 * n + k + 1) * C * h * w), n * C * h * w);
      return o;
    };
    for (const k of [0, 1]) {
      const e = relErr(half(grawRef, k), half(grawGot, k));
      assert.ok(e <= TOL, `fusedAffineBackward ${label}: graw ${k === 0 ? 'log-scale' : 'shift'} ${e}`);
    }
  });
}

// The unfused kernels (soft clamp, subtract, exp) give the fused tail's scale bit for bit in
// wasm (the JS reference subtracts in float64: to rounding), so the inverse of a coupling
// (unfused) undoes its forward (fused) to rounding.
function checkFusedEqualsUnfused(b: KernelBackend, exact = true): void {
  const next = rng(5);
  const s = aff(2, 3, 9, 11, 9, 11, 'cvn');
  const n = 2 * 3 * 9 * 11;
  const raw = randomArray(2 * n, next, 5),
    ones = new Float32Array(n).fill(1);
  // x = 1 and shift = 0: y = scale exactly
  for (let k = 0; k < 2; k++) raw.fill(0, (2 * k + 1) * 3 * 99, (2 * k + 2) * 3 * 99);
  const mean = new Float32Array(99),
    y = new Float32Array(n);
  b.fusedAffineForward(raw, ones, s, null, y, mean);
  const sc = new Float32Array(n);
  for (let k = 0; k < 2; k++) b.softClamp(raw.subarray(2 * k * 3 * 99), 2, 3 * 99, sc.subarray(k * 3 * 99));
  for (let i = 0; i < n; i++) sc[i] = sc[i]! - mean[i % 99]!;
  const e = new Float32Array(n);
  b.exp(sc, n, e);
  if (exact) assert.deepEqual(e, y, `${b.name}: unfused soft clamp / exp differ from the fused tail`);
  else assert.ok(elemRelErr(y, e) <= 1e-6, `${b.name}: unfused soft clamp / exp differ from the fused tail`);
}

for (const relaxed of [false, true]) {
  for (const threads of [1, 2]) {
    test(`wasm ${relaxed ? 'relaxed-simd' : 'simd'} build, ${threads} thread(s): elementwise kernels match the reference`, async (t) => {
      const b = await make(threads, relaxed);
      if (relaxed && !b.relaxedSimd) {
        t.skip('relaxed SIMD is not available in this runtime');
        return;
      }
      checkMaps(b);
      checkBlur(b);
      checkNearest(b);
      checkMaxPool(b);
      checkAffine(b);
      checkFusedEqualsUnfused(b);
    });
  }
}

test('the JS reference: fused tail equals its unfused kernels, blur is self-adjoint', () => {
  checkFusedEqualsUnfused(js, false);
  const next = rng(3);
  const [P, H, W] = [2, 9, 6];
  const u = randomArray(P * H * W, next),
    v = randomArray(P * H * W, next);
  const bu = new Float32Array(u.length),
    bv = new Float32Array(v.length);
  js.blur(u, P, H, W, bu);
  js.blur(v, P, H, W, bv);
  let a = 0,
    c = 0;
  for (let i = 0; i < u.length; i++) {
    a += bu[i]! * v[i]!;
    c += u[i]! * bv[i]!;
  }
  assert.ok(Math.abs(a - c) <= 1e-5 * Math.abs(a), `<Bu, v> ${a} vs <u, Bv> ${c}`);
});

test('wasm elementwise kernels: argument checks and dispose', async () => {
  const b = await createWasmBackend({ threads: 2 });
  assert.throws(
    () => b.fusedAffineForward(new Float32Array(8), new Float32Array(4), aff(1, 1, 2, 2, 2, 2, 'cvn'), new Float32Array(3), new Float32Array(4), null),
    /running mean/,
  );
  assert.throws(
    () => b.fusedAffineForward(new Float32Array(8), new Float32Array(4), aff(1, 1, 2, 2, 2, 2, 'cvn'), null, new Float32Array(4), null),
    /batchMean/,
  );
  assert.throws(() => b.blur(new Float32Array(3), 1, 2, 2, new Float32Array(4)), /too short/);
  assert.throws(() => b.nearest(new Float32Array(4), 1, 0, 2, 2, 2, new Float32Array(4)), /bad size/);
  b.dispose();
  assert.throws(() => b.exp(new Float32Array(4), 4, new Float32Array(4)), /dispose/);
});
