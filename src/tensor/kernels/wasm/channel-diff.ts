/**
 * Per-pixel channel means of differences (assembly/channel-diff.ts): the anomaly map's mean
 * |z - template| and the loss's mean squared pair difference with its gradient, float64 as the
 * JS loops of src/tensor/ops/reduce.ts (the same bits), split over the threads by pixels.
 */
import { type KernelCalls, PARALLEL_ELEMS } from './calls.js';
import { K_CHANNEL_DIFF, K_PAIR_DIFF_GRAD } from './kernel-ids.js';

/** Pixels a task (even: the kernels take two a vector); its float64 sums stay in the L1 cache. */
const CHUNK = 2048;

export class ChannelDiffKernels {
  constructor(private readonly k: KernelCalls) {}

  channelDiffMean(
    kind: 'abs' | 'square',
    u: Float32Array,
    v: Float32Array,
    vItems: number,
    pairs: readonly (readonly [number, number])[],
    C: number,
    hw: number,
    out: Float32Array,
  ): void {
    const np = pairs.length;
    if (np === 0 || hw === 0) return;
    const same = v === u;
    const uItems = 1 + Math.max(...pairs.map(([i, j]) => (same ? Math.max(i, j) : i)));
    const k = this.k;
    k.arena.reset();
    const up = k.input(u, uItems * C * hw);
    const vp = same ? up : k.input(v, vItems * C * hw);
    const op = k.outputAt(out, np * hw);
    const pp = this.pairTable(pairs);
    const chunks = Math.ceil(hw / CHUNK);
    const scratch = k.arena.floats(2 * CHUNK * k.threads);
    const vItem = vItems === 1 ? 0 : C * hw;
    k.run(
      [K_CHANNEL_DIFF, kind === 'square' ? 1 : 0, up, vp, op, pp, C, hw, C * hw, vItem, chunks, CHUNK, scratch, CHUNK * 8],
      np * chunks,
      np * C * hw,
      PARALLEL_ELEMS,
    );
    k.output(op, out, np * hw);
  }

  pairSquaredDiffMeanGrad(
    a: Float32Array,
    g: Float32Array,
    N: number,
    pairs: readonly (readonly [number, number])[],
    C: number,
    hw: number,
    ga: Float32Array,
  ): void {
    const n = N * C * hw;
    if (n === 0) return;
    const k = this.k;
    k.arena.reset();
    const ap = k.input(a, n);
    const gp = k.input(g, pairs.length * hw);
    const gap = k.outputAt(ga, n);
    const pp = this.pairTable(pairs);
    const chunks = Math.ceil(hw / CHUNK);
    k.run([K_PAIR_DIFF_GRAD, ap, gp, gap, pp, pairs.length, N, C, hw, chunks, CHUNK], C * chunks, Math.max(n, pairs.length * C * hw), PARALLEL_ELEMS);
    k.output(gap, ga, n);
  }

  /** The pairs as int32 words (i, j) in the call's scratch. */
  private pairTable(pairs: readonly (readonly [number, number])[]): number {
    const p = this.k.arena.floats(2 * pairs.length);
    new Int32Array(this.k.buffer, p, 2 * pairs.length).set(pairs.flat());
    return p;
  }
}
