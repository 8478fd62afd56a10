/** The shared-memory allocator: blocks never overlap, frees coalesce, growth keeps old views valid. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heap } from '../../../src/tensor/kernels/wasm/heap.js';
import { rng } from './helpers.js';

const newHeap = (maxPages = 64): { heap: Heap; memory: WebAssembly.Memory } => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: maxPages, shared: true });
  return { heap: new Heap(memory, 65536, maxPages), memory };
};

test('random allocations and frees never overlap, stay aligned, and all of it comes back', () => {
  const { heap } = newHeap(2048);
  const next = rng(7);
  const live = new Map<number, number>(); // offset -> requested bytes
  for (let step = 0; step < 3000; step++) {
    if (live.size > 0 && next() < 0.45) {
      const keys = [...live.keys()];
      const k = keys[Math.floor(next() * keys.length)]!;
      heap.release(k);
      live.delete(k);
    } else {
      const bytes = 4 + Math.floor(next() * next() * 200000);
      const p = heap.alloc(bytes);
      assert.equal(p % 64, 0, 'aligned to 64 bytes');
      assert.ok(p >= 65536, 'above the base');
      assert.ok(heap.sizeOf(p)! >= bytes + 256, 'slack for vector over-reads');
      live.set(p, bytes);
    }
    // brute-force overlap check of the live blocks (with their slack)
    const blocks = [...live.keys()].map((p) => [p, p + heap.sizeOf(p)!] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < blocks.length; i++) assert.ok(blocks[i]![0] >= blocks[i - 1]![1], `blocks overlap at step ${step}`);
    assert.ok(
      blocks.every(([, end]) => end <= heap.capacity),
      'inside the memory',
    );
  }
  for (const k of live.keys()) heap.release(k);
  assert.equal(heap.inUse, 0);
  // Everything coalesced: one block as large as the largest ever used fits at the base again.
  assert.equal(heap.alloc(1000), 65536);
});

test('a freed block is reused; double frees and foreign offsets are refused', () => {
  const { heap } = newHeap();
  const a = heap.alloc(1000),
    b = heap.alloc(1000);
  heap.release(a);
  assert.equal(heap.alloc(900), a, 'the hole is reused');
  heap.release(b);
  assert.throws(() => heap.release(b), /not an allocated block/);
  assert.throws(() => heap.release(a + 64), /not an allocated block/);
});

test('growing the memory keeps earlier views valid and recognised; the limit is a clear error', () => {
  const { heap, memory } = newHeap(8);
  const p = heap.alloc(1000);
  const v = heap.floats(p, 250);
  v.fill(3.5);
  const before = memory.buffer.byteLength;
  const q = heap.alloc(4 * 65536); // forces growth
  assert.ok(memory.buffer.byteLength > before);
  assert.equal(v[249], 3.5, 'old view still reads the memory');
  const w = heap.floats(q, 10);
  assert.ok(heap.owns(v) && heap.owns(w), 'views over the old and the new buffer are both ours');
  assert.equal(heap.owns(new Float32Array(10)), false);
  assert.throws(() => heap.alloc(16 * 65536), /out of WebAssembly memory/);
});

test('with a limit, a block that would end above it is refused instead of growing the memory', () => {
  const { heap } = newHeap(64);
  const limit = 65536 + 8 * 65536;
  const a = heap.alloc(4 * 65536, limit);
  assert.ok(a >= 0);
  assert.equal(heap.alloc(6 * 65536, limit), -1, 'would cross the limit');
  assert.ok(heap.alloc(2 * 65536, limit) >= 0, 'still fits below it');
  heap.release(a);
  assert.equal(heap.alloc(3 * 65536, limit), a, 'a free block below the limit is reused');
});
