/** Gradient checking against central finite differences, shared by the op and flow tests. */
import { Tensor, Tape, withTape, markLeaf } from '../../src/tensor/index.js';
import { Random } from '../../src/util/random.js';

export function randomTensor(shape: number[], rng: Random, scale = 1): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * scale;
  return t;
}

/**
 * Compares the tape's gradients of L = sum(f(inputs) * r) (r random, fixed) with central
 * differences, for every input (or `probes` random entries of large ones).
 * Returns the worst error relative to the largest gradient magnitude of that input.
 */
export function gradCheck(f: (inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: { eps?: number; probes?: number; seed?: number } = {}): number[] {
  const eps = opts.eps ?? 1e-2;
  const rng = new Random(opts.seed ?? 7);
  for (const t of inputs) {
    markLeaf(t);
    t.grad = null;
  }
  const tape = new Tape();
  const out = withTape(tape, () => f(inputs));
  const r = new Float32Array(out.size);
  for (let i = 0; i < r.length; i++) r[i] = rng.uniform(-1, 1);
  const lossOf = (o: Tensor): number => {
    let s = 0;
    for (let i = 0; i < o.size; i++) s += o.data[i]! * r[i]!;
    return s;
  };
  tape.backward(out, r);
  return inputs.map((t) => {
    const g = t.grad ?? new Float32Array(t.size);
    const n = t.size;
    const idx = opts.probes && opts.probes < n ? Array.from({ length: opts.probes }, () => rng.int(n)) : Array.from({ length: n }, (_, i) => i);
    let maxG = 1e-12;
    for (let i = 0; i < n; i++) maxG = Math.max(maxG, Math.abs(g[i]!));
    let worst = 0;
    for (const i of idx) {
      const v = t.data[i]!;
      t.data[i] = v + eps;
      const lp = lossOf(withTape(null, () => f(inputs)));
      t.data[i] = v - eps;
      const lm = lossOf(withTape(null, () => f(inputs)));
      t.data[i] = v;
      const fd = (lp - lm) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - g[i]!) / maxG);
    }
    return worst;
  });
}
