/** autocannon (HTTP load) as the benchmarks use it: it ships no types, so this is the part of its API they call. */
import { createRequire } from 'node:module';

/** What one autocannon run reports (the fields read here). */
export interface AutocannonResult {
  /**
   * `average` is NOT completions per second of the run: autocannon records, at each tick of a
   * `setInterval(…, 1000)` (its sampleInt), the count of responses since the last tick, and
   * `average` is the mean of those counts, i.e. `total / samples`. A tick that the event loop
   * delays (a server in the same process computing synchronously, as bench serve's is) still
   * counts as one sample, so with a blocked loop there are fewer samples than seconds and the
   * "average" overstates the rate (by more the burstier the replies). `total` is every completed
   * response (any status). Use {@link completedPerSecond}.
   */
  requests: { average: number; total: number; sent: number };
  /** Seconds from the start to the tick that ended the run (the responses counted in `total`). */
  duration: number;
  /** Ticks recorded (the divisor of `requests.average`). */
  samples: number;
  /** Responses with a 2xx status. */
  '2xx': number;
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}

/** One run: `connections` clients POSTing `body` to `url` for `duration` seconds. */
export type Autocannon = (opts: {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: Buffer;
  connections: number;
  duration: number;
  timeout: number;
}) => Promise<AutocannonResult>;

export const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Completed 2xx responses per second of the measured duration (not autocannon's `requests.average`). */
export function completedPerSecond(r: AutocannonResult): number {
  return r.duration > 0 ? r['2xx'] / r.duration : 0;
}
