/**
 * Optional timing of op categories, for the benchmarks' breakdown of a step. Off by default;
 * when off, `timed` is one branch.
 */
const totals = new Map<string, number>();
let enabled = false;

export function setProfiling(on: boolean): void {
  enabled = on;
  totals.clear();
}

export function timed<T>(category: string, fn: () => T): T {
  if (!enabled) return fn();
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    totals.set(category, (totals.get(category) ?? 0) + performance.now() - t0);
  }
}

/** Milliseconds per category since profiling was switched on (or last reset). */
export function profileTotals(reset = false): Record<string, number> {
  const out = Object.fromEntries(totals);
  if (reset) totals.clear();
  return out;
}
