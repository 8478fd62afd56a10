/**
 * How long a worker's job lock lasts. BullMQ renews a lock from a timer, so only while the event
 * loop runs; the training loop yields once per step, so a lock must outlast the longest step
 * (about 29 s for a 1024x1024 memory-saving step on 2 cores, against BullMQ's default lock of
 * 30 s). The lock is set from an estimate of the step time, with BullMQ's default as the floor.
 */

/** BullMQ's default lock duration and stall-check interval (ms): the floor of the lock. */
export const BULLMQ_DEFAULT_LOCK_MS = 30_000;

/** What a step's time depends on. */
export interface StepShape {
  /** Image height and width (pixels). */
  height: number;
  /** Image width. */
  width: number;
  /** Images per step. */
  batch: number;
  /** Flow channels (16 by default). */
  channels: number;
  /** Pyramid levels x coupling stacks (4 x 4 by default). */
  blocks: number;
  /** Whether activations are recomputed (slower, less memory). */
  saveMemory: boolean;
  /** Kernel threads. */
  threads: number;
}

/**
 * The README's measurement this scales (2 cores, Node 20): a default model (C16 k7 L4 S4) step on
 * two 256x256 images takes 1.30 s, 1.68 s with memory saving; 1024x1024 with memory saving 29 s
 * (16 x the pixels, 17 x the time). A busy machine is up to 2x slower: the estimate doubles it.
 */
const SECONDS_PER_STEP_256 = { plain: 1.3, saveMemory: 1.7 };
const SLOW_MACHINE = 2;

/** Estimated seconds of one training step on a busy machine: linear in pixels, images, channels and blocks, inverse in threads. */
export function estimateStepSeconds(shape: StepShape): number {
  const base = shape.saveMemory ? SECONDS_PER_STEP_256.saveMemory : SECONDS_PER_STEP_256.plain;
  const pixels = (shape.height * shape.width) / (256 * 256);
  const work = pixels * (shape.batch / 2) * (shape.channels / 16) * (shape.blocks / 16);
  return (base * work * SLOW_MACHINE * 2) / Math.max(1, shape.threads);
}

/**
 * A worker's lock duration (ms) when `--lock-duration` is auto: twice the estimated step of the
 * largest job it is meant for (a 1024x1024 default model with memory saving, batch 2, at its
 * thread count), and never less than BullMQ's default.
 */
export function autoLockMs(threads: number): number {
  const step = estimateStepSeconds({ height: 1024, width: 1024, batch: 2, channels: 16, blocks: 16, saveMemory: true, threads });
  return Math.max(BULLMQ_DEFAULT_LOCK_MS, Math.ceil(2 * step * 1000));
}

/**
 * Whether a job whose steps take about `stepSeconds` keeps its lock: a step must end before half
 * the lock has passed (BullMQ renews at half the lock; the other half is the margin).
 */
export function lockCoversStep(lockMs: number, stepSeconds: number): boolean {
  return stepSeconds * 1000 <= lockMs / 2;
}
