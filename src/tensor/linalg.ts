/**
 * Small dense linear algebra in float64 (row-major number arrays): products, inverse, QR, LU
 * with partial pivoting, least squares. Used for the invertible 1x1 convolutions and the input
 * convolution's inverse, where matrices are C x C with C around 16.
 */

export type Matrix = Float64Array; // row-major, dimensions passed alongside

export function matmul(a: Matrix, b: Matrix, n: number, k: number, m: number): Matrix {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      if (av === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] += av * b[p * m + j]!;
    }
  return out;
}

export function transpose(a: Matrix, n: number, m: number): Matrix {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[j * n + i] = a[i * m + j]!;
  return out;
}

export function identity(n: number): Matrix {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** Inverse of an n x n matrix by Gauss-Jordan elimination with partial pivoting. */
export function inverse(a: Matrix, n: number): Matrix {
  const m = Float64Array.from(a);
  const inv = identity(n);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[piv * n + c]!)) piv = r;
    const pv = m[piv * n + c]!;
    if (pv === 0 || !Number.isFinite(pv)) throw new Error('inverse: matrix is singular');
    if (piv !== c) {
      for (let j = 0; j < n; j++) {
        let t = m[c * n + j]!;
        m[c * n + j] = m[piv * n + j]!;
        m[piv * n + j] = t;
        t = inv[c * n + j]!;
        inv[c * n + j] = inv[piv * n + j]!;
        inv[piv * n + j] = t;
      }
    }
    for (let j = 0; j < n; j++) {
      m[c * n + j] = m[c * n + j]! / pv;
      inv[c * n + j] = inv[c * n + j]! / pv;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c]!;
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[r * n + j] = m[r * n + j]! - f * m[c * n + j]!;
        inv[r * n + j] = inv[r * n + j]! - f * inv[c * n + j]!;
      }
    }
  }
  return inv;
}

/** Thin QR of an n x m matrix (n >= m) by modified Gram-Schmidt: returns Q (n x m), R (m x m). */
export function qr(a: Matrix, n: number, m: number): { q: Matrix; r: Matrix } {
  const q = Float64Array.from(a);
  const r = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += q[k * m + i]! * q[k * m + j]!;
      r[i * m + j] = dot;
      for (let k = 0; k < n; k++) q[k * m + j] = q[k * m + j]! - dot * q[k * m + i]!;
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += q[k * m + j]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) throw new Error('qr: matrix is rank deficient');
    r[j * m + j] = norm;
    for (let k = 0; k < n; k++) q[k * m + j] = q[k * m + j]! / norm;
  }
  return { q, r };
}

/** LU with partial pivoting in scipy's convention: a = P L U, L unit lower, U upper. */
export function lu(a: Matrix, n: number): { p: Matrix; l: Matrix; u: Matrix } {
  const u = Float64Array.from(a);
  const l = identity(n);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(u[r * n + c]!) > Math.abs(u[piv * n + c]!)) piv = r;
    if (piv !== c) {
      for (let j = 0; j < n; j++) {
        const t = u[c * n + j]!;
        u[c * n + j] = u[piv * n + j]!;
        u[piv * n + j] = t;
      }
      for (let j = 0; j < c; j++) {
        const t = l[c * n + j]!;
        l[c * n + j] = l[piv * n + j]!;
        l[piv * n + j] = t;
      }
      const t = perm[c]!;
      perm[c] = perm[piv]!;
      perm[piv] = t;
    }
    const pv = u[c * n + c]!;
    if (pv === 0) continue;
    for (let r = c + 1; r < n; r++) {
      const f = u[r * n + c]! / pv;
      l[r * n + c] = f;
      for (let j = c; j < n; j++) u[r * n + j] = u[r * n + j]! - f * u[c * n + j]!;
    }
  }
  // Rows were permuted: (Perm a) = L U, so a = Perm^T L U, and P = Perm^T.
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++) p[perm[i]! * n + i] = 1;
  return { p, l, u };
}

/** Least-squares left inverse (A^T A)^-1 A^T of an n x m matrix of full column rank (m x n result). */
export function leftInverse(a: Matrix, n: number, m: number): Matrix {
  const at = transpose(a, n, m);
  const ata = matmul(at, a, m, n, m);
  return matmul(inverse(ata, m), at, m, m, n);
}
