/**
 * The training options' defaults and limits, once: the command line's option table
 * (src/api/options.ts) and the browser's training (src/browser/train.ts) both read them.
 */
import type { Range } from '../util/range.js';

/** One number option of training: its default and its limits. */
export interface TrainingOption {
  /** The value when none is given. */
  default: number;
  /** The allowed values. */
  range: Range;
  /** Whole numbers only. */
  integer: boolean;
}

/** Defaults and limits of the training options a browser and the command line share. */
export const TRAINING_OPTIONS = {
  batch: { default: 2, range: { min: 2, max: 1024 }, integer: true },
  epochs: { default: 15, range: { min: 0, max: 100000 }, integer: true },
  lr: { default: 2e-4, range: { above: 0, max: 1 }, integer: false },
  seed: { default: 0, range: { min: 0, max: 2 ** 32 - 1 }, integer: true },
  holdout: { default: 0.1, range: { min: 0, max: 0.9 }, integer: false },
} as const satisfies Record<string, TrainingOption>;
