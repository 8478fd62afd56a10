/**
 * One forward and backward pass of the training loss. Plain mode records the whole graph;
 * memory-saving mode stores only the output pyramid and, going backwards block by block,
 * rebuilds each block's input from its output through the inverse, then re-runs that block
 * alone under a tape. Both give the same gradients up to float32 rounding.
 *
 * Run inside a resident scope (trainStep does), the tape frees each activation once its own
 * backward has run, and memory saving frees each block's work before the next block's.
 */
import { Tensor, Tape, withTape, noGrad, markLeaf, allocFloats, keep, keepingOnly, release, withResidentScope, backend, cacheFilters } from '../tensor/index.js';
import type { PyramidFlow } from '../flow/model.js';
import { pyramidLoss } from '../flow/loss.js';

export interface GradientResult {
  loss: number;
}

/**
 * Accumulates the loss's gradients into the parameters' .grad (call zeroGrad first). The
 * activations and their gradients live in the kernels' memory for the call (src/tensor/storage.ts);
 * the parameters' gradients are on the heap and outlive it.
 */
export function lossGradients(model: PyramidFlow, images: Tensor, saveMemory: boolean): GradientResult {
  return withResidentScope(() => saveMemory ? savingGradients(model, images) : plainGradients(model, images));
}

function plainGradients(model: PyramidFlow, images: Tensor): GradientResult {
  const tape = new Tape();
  const loss = withTape(tape, () => pyramidLoss(model.forward(images)));
  tape.backward(loss, undefined, true);
  return { loss: loss.data[0]! };
}

function savingGradients(model: PyramidFlow, images: Tensor): GradientResult {
  // The forward runs twice with the same weights (once whole, once block by block below):
  // the second time the convolutions reuse the filter spectra of the first.
  cacheFilters(SAVING_FILTER_CACHE_BYTES);
  try {
    return savingGradientsCached(model, images);
  } finally {
    cacheFilters(0);
  }
}

/** Forward filter spectra kept through a memory-saving step: the default model's need about 75 MB. */
const SAVING_FILTER_CACHE_BYTES = 128 << 20;

function savingGradientsCached(model: PyramidFlow, images: Tensor): GradientResult {
  const latents = noGrad(() => model.forward(images));
  const outs = latents.map((z) => markLeaf(new Tensor(z.shape, z.data)));
  const tape = new Tape();
  const loss = withTape(tape, () => pyramidLoss(outs));
  tape.backward(loss, undefined, true);
  let levels = outs.map((z) => new Tensor(z.shape, z.data));
  let grads = outs.map((z) => z.grad ?? allocFloats(z.size));
  for (let i = model.blocks.length - 1; i >= 0; i--) {
    const block = model.blocks[i]!;
    const t = block.target;
    const next = withResidentScope(() => {
      // The affine convolutions read only the levels the block leaves alone: run them once, under
      // the tape, then rebuild the target level's input through the inverse and re-run the coupling.
      const mode = model.mode(false);
      const inputs = levels.map((z) => markLeaf(new Tensor(z.shape, z.data)));
      const blockTape = new Tape();
      const raw = withTape(blockTape, () => block.raw(inputs));
      const before = noGrad(() => keepingOnly(() => [block.inverseFromRaw(raw, levels[t]!, mode)])[0]!);
      inputs[t] = markLeaf(new Tensor(before.shape, before.data));
      const out = withTape(blockTape, () => block.forwardFromRaw(raw, inputs[t]!, mode));
      blockTape.backward(out, grads[t], true);
      // Levels other than the target pass through: their gradient is what came from above plus
      // what flowed through the affine parameters.
      const nextGrads = grads.map((g, k) => {
        if (k === t) return inputs[k]!.grad ?? allocFloats(g.length);
        const via = inputs[k]!.grad;
        if (!via) return g;
        backend().addInto(via, g, g.length); // via is this scope's own array: the sum goes there
        return via;
      });
      keep(before.data, ...nextGrads);
      return { levels: inputs.map((z) => new Tensor(z.shape, z.data)), grads: nextGrads };
    });
    // The block's output level and the replaced gradients are not needed any more.
    release(levels[t]!.data);
    grads.forEach((g, k) => { if (next.grads[k] !== g) release(g); });
    levels = next.levels;
    grads = next.grads;
  }
  return { loss: loss.data[0]! };
}
