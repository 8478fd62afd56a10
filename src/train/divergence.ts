/**
 * Divergence, noticed before the loss is NaN. Each step's loss is the loss of the weights the
 * step started from, so it judges that state:
 * - healthy: finite and at most SUSPICIOUS times the median of the last WINDOW healthy losses
 *   (the first loss of a run, with nothing to compare, is healthy when finite). Only healthy
 *   states are written as checkpoints (src/train/trainer.ts) and their losses alone make the median;
 * - suspicious: above that, but not diverged: training goes on, the state is not written;
 * - diverged: not finite, or above DIVERGED times the median, or STREAK suspicious steps in a row.
 * The gradient norm is no signal (about 2000 on the official vectors before clipping to 1), nor
 * the weights' size (at a too-high rate the loss explodes while the weights move little).
 * A falling loss never trips it: only a loss far above the recent ones does. Measured on
 * synthetic data (test/train/divergence.test.ts): at the default rate the step-to-median ratio stays
 * under 2; at a rate 50 to 5000 times it, the first bad step is 1000 to 10^30 times the median.
 */
import { OFFICIAL_ADAM } from './optim.js';

export interface DivergenceRules {
  /** Healthy losses the median is taken over. */
  window: number;
  /** A loss above this many times the median makes its state suspicious (not written). */
  suspicious: number;
  /** A loss above this many times the median is divergence. */
  diverged: number;
  /** This many suspicious steps in a row are divergence. */
  streak: number;
  /** Medians below this count as this (a loss that fell to about zero cannot make a tiny one look huge). */
  floor: number;
}

/** The rules the loop uses (see the module's comment for the measurements behind them). */
export const DIVERGENCE_RULES: DivergenceRules = { window: 16, suspicious: 4, diverged: 1000, streak: 8, floor: 1e-6 };

/** A state's verdict: healthy, suspicious (by `ratio` times the recent `median`), or diverged (for `reason`). */
export type Verdict = { kind: 'healthy' } | { kind: 'suspicious'; ratio: number; median: number } | { kind: 'diverged'; reason: string };

/** The judge of a run's losses, step by step. */
export class DivergenceWatch {
  private readonly recent: number[];
  private streak = 0;

  /** `history`: healthy losses before this run (a resumed epoch's), oldest first. */
  constructor(
    history: readonly number[] = [],
    readonly rules: DivergenceRules = DIVERGENCE_RULES,
  ) {
    this.recent = history.filter((l) => Number.isFinite(l)).slice(-rules.window);
  }

  /** The median of the recent healthy losses, or undefined before the first. */
  median(): number | undefined {
    if (this.recent.length === 0) return undefined;
    const s = [...this.recent].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  }

  /** Judges the state a step started from by that step's loss; healthy losses join the median. */
  judge(loss: number): Verdict {
    if (!Number.isFinite(loss)) return { kind: 'diverged', reason: `loss ${loss}` };
    const median = this.median();
    if (median !== undefined) {
      const ratio = loss / Math.max(median, this.rules.floor);
      const of = `the median ${fmt(median)} of the last ${this.recent.length} healthy step${this.recent.length === 1 ? '' : 's'}`;
      if (ratio > this.rules.diverged) return { kind: 'diverged', reason: `loss ${fmt(loss)}, ${fmt(ratio)} times ${of}` };
      if (ratio > this.rules.suspicious) {
        if (++this.streak >= this.rules.streak) {
          return { kind: 'diverged', reason: `loss ${fmt(loss)}; ${this.streak} steps in a row above ${this.rules.suspicious} times ${of}` };
        }
        return { kind: 'suspicious', ratio, median };
      }
    }
    this.streak = 0;
    this.recent.push(loss);
    if (this.recent.length > this.rules.window) this.recent.shift();
    return { kind: 'healthy' };
  }
}

/**
 * The learning rate to suggest after a divergence: a tenth of the run's, and no more than the
 * official 2e-4 (the default model diverges within 3 steps at 1e-2: from --lr 1, a tenth and
 * a tenth of that would diverge again).
 */
export function suggestedLr(lr: number): number {
  return Number(Math.min(lr / 10, OFFICIAL_ADAM.lr).toPrecision(2));
}

/** A word for a POSIX shell: as is when safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command that resumes a checkpoint with a learning rate (what `pyramidflow train --resume` needs). */
export function resumeCommand(w: {
  /** The data set root (`--data`). */
  data: string;
  /** The category (`--category`; left out when empty). */
  category: string;
  /** The checkpoint (`--out`). */
  out: string;
  /** The learning rate (`--lr`). */
  lr: number;
}): string {
  const words = ['pyramidflow', 'train', '--data', shellWord(w.data)];
  if (w.category) words.push('--category', shellWord(w.category));
  words.push('--out', shellWord(w.out), '--resume', '--lr', String(w.lr));
  return words.join(' ');
}

/** Where a saved state is: 'after epoch 2, step 3', 'at the end of epoch 2', 'before the first step'. */
export function describePosition(epoch: number, stepInEpoch: number): string {
  if (stepInEpoch > 0) return `after epoch ${epoch + 1}, step ${stepInEpoch}`;
  return epoch === 0 ? 'before the first step' : `at the end of epoch ${epoch}`;
}

/** A loss or ratio in a message: 3 significant digits, exponents from 10^5 up and below 10^-3. */
export function fmt(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 1e5 || a < 1e-3 ? x.toExponential(2) : String(Number(x.toPrecision(3)));
}
