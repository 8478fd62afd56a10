/** Small models, pyramids and comparisons shared by the flow tests. */
import { type Tensor, reshape, concatChannels } from '../../src/tensor/index.js';
import type { TrainingRecord } from '../../src/flow/saved-model.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig } from '../../src/flow/config.js';
import { AffineParams } from '../../src/flow/affine.js';
import { couplingBlock } from '../../src/flow/coupling.js';
import type { ModelOptions } from '../../src/flow/types.js';
import { Random } from '../../src/util/random.js';
import { randomTensor } from '../tensor/gradcheck.js';

export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/**
 * A model whose last convolutions are not zero (so every path carries gradient) and whose
 * LeakyReLU slope is `slope`: the official 0.01 makes central differences unreliable (many
 * pre-activations cross zero within eps); its gradients are checked by the conformance vectors.
 */
export function smoothModel(opts: ModelOptions, seed = 1, slope = 0.8, conv2Scale = 0.3): PyramidFlow {
  const config = resolveConfig(opts);
  const base = PyramidFlow.create(config, seed);
  const rng = new Random(seed + 100);
  const blocks = base.blocks.map((b) => {
    b.affine.conv2.updateHost((w) => {
      for (let i = 0; i < w.length; i++) w[i] = rng.normal() * conv2Scale;
    });
    return couplingBlock(b.spec, new AffineParams(b.affine.conv0, b.affine.conv2, config.volumeNorm, slope), b.conv);
  });
  return new PyramidFlow(config, base.inConv, blocks);
}

/** Random levels [N, C, H >> k, W >> k]. */
export function randomPyramid(N: number, C: number, H: number, W: number, levels: number, seed: number): Tensor[] {
  const rng = new Random(seed);
  return Array.from({ length: levels }, (_, k) => randomTensor([N, C, H >> k, W >> k], rng));
}

/** All levels as one tensor [1, total, 1, 1] (differentiable), for gradient checks of pyramid-valued maps. */
export function flatten(levels: readonly Tensor[]): Tensor {
  return concatChannels(levels.map((z) => reshape(z, [1, z.size, 1, 1])));
}

/** A training record for tests that need one (a model file, a checkpoint): plain defaults, overridable. */
export function trainingRecord(over: Partial<TrainingRecord> = {}): TrainingRecord {
  return {
    data: 'd',
    category: 'c',
    format: 'mvtec',
    augment: 'none',
    seed: 1,
    batch: 2,
    lr: 2e-4,
    epochs: 1,
    epochsDone: 0,
    steps: 0,
    threads: 1,
    saveMemory: false,
    holdout: 0,
    fpr: { image: 0.01, pixel: 0.001 },
    checkpointEvery: 0,
    trainFiles: [],
    holdoutFiles: [],
    lossPerEpoch: [],
    seconds: 0,
    ...over,
  };
}
