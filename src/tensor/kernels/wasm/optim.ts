/**
 * The optimiser's update (assembly/optim.ts): every parameter's arrays gathered into one block
 * of the shared memory, one job over all threads, then scattered back. The kernel repeats the
 * float64 JS loop's arithmetic (the same bits), so the update does not depend on which runs it.
 */
import { type AdamArrays, type AdamConstants, SUM_OF_SQUARES_CHUNK } from '../backend.js';
import { type KernelCalls, PARALLEL_ELEMS } from './calls.js';
import { K_ADAM, K_SUM_SQUARES } from './kernel-ids.js';

/** Values per task: even (the kernel's vectors are pairs), a few thousand (the loop divides and takes roots). */
const CHUNK = 8192;

export class OptimKernels {
  constructor(private readonly k: KernelCalls) {}

  adamStep(groups: readonly AdamArrays[], h: AdamConstants): void {
    let n = 0;
    for (const a of groups) {
      const len = a.w.length;
      if (a.g.length < len || a.m.length !== len || a.v.length !== len) throw new Error('adamStep: arrays of a parameter differ in length');
      n += len;
    }
    if (n === 0) return;
    const k = this.k;
    k.arena.reset();
    const w = k.arena.floats(n),
      g = k.arena.floats(n),
      m = k.arena.floats(n),
      v = k.arena.floats(n);
    const c = k.arena.floats(18);
    new Float64Array(k.buffer, c, 9).set([h.stepSize, h.bc2Sqrt, h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.eps, h.weightDecay, h.gradScale]);
    let o = 0;
    for (const a of groups) {
      const len = a.w.length;
      k.put(w + o * 4, a.w, len);
      k.put(g + o * 4, a.g, len);
      k.put(m + o * 4, a.m, len);
      k.put(v + o * 4, a.v, len);
      o += len;
    }
    k.run([K_ADAM, w, g, m, v, n, CHUNK, c], Math.ceil(n / CHUNK), n * 8, PARALLEL_ELEMS);
    o = 0;
    for (const a of groups) {
      const len = a.w.length;
      k.get(w + o * 4, a.w, len);
      k.get(m + o * 4, a.m, len);
      k.get(v + o * 4, a.v, len);
      o += len;
    }
    k.arena.reset();
  }

  sumOfSquares(arrays: readonly Float32Array[]): number {
    const n = arrays.reduce((a, x) => a + x.length, 0);
    if (n === 0) return 0;
    const k = this.k;
    k.arena.reset();
    const x = k.arena.floats(n);
    let o = 0;
    for (const a of arrays) {
      k.put(x + o * 4, a, a.length);
      o += a.length;
    }
    const chunks = Math.ceil(n / SUM_OF_SQUARES_CHUNK);
    const partial = k.arena.floats(2 * chunks);
    k.run([K_SUM_SQUARES, x, n, SUM_OF_SQUARES_CHUNK, partial], chunks, n, PARALLEL_ELEMS);
    const sums = new Float64Array(k.buffer, partial, chunks);
    let total = 0;
    for (let i = 0; i < chunks; i++) total += sums[i]!;
    k.arena.reset();
    return total;
  }
}
