/**
 * Tensor: float32, C order (NCHW for images), shape-checked; and the Tape that records ops for
 * reverse-mode gradients. Deliberately small: an op computes its output eagerly and, if a tape
 * is recording and an input needs a gradient, pushes a closure that maps the output's gradient
 * to its inputs' gradients.
 *
 * Where a tensor's numbers live is this folder's business (src/tensor/storage.ts, the kernels):
 * ops and kernels use `data`; code outside src/tensor goes through the small host API instead
 * (as tfjs's dataSync), so that a backend with memory of its own (a worker pool, WebGPU) can
 * slot in:
 *   values()          read-only host view (no copy here; a device backend would download)
 *   item()            the one number of a scalar (a loss)
 *   toHost(from, to)  a host copy the caller owns (on the heap, also for resident tensors)
 *   Tensor.fromHost   a tensor over host numbers (adopted, not copied)
 *   updateHost(fn)    in-place host update of model state (the optimiser's step)
 *   detach()          the same numbers outside any graph (as PyTorch's detach)
 * and keepTensors / releaseTensor for lifetimes inside resident scopes.
 */

import { allocFloats, copyFloats, isResident, release, inResidentScope, withResidentScope, keep } from './storage.js';
import { backend } from './kernels/index.js';

/**
 * A read-only view of a tensor's numbers on the host: index and length, no writes (the type has
 * no setter). Valid until the tensor is released or updated; copy with toHost() to keep them.
 */
export type HostValues = ArrayLike<number>;

export class Tensor {
  readonly shape: readonly number[];
  /**
   * The numbers, for ops and kernels (src/tensor) only: resident in the backend's memory or on
   * the heap (storage.ts). Everywhere else: values(), item(), toHost(), updateHost(), fromHost().
   */
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

  /**
   * Read-only host view of the numbers (C order), without a copy on the CPU backends (a device
   * backend would download them, as tfjs's dataSync). For reads of results and small model
   * state (a C x C matrix, a running mean); valid until the tensor is released or updated.
   */
  values(): HostValues {
    return this.data;
  }

  /** The number of a one-element tensor (a loss). */
  item(): number {
    if (this.size !== 1) throw new Error(`Tensor.item: shape [${this.shape.join(', ')}] has ${this.size} values, not 1`);
    return this.data[0]!;
  }

  /**
   * A host copy of the numbers [from, to) (all by default) that the caller owns: a plain array on
   * the JS heap, also for a resident tensor, so it outlives the resident scope.
   */
  toHost(from = 0, to = this.size): Float32Array {
    return this.data.slice(from, to);
  }

  /**
   * The explicit host-update path for model state (parameters between training steps): fn gets
   * the numbers as a Float32Array to read and overwrite in place, and must not keep it. Not
   * recorded on a tape. A backend that keeps numbers off the host copies them down before fn
   * and back up after; parameters are always on the heap here (storage.ts), so it is a plain call.
   */
  updateHost(fn: (values: Float32Array) => void): void {
    fn(this.data);
  }

  /**
   * A tensor over the same numbers, outside any graph: no gradient, not a leaf, not recorded
   * (PyTorch's detach). Releasing either releases both.
   */
  detach(): Tensor {
    return new Tensor(this.shape, this.data);
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

  /** A tensor with a copy of `values`. */
  static from(shape: readonly number[], values: ArrayLike<number>): Tensor {
    return new Tensor(shape, Float32Array.from(values));
  }

  /**
   * A tensor over host numbers, adopted without a copy: the caller hands `values` over and does
   * not change them afterwards (use Tensor.from for a copy).
   */
  static fromHost(shape: readonly number[], values: Float32Array): Tensor {
    return new Tensor(shape, values);
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
    this.propagate([output], releaseOutputs);
  }

  /**
   * backward from several outputs at once, each seeded with its gradient (one seed per output,
   * distinct outputs): for a piece of a flow that changes several levels (memory saving).
   */
  backwardMany(outputs: readonly Tensor[], seeds: readonly Float32Array[], releaseOutputs = false): void {
    if (outputs.length !== seeds.length) throw new Error('Tape.backwardMany: one seed per output');
    if (new Set(outputs).size !== outputs.length) throw new Error('Tape.backwardMany: an output is listed twice');
    outputs.forEach((o, k) => {
      if (seeds[k]!.length !== o.size) throw new Error('Tape.backwardMany: seed size differs from output');
      o.gradBuffer().set(seeds[k]!);
    });
    this.propagate(outputs, releaseOutputs);
  }

  private propagate(outputs: readonly Tensor[], releaseOutputs: boolean): void {
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
      if (releaseOutputs && out.ownsData && !outputs.includes(out)) release(out.data);
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
  if (g.length >= 65536)
    backend().addInto(g, src, g.length); // the large maps: vector kernel on every thread
  else for (let i = 0; i < g.length; i++) g[i] += src[i]!;
  if (fresh) release(src);
}

/** acc += g in place, for gradient arrays of the same length, by the backend's kernel. */
export function addGradInto(acc: Float32Array, g: Float32Array): void {
  if (acc.length !== g.length) throw new Error(`addGradInto: lengths ${acc.length} and ${g.length} differ`);
  backend().addInto(acc, g, acc.length);
}

/**
 * Hands tensors' numbers allocated in the innermost resident scope to the enclosing one (they
 * outlive this scope); others are left alone (storage.ts's keep).
 */
export function keepTensors(...tensors: readonly Tensor[]): void {
  keep(...tensors.map((t) => t.data));
}

/**
 * Frees a tensor's resident numbers now: neither it nor any tensor sharing them (detach) may be
 * used again. Numbers on the heap are left to the garbage collector.
 */
export function releaseTensor(t: Tensor): void {
  release(t.data);
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
