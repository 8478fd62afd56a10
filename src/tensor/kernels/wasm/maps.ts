/**
 * Elementwise maps (assembly/elementwise.ts mapTask): soft clamp, exp, LeakyReLU and its
 * gradient, add / subtract / multiply. f32x4 loops split over the threads in chunks; atan and
 * exp are float32 polynomials, the very arithmetic of the fused affine kernels (affine.ts), so
 * that the unfused path reproduces the fused one bit for bit.
 */
import type { BinaryOp } from '../backend.js';
import { type KernelCalls, ceilTo, f32bits, PARALLEL_ELEMS, TRANSCENDENTAL_WORK } from './calls.js';
import { K_MAP, MAP_EXP, MAP_SOFT_CLAMP, MAP_LEAKY, MAP_LEAKY_GRAD, MAP_ADD, MAP_SUB, MAP_MUL } from './kernel-ids.js';

export class MapKernels {
  constructor(private readonly k: KernelCalls) {}

  softClamp(x: Float32Array, clamp: number, n: number, y: Float32Array): void {
    this.map(MAP_SOFT_CLAMP, x, null, n, y, clamp * 0.636, 1 / clamp);
  }

  exp(x: Float32Array, n: number, y: Float32Array): void {
    this.map(MAP_EXP, x, null, n, y, 0, 0);
  }

  leakyRelu(x: Float32Array, slope: number, n: number, y: Float32Array): void {
    this.map(MAP_LEAKY, x, null, n, y, slope, 0);
  }

  leakyReluGrad(x: Float32Array, gy: Float32Array, slope: number, n: number, gx: Float32Array): void {
    this.map(MAP_LEAKY_GRAD, x, gy, n, gx, slope, 0);
  }

  addInto(acc: Float32Array, x: Float32Array, n: number): void {
    this.map(MAP_ADD, acc, x, n, acc, 0, 0);
  }

  binary(op: BinaryOp, a: Float32Array, b: Float32Array, n: number, out: Float32Array): void {
    this.map(op === 'add' ? MAP_ADD : op === 'sub' ? MAP_SUB : MAP_MUL, a, b, n, out, 0, 0);
  }

  /** dst = op(a[, b]) over n values, in chunks of a few thousand values a task (dst may be a: in place). */
  private map(op: number, a: Float32Array, b: Float32Array | null, n: number, dst: Float32Array, f0: number, f1: number): void {
    if (n <= 0) return;
    this.k.arena.reset();
    const ap = this.k.input(a, n),
      bp = b ? this.k.input(b, n) : 0;
    const dp = this.k.outputAt(dst, n);
    const transcendental = op === MAP_EXP || op === MAP_SOFT_CLAMP;
    const work = transcendental ? n * TRANSCENDENTAL_WORK : n;
    const chunk = this.chunk(n, transcendental ? 4096 : 16384);
    this.k.run([K_MAP, op, ap, bp, dp, n, chunk, f32bits(f0), f32bits(f1)], Math.ceil(n / chunk), work, PARALLEL_ELEMS);
    this.k.output(dp, dst, n);
  }

  /** A task size (multiple of 16 values) near `target`, small enough for 4 tasks a thread. */
  private chunk(n: number, target: number): number {
    const perThread = Math.ceil(n / (4 * this.k.threads));
    return ceilTo(Math.max(16, Math.min(target, perThread)), 16);
  }
}
