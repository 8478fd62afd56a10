/** autocannon (HTTP load) as the benchmarks use it: it ships no types, so this is the part of its API they call. */
import { createRequire } from 'node:module';

/** What one autocannon run reports (the fields read here). */
export interface AutocannonResult {
  requests: { average: number; total: number };
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
