/** Types the training loop reports in. */

/** One progress event of a training run. */
export interface TrainProgress {
  /**
   * What happened: 'start' (before the first step; on resume, at the step it resumes from),
   * 'step' (one optimizer step), 'epoch' (an epoch finished), 'checkpoint' (a checkpoint was
   * written; `message` is its file), 'note' (a remark in `message`, e.g. an `auto` choice),
   * 'done' (the model file is written; `message` is its path).
   */
  kind: 'start' | 'step' | 'epoch' | 'checkpoint' | 'note' | 'done';
  /** 1-based epoch (0 in 'note' events). */
  epoch: number;
  /** Epochs the run goes to. */
  epochs: number;
  /**
   * 1-based step within the epoch; for 'start' and 'checkpoint' the steps of the epoch already
   * done (0 at an epoch boundary); 0 in 'note' and 'done' events.
   */
  step: number;
  /** Optimizer steps per epoch (training images / batch, rounded down). */
  stepsPerEpoch: number;
  /** This step's loss ('step'), the epoch's mean ('epoch'). */
  loss?: number;
  /** Training images per second of wall time over this step ('step'). */
  imagesPerSecond?: number;
  /** Estimated seconds until the last epoch ends, from this run's mean step time ('step'). */
  secondsLeft?: number;
  /** The note ('note'), the checkpoint file ('checkpoint') or the model file ('done'). */
  message?: string;
}

/** One compared quantity of a conformance run. */
export interface ConformanceCheck {
  /** The quantity, e.g. 'feat', 'block 3 ...', 'loss', 'gradients (worst: <parameter>)'. */
  name: string;
  /** Largest absolute difference from the official implementation's value. */
  maxError: number;
  /** The absolute difference allowed (relative tolerances already scaled by the values' magnitude). */
  tolerance: number;
  /** True when `maxError <= tolerance`. */
  ok: boolean;
}

/** The outcome of replaying one vector file of the official implementation. */
export interface ConformanceReport {
  /** The vector file replayed. */
  file: string;
  /** True when every check passed. */
  ok: boolean;
  /** One entry per compared quantity, in the order of the computation. */
  checks: ConformanceCheck[];
  /** The kernel backend the checks ran on (e.g. 'wasm-relaxed-simd x2', 'js'). */
  backend?: string;
}
