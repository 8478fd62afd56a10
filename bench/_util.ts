/** Shared helpers for benchmark scripts: medians, peak memory, option errors. */
import { readFileSync } from 'node:fs';

/** A bad option: bench/main.ts prints its message and the benchmark's usage line, no stack. */
export class UsageError extends Error {}

/** A positive number given to option `name`, or a UsageError. */
export function positiveOption(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got '${text ?? ''}'`);
  return n;
}

/** A count given to option `name` (a positive number, rounded), or a UsageError. */
export function countOption(name: string, text: string | undefined): number {
  return Math.round(positiveOption(name, text));
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Peak resident set size of this process in MB (VmHWM from /proc; falls back to current RSS). */
export function peakRssMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage().rss / 1048576;
}

export function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The wasm backend's shared memory: the most it held at once and what it has grown to (MB), if it is the backend. */
export function wasmMemoryMb(b: unknown): { peak_mb: number; capacity_mb: number } | null {
  const use = (b as { memoryUse?: () => { peak: number; capacity: number } }).memoryUse?.();
  return use ? { peak_mb: Math.round(use.peak / 1048576), capacity_mb: Math.round(use.capacity / 1048576) } : null;
}
