/** Limits of a number option, and the one rule that checks them (the option table's, the browser's). */

/** Limits of a number: inclusive `min`/`max`, exclusive `above`/`below`. */
export interface Range {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** The value must be greater than this. */
  above?: number;
  /** The value must be less than this. */
  below?: number;
}

/** What is wrong with `value` for `range` ("must be >= 2"), or undefined when it is allowed. */
export function rangeProblem(value: number, range: Range): string | undefined {
  const { min, max, above, below } = range;
  if (min !== undefined && value < min) return `must be >= ${min}`;
  if (max !== undefined && value > max) return `must be <= ${max}`;
  if (above !== undefined && !(value > above)) return `must be > ${above}`;
  if (below !== undefined && !(value < below)) return `must be < ${below}`;
  return undefined;
}
