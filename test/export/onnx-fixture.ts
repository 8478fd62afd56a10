/**
 * Small finished models for the ONNX export's checks, made in well under a second: a flow with
 * random weights (the last convolutions too, so that every coupling does something), running
 * means from one training-mode forward (CVN: per pixel, SVN: per channel), then the template
 * and thresholds of src/detect/finish.ts on random images.
 */
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig } from '../../src/flow/config.js';
import type { TrainingRecord } from '../../src/flow/saved-model.js';
import type { ModelOptions } from '../../src/flow/types.js';
import { finishModel } from '../../src/detect/finish.js';
import { Detector } from '../../src/detect/detector.js';
import type { DecodedImage } from '../../src/data/pixels.js';
import { normalizeImage } from '../../src/data/pixels.js';
import { toBatch } from '../../src/flow/batch.js';
import { noGrad } from '../../src/tensor/index.js';
import { Random } from '../../src/util/random.js';

export const record: TrainingRecord = {
  data: 'synthetic',
  category: 'random',
  format: 'folder',
  augment: 'none',
  seed: 1,
  batch: 2,
  lr: 2e-4,
  epochs: 1,
  epochsDone: 1,
  steps: 1,
  threads: 1,
  saveMemory: false,
  holdout: 0.2,
  fpr: { image: 0.1, pixel: 0.01 },
  checkpointEvery: 0,
  trainFiles: [],
  holdoutFiles: [],
  lossPerEpoch: [1],
  seconds: 0,
};

/** Random images, RGB, at a size; a bright square on some of them so that scores differ. */
export function randomImages(count: number, height: number, width: number, seed: number): DecodedImage[] {
  const rng = new Random(seed);
  return Array.from({ length: count }, (_, n) => {
    const rgb = new Uint8Array(3 * height * width);
    for (let i = 0; i < rgb.length; i++) rgb[i] = Math.floor(96 + 64 * rng.uniform(0, 1));
    if (n % 2 === 1) {
      for (let c = 0; c < 3; c++)
        for (let y = 2; y < Math.min(height, 8); y++) for (let x = 3; x < Math.min(width, 10); x++) rgb[c * height * width + y * width + x] = 250;
    }
    return { width, height, rgb };
  });
}

/** A finished detector of the configuration (model size, small network by default). */
export function syntheticDetector(options: ModelOptions, seed = 7): Detector {
  const config = resolveConfig({ size: 32, channels: 4, kernel: 3, levels: 3, stacks: 1, volumeNorm: 'cvn', ...options });
  const model = PyramidFlow.create(config, seed);
  const rng = new Random(seed + 1);
  for (const block of model.blocks) {
    // The last convolution is zero-initialised: give it small random weights (scales about 0.5..2)
    const w = block.affine.conv2;
    const b = 0.5 / Math.sqrt(w.dim(1) * w.dim(2) * w.dim(3));
    w.updateHost((v) => {
      for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-b, b);
    });
  }
  const { height, width } = config;
  const train = randomImages(6, height, width, seed + 2);
  // One training-mode forward sets the running means (0.1 * the batch's means, in their shapes)
  model.training = true;
  noGrad(() => model.forward(toBatch(train.map(normalizeImage), height, width)));
  model.training = false;
  const { saved } = finishModel({ model, record, trainImages: train, holdoutImages: randomImages(5, height, width, seed + 3) });
  return Detector.fromSavedModel(saved, `synthetic-${config.volumeNorm}-${config.downsample}-L${config.levels}`);
}
