/**
 * One forward and backward pass of the training loss. Plain mode records the whole graph;
 * memory-saving mode stores only the output pyramid and leaves the rest to the chain of blocks
 * (InvertibleSequence.backwardSavingMemory, src/flow/sequence.ts): going backwards block by
 * block, it rebuilds each block's input from its output through the inverse, then re-runs that
 * block alone under a tape. Both give the same gradients up to float32 rounding.
 *
 * Run inside a resident scope (trainStep does), the tape frees each activation once its own
 * backward has run, and memory saving frees each block's work before the next block's.
 */
import { type Tensor, Tape, withTape, noGrad, markLeaf, allocFloats, withResidentScope, cacheFilters } from '../tensor/index.js';
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
  return withResidentScope(() => (saveMemory ? savingGradients(model, images) : plainGradients(model, images)));
}

function plainGradients(model: PyramidFlow, images: Tensor): GradientResult {
  const tape = new Tape();
  const loss = withTape(tape, () => pyramidLoss(model.forward(images)));
  tape.backward(loss, undefined, true);
  return { loss: loss.item() };
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
  const outs = latents.map((z) => markLeaf(z.detach()));
  const tape = new Tape();
  const loss = withTape(tape, () => pyramidLoss(outs));
  tape.backward(loss, undefined, true);
  // The input pyramid's gradients (returned) are not needed: the input stage is frozen.
  model.flow.backwardSavingMemory(
    outs.map((z) => z.detach()),
    outs.map((z) => z.grad ?? allocFloats(z.size)),
    model.mode(false),
  );
  return { loss: loss.item() };
}

/**
 * The training loss of the model's weights on a batch, without gradients and without updating
 * the running statistics: how the loop judges a state no step will follow (the last one).
 */
export function lossOnly(model: PyramidFlow, images: Tensor): number {
  return withResidentScope(() => noGrad(() => pyramidLoss(model.flow.forward(model.inputPyramid(images), model.mode(false))).item()));
}
