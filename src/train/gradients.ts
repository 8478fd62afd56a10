/**
 * One forward and backward pass of the training loss. Plain mode records the whole graph;
 * memory-saving mode stores only the output pyramid and, going backwards block by block,
 * rebuilds each block's input from its output through the inverse, then re-runs that block
 * alone under a tape. Both give the same gradients up to float32 rounding.
 */
import { Tensor, Tape, withTape, noGrad, markLeaf } from '../tensor/index.js';
import type { PyramidFlow } from '../flow/model.js';
import { pyramidLoss } from '../flow/loss.js';
import { withLevel } from '../flow/coupling.js';

export interface GradientResult {
  loss: number;
  latents: Tensor[];
}

/** Accumulates the loss's gradients into the parameters' .grad (call zeroGrad first). */
export function lossGradients(model: PyramidFlow, images: Tensor, saveMemory: boolean): GradientResult {
  return saveMemory ? savingGradients(model, images) : plainGradients(model, images);
}

function plainGradients(model: PyramidFlow, images: Tensor): GradientResult {
  const tape = new Tape();
  const { loss, latents } = withTape(tape, () => {
    const latents = model.forward(images);
    return { loss: pyramidLoss(latents), latents };
  });
  tape.backward(loss);
  return { loss: loss.data[0]!, latents };
}

function savingGradients(model: PyramidFlow, images: Tensor): GradientResult {
  const latents = noGrad(() => model.forward(images));
  const outs = latents.map((z) => markLeaf(new Tensor(z.shape, z.data)));
  const tape = new Tape();
  const loss = withTape(tape, () => pyramidLoss(outs));
  tape.backward(loss);
  let levels = outs.map((z) => new Tensor(z.shape, z.data));
  let grads = outs.map((z) => z.grad ?? new Float32Array(z.size));
  for (let i = model.blocks.length - 1; i >= 0; i--) {
    const block = model.blocks[i]!;
    const t = block.target;
    // Rebuild the block's input: only its target level changed.
    const before = noGrad(() => block.inverse(levels, model.mode(false)));
    const inputs = withLevel(levels, t, before).map((z) => markLeaf(new Tensor(z.shape, z.data)));
    const blockTape = new Tape();
    const out = withTape(blockTape, () => block.forward(inputs, model.mode(false)));
    blockTape.backward(out, grads[t]);
    // Levels other than the target pass through: their gradient is what came from above plus
    // what flowed through the affine parameters.
    grads = grads.map((g, k) => {
      if (k === t) return inputs[k]!.grad ?? new Float32Array(g.length);
      const via = inputs[k]!.grad;
      if (!via) return g;
      const sum = new Float32Array(g.length);
      for (let j = 0; j < g.length; j++) sum[j] = g[j]! + via[j]!;
      return sum;
    });
    levels = inputs.map((z) => new Tensor(z.shape, z.data));
  }
  return { loss: loss.data[0]!, latents };
}
