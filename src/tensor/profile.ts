/**
 * Optional timing of op categories, for the benchmarks' breakdown of a step. Off by default;
 * when off, `timed` is one branch.
 */
const totals = new Map<string, number>();
let enabled = false;

export function setProfiling(on: boolean): void {
  enabled = on;
  nestedMs = 0;
  totals.clear();
}

/** Milliseconds spent in timed calls nested in the one now running (its categories' share). */
let nestedMs = 0;

/**
 * Runs fn, adding its time to `category`, less the time of timed calls nested in it (they count
 * in their own categories): the categories add up to the time of the outermost calls.
 */
export function timed<T>(category: string, fn: () => T): T {
  if (!enabled) return fn();
  const outer = nestedMs;
  nestedMs = 0;
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    const ms = performance.now() - t0;
    totals.set(category, (totals.get(category) ?? 0) + ms - nestedMs);
    nestedMs = outer + ms;
  }
}

/** Milliseconds per category since profiling was switched on (or last reset). */
export function profileTotals(reset = false): Record<string, number> {
  const out = Object.fromEntries(totals);
  if (reset) totals.clear();
  return out;
}
