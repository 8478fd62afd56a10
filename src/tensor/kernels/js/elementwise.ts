/** Reference elementwise kernels (see ../backend.ts): plain loops, float64 Math functions. */
import type { BinaryOp } from '../backend.js';

/** y = clamp * 0.636 * atan(x / clamp) (the official soft clamp; 0.636 is about 2/pi). */
export function softClampRef(x: Float32Array, clamp: number, n: number, y: Float32Array): void {
  const c = clamp * 0.636,
    inv = 1 / clamp;
  for (let i = 0; i < n; i++) y[i] = c * Math.atan(x[i]! * inv);
}

export function expRef(x: Float32Array, n: number, y: Float32Array): void {
  for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]!);
}

export function leakyReluRef(x: Float32Array, slope: number, n: number, y: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    y[i] = v > 0 ? v : v * slope;
  }
}

export function addIntoRef(acc: Float32Array, x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) acc[i] += x[i]!;
}

export function binaryRef(op: BinaryOp, a: Float32Array, b: Float32Array, n: number, out: Float32Array): void {
  if (op === 'add') for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
  else if (op === 'sub') for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
  else for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
}

export function leakyReluGradRef(x: Float32Array, gy: Float32Array, slope: number, n: number, gx: Float32Array): void {
  for (let i = 0; i < n; i++) gx[i] = x[i]! > 0 ? gy[i]! : gy[i]! * slope;
}
