/** Types the training loop reports in. */

/** One progress event of a training run. */
export interface TrainProgress {
  kind: 'start' | 'step' | 'epoch' | 'checkpoint' | 'note' | 'done';
  /** 1-based epoch. */
  epoch: number;
  epochs: number;
  /** 1-based step within the epoch. */
  step: number;
  stepsPerEpoch: number;
  /** This step's loss ('step'), the epoch's mean ('epoch'). */
  loss?: number;
  imagesPerSecond?: number;
  secondsLeft?: number;
  message?: string;
}

/** One compared quantity of a conformance run. */
export interface ConformanceCheck {
  name: string;
  maxError: number;
  tolerance: number;
  ok: boolean;
}

/** The outcome of replaying one vector file of the official implementation. */
export interface ConformanceReport {
  file: string;
  ok: boolean;
  checks: ConformanceCheck[];
  /** The kernel backend the checks ran on (e.g. 'wasm-relaxed-simd x2', 'js'). */
  backend?: string;
}
