/**
 * One interface for every invertible piece of the flow, as FrEIA's InvertibleModule and nflows'
 * Transform: a map from a pyramid (a list of level tensors [N, C, h_k, w_k], finest first) to a
 * pyramid, with its inverse. The coupling blocks (src/flow/coupling.ts, one class per kind), the
 * 1x1 convolution on one level (OnLevel over InvConv1x1), the input stage (src/flow/input.ts)
 * and their composition (InvertibleSequence, src/flow/sequence.ts, itself an Invertible) all
 * have this shape, so the model chains them without knowing what they are.
 *
 * Memory saving needs nothing more from a piece than forward and inverse: the composition
 * rebuilds each piece's input from its output through the inverse and re-runs the forward under
 * a tape (rerunByInverse). A piece that can share work between the two directions (the couplings
 * compute their affine convolutions once for both) implements `rerun` itself.
 */
import { type Tensor, type Tape, markLeaf, noGrad, withTape, keepingOnly, allocFloatsOutermost, adoptFloats } from '../tensor/index.js';

/** Level tensors [N, C, h_k, w_k], finest first: what every piece maps. */
export type Pyramid = readonly Tensor[];

/** How a forward runs: the coupling's volume normalisation and its running statistics. */
export interface FlowMode {
  /** Training normalises with the batch mean; evaluation with the running mean. */
  training: boolean;
  /** Whether a training forward updates running statistics (off when memory saving re-runs a piece). */
  updateStats: boolean;
  /**
   * Memory saving: where a piece may keep, through the step, what its forward computed from the
   * levels it leaves alone, for its rerun to take instead of computing it again.
   */
  kept?: KeptWork;
}

/**
 * Memory saving's store of work kept from the untaped forward for the rerun (the coupling
 * blocks' affine convolutions of the coarser levels): copies in the step's outermost resident
 * scope, within a byte budget, each taken once (and then freed with the taker's scope). The
 * rerun would compute the same values again from rebuilt levels, which equal the forward's up
 * to the rounding of the inverses: the kept ones are the forward's own.
 */
export class KeptWork {
  private readonly store = new Map<object, Float32Array>();
  private used = 0;

  constructor(
    /** Bytes it may hold. */
    readonly budget: number,
    /** The largest array it takes (bytes): full-resolution maps stay out. */
    readonly largest: number,
  ) {}

  /** Keeps a copy of `values` for `owner` when it fits; returns whether it did. */
  offer(owner: object, values: Float32Array): boolean {
    const bytes = values.length * 4;
    if (bytes > this.largest || this.used + bytes > this.budget || this.store.has(owner)) return false;
    const copy = allocFloatsOutermost(values.length);
    copy.set(values);
    this.store.set(owner, copy);
    this.used += bytes;
    return true;
  }

  /** What `owner` kept, removed from the store (undefined when nothing was). */
  take(owner: object): Float32Array | undefined {
    const v = this.store.get(owner);
    if (v) {
      this.store.delete(owner);
      this.used -= v.length * 4;
      adoptFloats(v);
    }
    return v;
  }
}

/** A piece's input rebuilt from its output, and the output recomputed from it under a tape (memory saving). */
export interface Rerun {
  /**
   * The input: gradient leaves. A level the piece leaves alone is the given output's own tensor
   * (the same object), a rebuilt level a new leaf.
   */
  inputs: Tensor[];
  /** The output recomputed from `inputs` under the tape; a level left alone is the same object as in `inputs`. */
  outputs: Tensor[];
}

export interface Invertible {
  /**
   * The pyramid after this piece. Levels it leaves alone are the input's own tensors (not
   * copies), which is how a composition tells what changed. Differentiable under a tape;
   * updates running statistics when mode.training && mode.updateStats.
   */
  forward(z: Pyramid, mode: FlowMode): Tensor[];
  /** The pyramid before this piece, from the one after it; never updates running statistics. */
  inverse(z: Pyramid, mode: FlowMode): Tensor[];
  /** Trainable parameters, named relative to this piece (the official code's names), in its order. */
  namedParameters(): [string, Tensor][];
  /**
   * Optional, for memory saving: given this piece's output `y` (gradient leaves, but for levels
   * whose gradient nobody needs), rebuild the input without a tape and recompute the output from
   * it under `tape` (as rerunByInverse does, which is the default); a rebuilt level is a gradient
   * leaf when its output level was. Implemented by a piece that can share work between the two.
   */
  rerun?(y: readonly Tensor[], mode: FlowMode, tape: Tape): Rerun;
  /**
   * Optional: the levels this piece replaces (it passes the others through), known before it
   * runs. Memory saving gives no gradient to a level that no earlier piece replaced when the
   * composition's input needs none; a piece without it counts as replacing every level.
   */
  readonly changes?: readonly number[];
}

/** Replaces one level, keeping the others (the same tensor objects). */
export function withLevel(levels: Pyramid, index: number, value: Tensor): Tensor[] {
  if (index < 0 || index >= levels.length) throw new Error(`withLevel: no level ${index} in a pyramid of ${levels.length}`);
  const out = [...levels];
  out[index] = value;
  return out;
}

/** Level k of a pyramid, with a clear error when it has none. */
export function levelOf(levels: Pyramid, k: number): Tensor {
  const t = levels[k];
  if (!t) throw new Error(`pyramid: no level ${k} in a pyramid of ${levels.length}`);
  return t;
}

/**
 * The default rerun of memory saving: the input through the inverse (no tape; its work freed
 * but for the rebuilt levels), then the forward from it under `tape`. Running statistics are
 * never updated (the forward already did, once).
 */
export function rerunByInverse(piece: Invertible, y: readonly Tensor[], mode: FlowMode, tape: Tape): Rerun {
  const m = { ...mode, updateStats: false };
  const before = noGrad(() => keepingOnly(() => piece.inverse(y, m)));
  const inputs = before.map((x, k) => (x === y[k] || !y[k]!.requiresGrad ? x : markLeaf(x)));
  const outputs = withTape(tape, () => piece.forward(inputs, m));
  return { inputs, outputs };
}

/** An invertible map of one level tensor (the 1x1 convolution); OnLevel makes it a piece of a chain. */
export interface LevelMap {
  forward(x: Tensor): Tensor;
  inverse(y: Tensor): Tensor;
  namedParameters(): [string, Tensor][];
}

/** A level map acting on one level of the pyramid, the others passing through: an Invertible. */
export class OnLevel implements Invertible {
  constructor(
    readonly level: number,
    readonly map: LevelMap,
  ) {}

  forward(z: Pyramid, _mode?: FlowMode): Tensor[] {
    return withLevel(z, this.level, this.map.forward(levelOf(z, this.level)));
  }

  inverse(z: Pyramid, _mode?: FlowMode): Tensor[] {
    return withLevel(z, this.level, this.map.inverse(levelOf(z, this.level)));
  }

  namedParameters(): [string, Tensor][] {
    return this.map.namedParameters();
  }

  get changes(): readonly number[] {
    return [this.level];
  }
}
