/**
 * Resident tensors (src/tensor/storage.ts) on this backend: arrays in the shared memory, which
 * the kernels use without copies. They share the heap with the kernels' per-call scratch, so
 * they stop below a limit that leaves the scratch its room; beyond it an allocation fails and
 * the tensor goes to the JS heap (slower, but it works).
 */
import type { FloatAllocator } from '../../storage.js';
import type { KernelCalls } from './calls.js';

/** Bytes of the memory that resident tensors leave to the kernels' scratch. */
const SCRATCH_RESERVE = 768 << 20;

/** The byte below which tensors (and cached filter spectra) stay. */
export function tensorLimit(k: KernelCalls): number {
  return k.heap.limit - Math.min(SCRATCH_RESERVE, k.heap.limit / 4);
}

export function residentAllocator(k: KernelCalls): FloatAllocator {
  return {
    alloc: (n) => {
      k.arena.reset(); // the last call's scratch is free room for tensors
      const p = k.heap.alloc(n * 4, tensorLimit(k));
      return p < 0 ? null : k.heap.floats(p, n);
    },
    free: (a) => k.heap.release(a.byteOffset),
    owns: (a) => k.heap.owns(a),
  };
}
