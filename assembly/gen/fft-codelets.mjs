#!/usr/bin/env node
// Generates assembly/fft-codelets.ts: straight-line radix-4 FFTs for T = 16, 32, 64 (forward
// DIF natural -> bit-reversed, inverse DIT bit-reversed -> natural, as the loop versions in
// fft.ts) with every address and twiddle offset a constant, so that the engine folds them
// into the instructions. Run by scripts/build-wasm.mjs before compiling.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIZES = [16, 32, 64];
const TAB = 65536 + 4096; // fft.ts twTab(T) = TAB + T*16

function stagesDIF(T) {
  const st = [];
  let L = T;
  while (L >= 4) {
    st.push(L);
    L >>= 2;
  }
  return { r4: st, r2: L === 2 };
}

function emitDIF(T) {
  const out = [];
  const tw = TAB + T * 16;
  out.push(`export function fftDIF${T}(p: usize): void {`);
  const { r4, r2 } = stagesDIF(T);
  for (const L of r4) {
    const q = L >> 2,
      step = T / L;
    for (let blk = 0; blk < T; blk += L) {
      for (let k = 0; k < q; k++) {
        const o = [0, 1, 2, 3].map((m) => (blk + k + m * q) * 32);
        const j1 = k * step,
          j2 = 2 * k * step,
          j3 = 3 * k * step;
        out.push('  {');
        for (let m = 0; m < 4; m++) out.push(`    const a${m}r = v128.load(p, ${o[m]}), a${m}i = v128.load(p, ${o[m] + 16});`);
        out.push('    const t0r = f32x4.add(a0r, a2r), t0i = f32x4.add(a0i, a2i), t1r = f32x4.sub(a0r, a2r), t1i = f32x4.sub(a0i, a2i);');
        out.push('    const t2r = f32x4.add(a1r, a3r), t2i = f32x4.add(a1i, a3i), t3r = f32x4.sub(a1r, a3r), t3i = f32x4.sub(a1i, a3i);');
        out.push(`    v128.store(p, f32x4.add(t0r, t2r), ${o[0]}); v128.store(p, f32x4.add(t0i, t2i), ${o[0] + 16});`);
        // y1 = (t0 - t2) * conj(w^2k) -> position q ; y2 = (t1 - i t3) * conj(w^k) -> 2q ; y3 = (t1 + i t3) * conj(w^3k) -> 3q
        out.push('    const y1r = f32x4.sub(t0r, t2r), y1i = f32x4.sub(t0i, t2i);');
        out.push('    const y2r = f32x4.add(t1r, t3i), y2i = f32x4.sub(t1i, t3r);');
        out.push('    const y3r = f32x4.sub(t1r, t3i), y3i = f32x4.add(t1i, t3r);');
        twFwd(out, 'y1', j2, T, tw, o[1]);
        twFwd(out, 'y2', j1, T, tw, o[2]);
        twFwd(out, 'y3', j3, T, tw, o[3]);
        out.push('  }');
      }
    }
  }
  if (r2) {
    for (let j = 0; j < T; j += 2) {
      const a = j * 32;
      out.push(`  { const ar = v128.load(p, ${a}), ai = v128.load(p, ${a + 16}), br = v128.load(p, ${a + 32}), bi = v128.load(p, ${a + 48});`);
      out.push(
        `    v128.store(p, f32x4.add(ar, br), ${a}); v128.store(p, f32x4.add(ai, bi), ${a + 16}); v128.store(p, f32x4.sub(ar, br), ${a + 32}); v128.store(p, f32x4.sub(ai, bi), ${a + 48}); }`,
      );
    }
  }
  out.push('}');
  return out.join('\n');
}

/** store (yr + i yi) * conj(w^j) at offset o; w^j = cos + i sin of 2 pi j / T. */
function twFwd(out, y, j, T, tw, o) {
  const jj = j % T;
  if (jj === 0) {
    out.push(`    v128.store(p, ${y}r, ${o}); v128.store(p, ${y}i, ${o + 16});`);
  } else if (jj * 4 === T) {
    // times -i: (yi, -yr)
    out.push(`    v128.store(p, ${y}i, ${o}); v128.store(p, f32x4.neg(${y}r), ${o + 16});`);
  } else if (jj * 8 === T) {
    // times (1 - i)/sqrt2: ((yr + yi) h, (yi - yr) h)
    out.push(`    v128.store(p, f32x4.mul(f32x4.add(${y}r, ${y}i), H), ${o}); v128.store(p, f32x4.mul(f32x4.sub(${y}i, ${y}r), H), ${o + 16});`);
  } else {
    out.push(`    { const c = v128.load32_splat(${tw + jj * 8}), s = v128.load32_splat(${tw + jj * 8 + 4});`);
    out.push(`      v128.store(p, madd(${y}r, c, f32x4.mul(${y}i, s)), ${o}); v128.store(p, nmadd(${y}r, s, f32x4.mul(${y}i, c)), ${o + 16}); }`);
  }
}

/** load x at offset o times w^j (inverse twiddle cos + i sin) into p${n}r, p${n}i */
function twInv(out, n, j, T, tw, o) {
  const jj = j % T;
  out.push(`    const x${n}r = v128.load(p, ${o}), x${n}i = v128.load(p, ${o + 16});`);
  if (jj === 0) {
    out.push(`    const p${n}r = x${n}r, p${n}i = x${n}i;`);
  } else if (jj * 4 === T) {
    // times i: (-xi, xr)
    out.push(`    const p${n}r = f32x4.neg(x${n}i), p${n}i = x${n}r;`);
  } else if (jj * 8 === T) {
    // times (1 + i)/sqrt2: ((xr - xi) h, (xr + xi) h)
    out.push(`    const p${n}r = f32x4.mul(f32x4.sub(x${n}r, x${n}i), H), p${n}i = f32x4.mul(f32x4.add(x${n}r, x${n}i), H);`);
  } else {
    out.push(`    const c${n} = v128.load32_splat(${tw + jj * 8}), s${n} = v128.load32_splat(${tw + jj * 8 + 4});`);
    out.push(`    const p${n}r = nmadd(x${n}i, s${n}, f32x4.mul(x${n}r, c${n})), p${n}i = madd(x${n}r, s${n}, f32x4.mul(x${n}i, c${n}));`);
  }
}

function emitDIT(T) {
  const out = [];
  const tw = TAB + T * 16;
  out.push(`export function fftDIT${T}(p: usize): void {`);
  const bits = Math.log2(T);
  let L = 4;
  if (bits & 1) {
    for (let j = 0; j < T; j += 2) {
      const a = j * 32;
      out.push(`  { const ar = v128.load(p, ${a}), ai = v128.load(p, ${a + 16}), br = v128.load(p, ${a + 32}), bi = v128.load(p, ${a + 48});`);
      out.push(
        `    v128.store(p, f32x4.add(ar, br), ${a}); v128.store(p, f32x4.add(ai, bi), ${a + 16}); v128.store(p, f32x4.sub(ar, br), ${a + 32}); v128.store(p, f32x4.sub(ai, bi), ${a + 48}); }`,
      );
    }
    L = 8;
  }
  for (; L <= T; L <<= 2) {
    const q = L >> 2,
      step = T / L;
    for (let blk = 0; blk < T; blk += L) {
      for (let k = 0; k < q; k++) {
        const o = [0, 1, 2, 3].map((m) => (blk + k + m * q) * 32);
        out.push('  {');
        out.push(`    const p0r = v128.load(p, ${o[0]}), p0i = v128.load(p, ${o[0] + 16});`);
        twInv(out, 1, 2 * k * step, T, tw, o[1]);
        twInv(out, 2, k * step, T, tw, o[2]);
        twInv(out, 3, 3 * k * step, T, tw, o[3]);
        out.push('    const b0r = f32x4.add(p0r, p1r), b0i = f32x4.add(p0i, p1i), b1r = f32x4.sub(p0r, p1r), b1i = f32x4.sub(p0i, p1i);');
        out.push('    const sr = f32x4.add(p2r, p3r), si = f32x4.add(p2i, p3i), dr = f32x4.sub(p2r, p3r), di = f32x4.sub(p2i, p3i);');
        out.push(`    v128.store(p, f32x4.add(b0r, sr), ${o[0]}); v128.store(p, f32x4.add(b0i, si), ${o[0] + 16});`);
        out.push(`    v128.store(p, f32x4.sub(b0r, sr), ${o[2]}); v128.store(p, f32x4.sub(b0i, si), ${o[2] + 16});`);
        out.push(`    v128.store(p, f32x4.sub(b1r, di), ${o[1]}); v128.store(p, f32x4.add(b1i, dr), ${o[1] + 16});`);
        out.push(`    v128.store(p, f32x4.add(b1r, di), ${o[3]}); v128.store(p, f32x4.sub(b1i, dr), ${o[3] + 16});`);
        out.push('  }');
      }
    }
  }
  out.push('}');
  return out.join('\n');
}

const parts = [
  '// GENERATED by assembly/gen/fft-codelets.mjs: do not edit. Straight-line FFTs with constant',
  '// offsets; the twiddle tables are those of fft.ts (initTables).',
  "import { madd, nmadd } from './simd';",
  '',
  '// @ts-ignore: decorator',
  '@lazy const H: v128 = f32x4.splat(0.70710678118654752);',
  '',
];
for (const T of SIZES) parts.push(emitDIF(T), '', emitDIT(T), '');
const here = dirname(fileURLToPath(import.meta.url));
writeFileSync(join(here, '..', 'fft-codelets.ts'), parts.join('\n'));
