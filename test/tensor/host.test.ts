/**
 * The host API of a tensor (src/tensor/tensor.ts): the only way code outside src/tensor reads
 * and writes numbers, and Tape.backwardMany (several seeded outputs, memory saving's pieces).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor,
  Tape,
  withTape,
  markLeaf,
  mul,
  add,
  withResidentScope,
  keepTensors,
  releaseTensor,
  addGradInto,
  isResident,
  backend,
} from '../../src/tensor/index.js';

test('values is a view, toHost a copy the caller owns, item the one number', () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = Tensor.fromHost([2, 3], a);
  assert.equal(t.values(), a, 'fromHost adopts, values reads in place (no copy on the CPU backends)');
  const c = t.toHost();
  assert.deepEqual(Array.from(c), [1, 2, 3, 4, 5, 6]);
  c[0] = 42;
  assert.equal(t.values()[0], 1, 'a copy');
  assert.deepEqual(Array.from(t.toHost(2, 5)), [3, 4, 5]);
  assert.equal(Tensor.from([1], [7]).item(), 7);
  assert.throws(() => t.item(), /item: shape \[2, 3\] has 6 values, not 1/);
  const copied = Tensor.from([2], a.subarray(0, 2));
  a[0] = -1;
  assert.equal(copied.values()[0], 1, 'Tensor.from copies');
});

test('updateHost writes model state in place; detach shares the numbers outside any graph', () => {
  const p = Tensor.param([3], new Float32Array([1, 2, 3]));
  const before = p.values();
  p.updateHost((w) => {
    for (let i = 0; i < w.length; i++) w[i] = w[i]! * 2;
  });
  assert.deepEqual(Array.from(p.values()), [2, 4, 6]);
  assert.equal(p.values(), before, 'in place: the same numbers');
  const d = p.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.values(), p.values());
  const tape = new Tape();
  const y = withTape(tape, () => mul(d, d));
  assert.equal(y.requiresGrad, false, 'a detached tensor is not recorded');
});

test('Tape.backwardMany seeds several outputs at once (as backward does one)', () => {
  const x = markLeaf(Tensor.from([1, 1, 1, 2], [1, 2]));
  const tape = new Tape();
  const { u, v } = withTape(tape, () => ({ u: mul(x, x), v: add(x, x) }));
  tape.backwardMany([u, v], [new Float32Array([1, 1]), new Float32Array([10, 100])]);
  assert.deepEqual(Array.from(x.grad!), [2 * 1 + 20, 2 * 2 + 200]);
  assert.throws(() => new Tape().backwardMany([u, u], [new Float32Array(2), new Float32Array(2)]), /listed twice/);
  assert.throws(() => new Tape().backwardMany([u], []), /one seed per output/);
});

test('keepTensors, releaseTensor and addGradInto', () => {
  const acc = new Float32Array([1, 2]);
  addGradInto(acc, new Float32Array([0.5, -2]));
  assert.deepEqual(Array.from(acc), [1.5, 0]);
  assert.throws(() => addGradInto(acc, new Float32Array(3)), /lengths 2 and 3 differ/);
  // Heap tensors (no resident memory): both are no-ops, the numbers stay usable.
  const t = Tensor.from([2], [1, 2]);
  keepTensors(t);
  releaseTensor(t);
  assert.deepEqual(Array.from(t.values()), [1, 2]);
  if (!backend().floatAllocator) return; // resident scopes need a backend with memory of its own (storage.test.ts)
  const kept = withResidentScope(() => {
    const inner = withResidentScope(() => {
      const r = add(t, t);
      keepTensors(r);
      return r;
    });
    assert.ok(isResident(inner.data));
    return inner.toHost();
  });
  assert.deepEqual(Array.from(kept), [2, 4]);
});
