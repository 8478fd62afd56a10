/**
 * Filter spectra kept between calls. Evaluation runs the same weights image after image, and
 * transforming them is a fixed cost of every FFT convolution call (about a sixth of a 128 x 128
 * convolution at batch 1). An entry is used only when the weights hold exactly the values its
 * spectra were computed from (a copy is kept and compared), so changed weights are never served
 * stale spectra. Least recently used entries go first when the byte budget is reached.
 */
import type { Heap } from './heap.js';

/** What the spectra depend on besides the weight values. */
export interface FilterKey {
  /** 0: forward filters, 1: gradient-of-input (flipped, transposed) filters */
  mode: number;
  T: number;
  K: number;
  R: number;
  L: number;
}

interface Entry extends FilterKey {
  source: Float32Array;
  weights: Float32Array;
  offset: number;
  bytes: number;
}

export class FilterCache {
  private entries: Entry[] = [];
  private held = 0;
  budget = 0;

  constructor(private readonly heap: Heap) {}

  /** Offset of the spectra of w[0, n) under key, or -1. */
  find(w: Float32Array, n: number, key: FilterKey): number {
    const i = this.entries.findIndex((e) => e.source === w && sameKey(e, key) && sameValues(e.weights, w, n));
    if (i < 0) return -1;
    const [e] = this.entries.splice(i, 1);
    this.entries.push(e!);
    return e!.offset;
  }

  /**
   * A heap block of `bytes` for the spectra of w under key, to be filled by the caller before
   * its next use, or -1 when the budget (or the memory, above `limit`) has no room. Older
   * entries of the same array and key are dropped.
   */
  reserve(w: Float32Array, n: number, key: FilterKey, bytes: number, limit: number): number {
    if (bytes > this.budget) return -1;
    this.entries = this.entries.filter((e) => {
      if (e.source !== w || !sameKey(e, key)) return true;
      this.drop(e);
      return false;
    });
    while (this.held + bytes > this.budget && this.entries.length > 0) this.drop(this.entries.shift()!);
    const offset = this.heap.alloc(bytes, limit);
    if (offset < 0) return -1;
    this.entries.push({ ...key, source: w, weights: w.slice(0, n), offset, bytes });
    this.held += bytes;
    return offset;
  }

  /** Frees every entry; a budget of 0 keeps the cache off. */
  clear(budget = 0): void {
    for (const e of this.entries) this.drop(e);
    this.entries = [];
    this.budget = budget;
  }

  get size(): number {
    return this.entries.length;
  }

  private drop(e: Entry): void {
    this.heap.release(e.offset);
    this.held -= e.bytes;
  }
}

const sameKey = (a: FilterKey, b: FilterKey): boolean => a.mode === b.mode && a.T === b.T && a.K === b.K && a.R === b.R && a.L === b.L;

function sameValues(a: Float32Array, b: Float32Array, n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
