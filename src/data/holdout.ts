/** The held-out share of a training's good images: the Node CLI and the browser split the same way. */
import { Random } from '../util/random.js';

/** Splits good training images into training and held-out calibration images, reproducibly. */
export function holdoutSplit(files: string[], share: number, seed: number, batch: number): { train: string[]; holdout: string[] } {
  const n = holdoutCount(files.length, share, batch);
  if (n === 0) return { train: files, holdout: [] };
  const shuffled = new Random(seed ^ 0x51ed).shuffle([...files]);
  const holdout = shuffled.slice(0, n).sort();
  const held = new Set(holdout);
  return { train: files.filter((f) => !held.has(f)), holdout };
}

/** How many of `images` good images are held out: the share rounded, at least 1, leaving a batch to train on (0 when none can be). */
export function holdoutCount(images: number, share: number, batch: number): number {
  if (share <= 0) return 0;
  const n = Math.min(Math.max(1, Math.round(share * images)), images - batch); // keep at least one batch to train on
  return n < 1 ? 0 : n;
}
