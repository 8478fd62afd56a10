/**
 * The composition of invertible pieces, itself an Invertible (nflows' CompositeTransform,
 * FrEIA's SequenceINN): forward runs the pieces in order, inverse in reverse. Memory saving is
 * a property of the composition, not of a piece: backwardSavingMemory walks the pieces
 * backwards, rebuilding each one's input from its output (Invertible.rerun, by default through
 * its inverse), so that only one piece's activations exist at a time.
 */
import {
  type Tensor,
  Tape,
  markLeaf,
  isRecording,
  keepingOnly,
  keepTensors,
  releaseTensor,
  addGradInto,
  allocFloats,
  keep,
  release,
  withResidentScope,
} from '../tensor/index.js';
import { type FlowMode, type Invertible, type Pyramid, rerunByInverse } from './invertible.js';

export class InvertibleSequence<T extends Invertible = Invertible> implements Invertible {
  constructor(readonly steps: readonly T[]) {}

  get length(): number {
    return this.steps.length;
  }

  /** Pieces [from, to) as a sequence of their own (the same objects). */
  slice(from = 0, to = this.steps.length): InvertibleSequence<T> {
    return new InvertibleSequence(this.steps.slice(from, to));
  }

  forward(z: Pyramid, mode: FlowMode): Tensor[] {
    return chain(this.steps, z, (step, x) => step.forward(x, mode));
  }

  inverse(z: Pyramid, mode: FlowMode): Tensor[] {
    return chain([...this.steps].reverse(), z, (step, x) => step.inverse(x, mode));
  }

  /** The levels its pieces replace, when every piece says (Invertible.changes); else unknown. */
  get changes(): readonly number[] | undefined {
    if (!this.steps.every((step) => step.changes)) return undefined;
    return [...new Set(this.steps.flatMap((step) => step.changes!))].sort((a, b) => a - b);
  }

  /** The pieces' parameters, named `{index}.{name within the piece}`, in order. */
  namedParameters(): [string, Tensor][] {
    return this.steps.flatMap((step, i) => step.namedParameters().map(([name, t]): [string, Tensor] => [`${i}.${name}`, t]));
  }

  /**
   * Memory saving's backward through the sequence. From its output `outputs` (computed without
   * a tape) and the loss's gradient for each output level, walks the pieces backwards: each
   * rebuilds its input from its output and recomputes its output under a tape of its own
   * (rerun), whose backward accumulates into the piece's parameters (their .grad) and gives the
   * gradient of its input. A level a piece passes through takes the gradient from above plus
   * what flowed into it through the piece's other outputs. Returns the gradients for the
   * sequence's input. Running statistics are not updated (mode.updateStats is ignored).
   *
   * Run inside a resident scope (lossGradients does): each piece's work lives in a scope of its
   * own, and the output levels and gradients a piece replaced are freed as soon as it is done.
   * `outputs` and `grads` belong to the call (they are released as they are replaced).
   *
   * `inputFrozen`: the sequence's input needs no gradient (the model's input stage is frozen).
   * Then a level no earlier piece replaced (Invertible.changes) is no gradient leaf, so that the
   * convolutions reading it compute only their weights' gradient, as in plain backpropagation;
   * the gradients returned for such levels are meaningless.
   */
  backwardSavingMemory(outputs: Pyramid, grads: readonly Float32Array[], mode: FlowMode, inputFrozen = false): Float32Array[] {
    if (grads.length !== outputs.length) throw new Error(`backwardSavingMemory: ${grads.length} gradients for ${outputs.length} levels`);
    const m = { ...mode, updateStats: false };
    const replacedBefore = this.levelsReplacedBefore(outputs.length);
    let levels = outputs.map((z) => z.detach());
    let gs = [...grads];
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const step = this.steps[i]!;
      const done = withResidentScope(() => {
        const tape = new Tape();
        const y = levels.map((z, k) => (!inputFrozen || replacedBefore[i]![k] ? markLeaf(z.detach()) : z.detach()));
        const { inputs, outputs: out } = step.rerun ? step.rerun(y, m, tape) : rerunByInverse(step, y, m, tape);
        const changed = out.map((_, k) => k).filter((k) => out[k] !== inputs[k]);
        tape.backwardMany(
          changed.map((k) => out[k]!),
          changed.map((k) => gs[k]!),
          true,
        );
        const nextGrads = gs.map((g, k) => {
          const x = inputs[k]!;
          if (out[k] !== x) return x.grad ?? allocFloats(g.length);
          const via = x.grad; // what reached a passed-through level through the piece's other outputs
          if (!via) return g;
          addGradInto(via, g); // via is this scope's own array: the sum goes there
          return via;
        });
        // The rebuilt input levels and the new gradients outlive this piece's scope.
        keepTensors(...inputs);
        keep(...nextGrads);
        return { levels: inputs.map((x) => x.detach()), grads: nextGrads, rebuilt: inputs.map((x, k) => x !== y[k]) };
      });
      // The piece's output levels it rebuilt, and the gradients replaced, are not needed any more.
      done.rebuilt.forEach((r, k) => {
        if (r) releaseTensor(levels[k]!);
      });
      gs.forEach((g, k) => {
        if (done.grads[k] !== g) release(g);
      });
      levels = done.levels;
      gs = done.grads;
    }
    return gs;
  }

  /** For each piece, whether each of `count` levels was replaced by an earlier piece (one without `changes` replaces all). */
  private levelsReplacedBefore(count: number): boolean[][] {
    const replaced = new Array<boolean>(count).fill(false);
    return this.steps.map((step) => {
      const before = [...replaced];
      if (step.changes) for (const k of step.changes) replaced[k] = true;
      else replaced.fill(true);
      return before;
    });
  }
}

/**
 * Runs `steps` one after the other. Without a tape, each step's work is freed when it ends but
 * for its output levels (keepingOnly), and a level this run made that a later step replaced is
 * garbage, freed at once.
 */
function chain<T>(steps: readonly T[], z: Pyramid, run: (step: T, x: Tensor[]) => Tensor[]): Tensor[] {
  let x = [...z];
  if (isRecording()) {
    for (const step of steps) x = run(step, x);
    return x;
  }
  const produced = new Set<Tensor>();
  for (const step of steps) {
    const prev = x;
    const next = keepingOnly(() => run(step, prev));
    for (const old of prev) if (!next.includes(old) && produced.delete(old)) releaseTensor(old);
    for (const t of next) if (!prev.includes(t)) produced.add(t);
    x = next;
  }
  return x;
}
