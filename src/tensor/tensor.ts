/**
 * Tensor: float32, C order (NCHW for images), shape-checked; and the Tape that records ops for
 * reverse-mode gradients. Deliberately small: an op computes its output eagerly and, if a tape
 * is recording and an input needs a gradient, pushes a closure that maps the output's gradient
 * to its inputs' gradients.
 */

import { allocFloats, copyFloats, isResident, release, inResidentScope, withResidentScope, keep } from './storage.js';
import { backend } from './kernels/index.js';

export class Tensor {
  readonly shape: readonly number[];
  data: Float32Array;
  /** Gradient of the tape's output with respect to this tensor (same shape), once computed. */
  grad: Float32Array | null = null;
  requiresGrad: boolean;
  /** Optional name, for error messages and parameter lists. */
  name?: string;
  /** Whether data was allocated for this tensor (not handed in, so possibly shared). */
  readonly ownsData: boolean;

  constructor(shape: readonly number[], data?: Float32Array, requiresGrad = false) {
    const size = shapeSize(shape);
    if (data && data.length !== size) {
      throw new Error(`Tensor: data of length ${data.length} does not fit shape [${shape.join(', ')}] (${size})`);
    }
    this.shape = [...shape];
    this.data = data ?? allocFloats(size);
    this.ownsData = data === undefined;
    this.requiresGrad = requiresGrad;
  }

  get size(): number {
    return this.data.length;
  }

  /** Dimension i, negative counts from the end. */
  dim(i: number): number {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new Error(`Tensor: no dimension ${i} in shape [${this.shape.join(', ')}]`);
    return d;
  }

  /** The gradient buffer, allocated (zeroed) on first use, where the data lives (resident or heap). */
  gradBuffer(): Float32Array {
    if (!this.grad) this.grad = isResident(this.data) ? allocFloats(this.data.length) : new Float32Array(this.data.length);
    return this.grad;
  }

  clone(): Tensor {
    return new Tensor(this.shape, this.data.slice(), this.requiresGrad);
  }

  static zeros(shape: readonly number[]): Tensor {
    return new Tensor(shape);
  }

  /** A tensor whose contents are undefined: for op outputs a kernel overwrites entirely. */
  static uninitialized(shape: readonly number[]): Tensor {
    const t = new Tensor(shape, allocFloats(shapeSize(shape), false));
    (t as { ownsData: boolean }).ownsData = true;
    return t;
  }

  static from(shape: readonly number[], values: ArrayLike<number>): Tensor {
    return new Tensor(shape, Float32Array.from(values));
  }

  static param(shape: readonly number[], data: Float32Array, name?: string): Tensor {
    const t = new Tensor(shape, data, true);
    t.name = name;
    return t;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`Tensor: bad dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertShape(t: Tensor, expected: readonly number[], what: string): void {
  if (!sameShape(t.shape, expected)) {
    throw new Error(`${what}: expected shape [${expected.join(', ')}], got [${t.shape.join(', ')}]`);
  }
}

interface TapeEntry {
  output: Tensor;
  backward: (gradOut: Float32Array) => void;
}

/**
 * Records ops while active. `backward(out)` runs the recorded closures in reverse order,
 * accumulating into `.grad` of every tensor that requires a gradient. Intermediate gradients
 * are dropped as soon as they have been propagated, to keep memory down.
 */
export class Tape {
  private entries: TapeEntry[] = [];

  record(output: Tensor, backward: (gradOut: Float32Array) => void): void {
    this.entries.push({ output, backward });
  }

  get length(): number {
    return this.entries.length;
  }

  /**
   * Seeds `output.grad` with `seed` (default: ones, for a scalar loss) and back-propagates.
   * With `releaseOutputs`, each op's output is freed as soon as its own entry has run (every
   * later op that read it has run already): for a caller that keeps none of the recorded
   * tensors, such as a training step. Only resident arrays are freed (see storage.ts).
   */
  backward(output: Tensor, seed?: Float32Array, releaseOutputs = false): void {
    if (seed) {
      if (seed.length !== output.size) throw new Error('Tape.backward: seed size differs from output');
      output.gradBuffer().set(seed);
    } else {
      output.gradBuffer().fill(1);
    }
    const entries = this.entries;
    this.entries = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const { output: out, backward } = entries[i]!;
      // Drop the entry first: its closure may hold the only references to large inputs.
      entries.length = i;
      const g = out.grad;
      if (g) {
        backward(g);
        // A recorded op's output is an intermediate unless it is a leaf that wants its grad kept.
        if (!out.requiresGrad || !isLeaf(out)) {
          out.grad = null;
          release(g);
        }
      }
      if (releaseOutputs && out.ownsData && out !== output) release(out.data);
    }
  }
}

const leaves = new WeakSet<Tensor>();

/** Marks a tensor as a leaf whose gradient is kept after backward (parameters, chosen inputs). */
export function markLeaf(t: Tensor): Tensor {
  t.requiresGrad = true;
  leaves.add(t);
  return t;
}

function isLeaf(t: Tensor): boolean {
  return leaves.has(t);
}

let activeTape: Tape | null = null;

/** Runs fn with `tape` recording (null: no recording). Restores the previous tape afterwards. */
export function withTape<T>(tape: Tape | null, fn: () => T): T {
  const prev = activeTape;
  activeTape = tape;
  try {
    return fn();
  } finally {
    activeTape = prev;
  }
}

/** Whether a tape is recording ops now. */
export function isRecording(): boolean {
  return activeTape !== null;
}

export function noGrad<T>(fn: () => T): T {
  return withTape(null, fn);
}

/**
 * Called by ops: if a tape records and any input needs a gradient, the output needs one too and
 * the closure is recorded. Returns whether it was recorded.
 */
export function recordOp(output: Tensor, inputs: readonly Tensor[], backward: (gradOut: Float32Array) => void): boolean {
  if (!activeTape || !inputs.some((t) => t.requiresGrad)) return false;
  output.requiresGrad = true;
  activeTape.record(output, backward);
  return true;
}

/**
 * Adds src into t's gradient (only if t requires one). The first contribution is adopted
 * without copying when `fresh` (the caller allocated src for this purpose and will not touch it
 * again); pass fresh = false for a buffer that is shared, such as the output's own gradient.
 */
export function accumulateGrad(t: Tensor, src: Float32Array, fresh = true): void {
  if (!t.requiresGrad) return;
  if (!t.grad) {
    // A gradient lives where its tensor does: a parameter's stays on the heap past the step.
    if (fresh && (isResident(t.data) || !isResident(src))) t.grad = src;
    else {
      t.grad = copyFloats(src, t.data);
      if (fresh) release(src);
    }
    return;
  }
  const g = t.grad;
  if (g.length >= 65536) backend().addInto(g, src, g.length); // the large maps: vector kernel on every thread
  else for (let i = 0; i < g.length; i++) g[i] += src[i]!;
  if (fresh) release(src);
}

/**
 * Runs fn in a nested resident scope that keeps only the tensors it returns, so that work done
 * without a tape (inference, memory saving) frees its intermediates as soon as it is done.
 */
export function keepingOnly(fn: () => Tensor[]): Tensor[] {
  if (!inResidentScope()) return fn();
  return withResidentScope(() => {
    const out = fn();
    keep(...out.map((t) => t.data));
    return out;
  });
}
