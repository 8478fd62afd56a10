/**
 * How long a training from a page runs when its length is given in steps: the engine's default and
 * the page's plan are this one rule (about BROWSER_TARGET_STEPS optimizer steps, at most the
 * CLI's default epochs), on the same hold-out split as Node's `train`.
 */
import { holdoutCount } from '../data/holdout.js';
import { TRAINING_OPTIONS } from '../train/training-options.js';

/** The page's default training length, in optimizer steps. */
export const BROWSER_TARGET_STEPS = 1500;

/** A training's length for a number of good images. */
export interface TrainingPlan {
  /** Images trained on. */
  train: number;
  /** Images held out to set the thresholds. */
  holdout: number;
  /** Optimizer steps per epoch. */
  perEpoch: number;
  /** Epochs to run: about `steps` steps, at least 1, at most `maxEpochs`. */
  epochs: number;
  /** The most epochs a plan runs (the CLI's default epochs). */
  maxEpochs: number;
}

/** The epochs that make about `steps` optimizer steps for `images` good images (batch and hold-out share: the CLI's defaults unless given). */
export function trainingPlan(
  images: number,
  steps: number = BROWSER_TARGET_STEPS,
  batch: number = TRAINING_OPTIONS.batch.default,
  holdoutShare: number = TRAINING_OPTIONS.holdout.default,
): TrainingPlan {
  const holdout = holdoutCount(images, holdoutShare, batch);
  const train = images - holdout;
  const perEpoch = Math.max(1, Math.floor(train / batch));
  const wanted = Number.isFinite(steps) && steps > 0 ? steps : BROWSER_TARGET_STEPS;
  const maxEpochs = TRAINING_OPTIONS.epochs.default;
  const epochs = Math.min(maxEpochs, Math.max(1, Math.round(wanted / perEpoch)));
  return { train, holdout, perEpoch, epochs, maxEpochs };
}
