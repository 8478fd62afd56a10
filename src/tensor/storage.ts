/**
 * Where tensors' numbers live. Outside a resident scope: on the JS heap, as plain Float32Arrays
 * that the garbage collector frees. Inside `withResidentScope(fn)` (a training step, one
 * inference batch), the numbers ops allocate (outputs, gradient buffers) live in the kernel
 * backend's own memory, the shared WebAssembly memory of the wasm backend: kernels then read and
 * write them in place instead of copying every tensor in and out (which cost a quarter of a
 * training step). JavaScript cannot tell when such a block is unreachable, so lifetimes are
 * explicit, as tf.tidy in TensorFlow.js: everything allocated in a scope is freed when it ends,
 * except what `keep` hands to the enclosing scope; `toHeap` copies a result out. The tape frees
 * gradient buffers early, as soon as they have been propagated.
 *
 * The rule that keeps this safe: a resident array must not be used after its scope ended.
 * Model state (parameters, running means, templates, optimiser moments) is always on the heap.
 */

/** A backend's allocator of arrays in its own memory (contents undefined). */
export interface FloatAllocator {
  /** null when its memory is full: the array then goes on the heap (kernels copy it, slower but it works). */
  alloc(length: number): Float32Array | null;
  free(a: Float32Array): void;
  /** Whether `a` is a view of the allocator's memory. */
  owns(a: Float32Array): boolean;
}

let allocator: FloatAllocator | null = null;
const scopes: Set<Float32Array>[] = [];
// The test runner sets PYRAMIDFLOW_POISON_FREED=1 (read without assuming Node: browsers have no process).
let poison = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.PYRAMIDFLOW_POISON_FREED === '1';

/** Tests: fill every freed array with NaN, so that a use after free shows in the results. */
export function poisonFreedArrays(on: boolean): void {
  poison = on;
}

function free(a: Float32Array): void {
  if (poison) a.fill(NaN);
  allocator!.free(a);
}

/** Installs (or removes) the allocator of resident arrays; not while a scope is open. */
export function setFloatAllocator(a: FloatAllocator | null): void {
  if (scopes.length > 0) throw new Error('storage: the kernel backend cannot change inside a resident scope');
  allocator = a;
}

/**
 * `length` floats for an op: resident in the innermost open scope when there is one and the
 * backend has memory of its own, else a plain array. Zero-filled unless `zeroed` is false (for
 * outputs a kernel overwrites entirely).
 */
export function allocFloats(length: number, zeroed = true): Float32Array {
  const scope = scopes[scopes.length - 1];
  if (!scope || !allocator || length === 0) return new Float32Array(length);
  const a = allocator.alloc(length);
  if (!a) return new Float32Array(length);
  if (zeroed) a.fill(0);
  scope.add(a);
  return a;
}

/** A new array with the same values as `src`, where `like` lives (resident or heap). */
export function copyFloats(src: Float32Array, like: Float32Array = src): Float32Array {
  const out = isResident(like) ? allocFloats(src.length, false) : new Float32Array(src.length);
  out.set(src);
  return out;
}

/** Whether a resident scope is open (and the backend has memory of its own). */
export function inResidentScope(): boolean {
  return allocator !== null && scopes.length > 0;
}

/** Whether `a` was allocated by allocFloats in a scope that is still open. */
export function isResident(a: Float32Array): boolean {
  return allocator !== null && scopes.length > 0 && allocator.owns(a);
}

/** Frees a resident array now (it must not be used again); plain arrays are left to the GC. */
export function release(a: Float32Array): void {
  for (let i = scopes.length - 1; i >= 0; i--) {
    if (scopes[i]!.delete(a)) {
      free(a);
      return;
    }
  }
}

/**
 * `length` floats (contents undefined) that outlive the scope they are made in: resident in the
 * outermost open scope (freed when it ends, or by release), else a plain array. For work kept
 * through a whole step (memory saving's KeptWork, src/flow/invertible.ts).
 */
export function allocFloatsOutermost(length: number): Float32Array {
  const scope = scopes[0];
  const a = scope && allocator && length > 0 ? allocator.alloc(length) : null;
  if (!a) return new Float32Array(length);
  scope!.add(a);
  return a;
}

/** Moves a resident array into the innermost scope, to be freed when it ends (with the work that used it last). */
export function adoptFloats(a: Float32Array): void {
  for (let i = scopes.length - 1; i >= 0; i--) {
    if (scopes[i]!.delete(a)) {
      scopes[scopes.length - 1]!.add(a);
      return;
    }
  }
}

/** Hands resident arrays allocated in the innermost scope to the enclosing one (they outlive this scope). */
export function keep(...arrays: Float32Array[]): void {
  const inner = scopes[scopes.length - 1];
  if (!inner) return;
  const outer = scopes[scopes.length - 2];
  for (const a of arrays) {
    if (!inner.has(a)) continue;
    if (!outer) throw new Error('storage: keep() in the outermost resident scope; copy the result out with toHeap()');
    inner.delete(a);
    outer.add(a);
  }
}

/** A heap copy of `a` if it is resident (to return from the outermost scope), else `a` itself. */
export function toHeap(a: Float32Array): Float32Array {
  return isResident(a) ? new Float32Array(a) : a;
}

/** Runs fn with a resident scope open; frees what it allocated (and did not keep) when it returns or throws. */
export function withResidentScope<T>(fn: () => T): T {
  if (!allocator) return fn();
  const scope = new Set<Float32Array>();
  scopes.push(scope);
  try {
    const out = fn();
    if (out instanceof Promise) throw new Error('storage: a resident scope must be synchronous (it would end before the awaits)');
    return out;
  } finally {
    scopes.pop();
    for (const a of scope) free(a);
  }
}
