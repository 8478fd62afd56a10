/**
 * One forward and backward pass of the training loss. Plain mode records the whole graph;
 * memory-saving mode records only the last stack's blocks (keptBlocks) and leaves the rest to
 * the chain of blocks (InvertibleSequence.backwardSavingMemory, src/flow/sequence.ts): going
 * backwards block by block, it rebuilds each block's input from its output through the
 * inverse, then re-runs that block alone under a tape. Both give the same gradients up to
 * float32 rounding.
 *
 * Run inside a resident scope (trainStep does), the tape frees each activation once its own
 * backward has run, and memory saving frees each block's work before the next block's.
 */
import { type Tensor, Tape, withTape, noGrad, markLeaf, allocFloats, withResidentScope, cacheFilters } from '../tensor/index.js';
import type { PyramidFlow } from '../flow/model.js';
import { pyramidLoss } from '../flow/loss.js';
import { stackOrder } from '../flow/config.js';
import { KeptWork } from '../flow/invertible.js';
import type { ModelConfig } from '../flow/types.js';

export interface GradientResult {
  loss: number;
}

/**
 * Accumulates the loss's gradients into the parameters' .grad (call zeroGrad first). The
 * activations and their gradients live in the kernels' memory for the call (src/tensor/storage.ts);
 * the parameters' gradients are on the heap and outlive it.
 */
export function lossGradients(model: PyramidFlow, images: Tensor, saveMemory: boolean, keepWork = true): GradientResult {
  return withResidentScope(() => (saveMemory ? savingGradients(model, images, keepWork) : plainGradients(model, images)));
}

function plainGradients(model: PyramidFlow, images: Tensor): GradientResult {
  const tape = new Tape();
  const loss = withTape(tape, () => pyramidLoss(model.forward(images)));
  tape.backward(loss, undefined, true);
  return { loss: loss.item() };
}

/** keepWork: whether the rebuild may take what the forward kept (KeptWork; the same gradients, bit for bit, either way). */
function savingGradients(model: PyramidFlow, images: Tensor, keepWork: boolean): GradientResult {
  // The rebuilt blocks' forward runs twice with the same weights (once whole, once block by
  // block in the rebuild): the second time the convolutions reuse the filter spectra of the first.
  cacheFilters(SAVING_FILTER_CACHE_BYTES);
  try {
    return savingGradientsCached(model, images, keepWork);
  } finally {
    cacheFilters(0);
  }
}

/** Forward filter spectra kept through a memory-saving step: the default model's need about 75 MB. */
const SAVING_FILTER_CACHE_BYTES = 128 << 20;

function savingGradientsCached(model: PyramidFlow, images: Tensor, keepWork: boolean): GradientResult {
  const n = model.flow.length;
  const rebuilt = n - keptBlocks(model.config);
  const kept = keepWork ? keptWork(model.config, images.dim(0)) : undefined;
  const mid = noGrad(() => model.runBlocks(model.inputPyramid(images), 0, rebuilt, true, kept));
  const outs = mid.map((z) => markLeaf(z.detach()));
  const tape = new Tape();
  const loss = withTape(tape, () => pyramidLoss(model.runBlocks(outs, rebuilt, n)));
  tape.backward(loss, undefined, true);
  // The input pyramid's gradients (returned) are not needed: the input stage is frozen.
  model.flow.slice(0, rebuilt).backwardSavingMemory(
    outs.map((z) => z.detach()),
    outs.map((z) => z.grad ?? allocFloats(z.size)),
    { ...model.mode(false), ...(kept ? { kept } : {}) },
    true,
  );
  return { loss: loss.item() };
}

/**
 * What memory saving keeps from its forward for the rebuild (KeptWork): the affine blocks'
 * convolution outputs (2C channels) of the coarser levels, a quarter of the full resolution's or
 * less, up to 1.5 times as many bytes as one full-resolution output and at most KEPT_WORK_BYTES:
 * for the default model at 256x256 all the rebuilt blocks' 128 and 64 levels' (19 MB of 25),
 * whose second convolutions the rebuild then does not run again.
 */
export function keptWork(config: Pick<ModelConfig, 'channels' | 'height' | 'width'>, batch: number): KeptWork {
  const full = batch * 2 * config.channels * config.height * config.width * 4;
  return new KeptWork(Math.min(full * 1.5, KEPT_WORK_BYTES), full / 4);
}

/** The most memory saving keeps for its rebuild, whatever the image size (large images are why it runs). */
const KEPT_WORK_BYTES = 32 << 20;

/**
 * Blocks at the end of the flow that memory saving runs under the tape instead of rebuilding:
 * the last stack's, when there are several stacks. Their activations are freed before the
 * rebuilding starts, and they hold no more than rebuilding one full-resolution block does, so
 * the peak stays (measured, kernel memory in use: 224 MB either way for the default model at
 * 256, 685 at 512, 234 with 8 levels; 2 levels: 199 -> 212 MB), while a quarter of the default
 * model's forward is not run a second time.
 */
export function keptBlocks(config: Pick<ModelConfig, 'levels' | 'stacks'>): number {
  return config.stacks > 1 ? stackOrder(config.levels).length : 0;
}

/**
 * The training loss of the model's weights on a batch, without gradients and without updating
 * the running statistics: how the loop judges a state no step will follow (the last one).
 */
export function lossOnly(model: PyramidFlow, images: Tensor): number {
  return withResidentScope(() => noGrad(() => pyramidLoss(model.flow.forward(model.inputPyramid(images), model.mode(false))).item()));
}
