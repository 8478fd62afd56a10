/**
 * The allocator of the shared WebAssembly memory: tensors that live there (see
 * src/tensor/storage.ts) and the kernels' per-call scratch. Best fit (less fragmentation than
 * first fit at 1024x1024) over an address-ordered free list, neighbours coalesced on free, the memory grown when nothing fits. Blocks are
 * 64-byte aligned with 256 bytes of slack behind them, because vector loads may read a little
 * past the end of an array. Only the calling thread allocates; workers just read and write.
 *
 * A shared memory's buffers are never detached when it grows, so views made before a grow stay
 * valid; which buffers are ours is remembered to recognise resident arrays.
 */
const PAGE = 65536;
const ALIGN = 64;
const SLACK = 256;

interface FreeBlock {
  start: number;
  size: number;
}

export class Heap {
  private readonly free: FreeBlock[] = [];
  private readonly used = new Map<number, number>();
  private top: number;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  /** Bytes handed out now, and the most ever at once (benchmarks). */
  inUse = 0;
  peak = 0;
  /** Bytes the memory may grow to. */
  readonly limit: number;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
    private readonly maxPages: number,
  ) {
    this.limit = maxPages * PAGE;
    this.top = Math.ceil(base / ALIGN) * ALIGN;
    this.buffers.add(memory.buffer);
  }

  /**
   * Byte offset of a fresh block of at least `bytes` (contents undefined). With `limit`, a block
   * that would end above that byte is refused (-1) instead of failing when the memory is full.
   */
  alloc(bytes: number, limit?: number): number {
    const size = Math.ceil((Math.max(bytes, 4) + SLACK) / ALIGN) * ALIGN;
    let at = -1,
      best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size >= size && (best < 0 || b.size < this.free[best]!.size)) best = i;
    }
    if (best >= 0) {
      const b = this.free[best]!;
      at = b.start;
      if (b.size === size) this.free.splice(best, 1);
      else {
        b.start += size;
        b.size -= size;
      }
    }
    if (at < 0) {
      // Extend the top, reusing a free block that ends there.
      const last = this.free[this.free.length - 1];
      const start = last && last.start + last.size === this.top ? last.start : this.top;
      if (limit !== undefined && start + size > limit) return -1;
      if (start !== this.top) {
        this.free.pop();
        this.top = start;
      }
      at = this.top;
      this.ensure(at + size);
      this.top = at + size;
    }
    this.used.set(at, size);
    this.inUse += size;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return at;
  }

  /** Returns a block from alloc(); unknown offsets (double frees) throw. */
  release(offset: number): void {
    const size = this.used.get(offset);
    if (size === undefined) throw new Error(`wasm heap: free of ${offset}, which is not an allocated block`);
    this.used.delete(offset);
    this.inUse -= size;
    // Insert in address order, merging with the neighbours.
    let lo = 0,
      hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.start < offset) lo = mid + 1;
      else hi = mid;
    }
    const prev = this.free[lo - 1],
      next = this.free[lo];
    if (prev && prev.start + prev.size === offset) {
      prev.size += size;
      if (next && prev.start + prev.size === next.start) {
        prev.size += next.size;
        this.free.splice(lo, 1);
      }
    } else if (next && offset + size === next.start) {
      next.start = offset;
      next.size += size;
    } else {
      this.free.splice(lo, 0, { start: offset, size });
    }
  }

  /** Bytes of the block at `offset` (as allocated, slack included), or undefined. */
  sizeOf(offset: number): number | undefined {
    return this.used.get(offset);
  }

  /** Whether a typed array is a view of this memory. */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** A float view of `length` values at `offset`, over the memory's current buffer. */
  floats(offset: number, length: number): Float32Array {
    const buf = this.memory.buffer;
    this.buffers.add(buf);
    return new Float32Array(buf, offset, length);
  }

  /** Bytes the memory spans now. */
  get capacity(): number {
    return this.memory.buffer.byteLength;
  }

  private ensure(end: number): void {
    const need = Math.ceil(end / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > this.maxPages) {
      throw new Error(`out of WebAssembly memory: need ${(end / 2 ** 30).toFixed(2)} GiB, the limit is ${((this.maxPages * PAGE) / 2 ** 30).toFixed(2)} GiB`);
    }
    if (need > have) {
      this.memory.grow(need - have);
      this.buffers.add(this.memory.buffer);
    }
  }
}
