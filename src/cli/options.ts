/**
 * Parsing and checking of option values, as pure functions: commander hands over strings, these
 * turn them into typed values or throw a usage error (exit code 2) that names the option.
 * Limits that depend on the model (size divisible by 2^(L-1), odd kernel) are the model's to check.
 */
import { PyramidFlowError } from '../util/errors.js';

export const USAGE_ERROR = 'E_USAGE';

export function usageError(message: string): PyramidFlowError {
  return new PyramidFlowError(message, USAGE_ERROR);
}

export interface Range {
  min?: number; // inclusive
  max?: number; // inclusive
  above?: number; // exclusive lower bound
  below?: number; // exclusive upper bound
}

function checkRange(flag: string, value: number, range: Range): number {
  const { min, max, above, below } = range;
  if (min !== undefined && value < min) throw usageError(`${flag} must be >= ${min} (got ${value})`);
  if (max !== undefined && value > max) throw usageError(`${flag} must be <= ${max} (got ${value})`);
  if (above !== undefined && !(value > above)) throw usageError(`${flag} must be > ${above} (got ${value})`);
  if (below !== undefined && !(value < below)) throw usageError(`${flag} must be < ${below} (got ${value})`);
  return value;
}

/** An integer option; undefined stays undefined (the API's default applies). */
export function parseInteger(flag: string, raw: string | number | undefined, range: Range = {}): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  if (!/^[+-]?\d+$/.test(text)) throw usageError(`${flag} must be a whole number (got '${raw}')`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw usageError(`${flag} is too large (got ${text})`);
  return checkRange(flag, value, range);
}

/** A finite decimal option (1e-4 and .5 allowed). */
export function parseNumber(flag: string, raw: string | number | undefined, range: Range = {}): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) throw usageError(`${flag} must be a number (got '${raw}')`);
  return checkRange(flag, value, range);
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(flag: string, raw: string | undefined, choices: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  const value = String(raw).trim().toLowerCase();
  if (!(choices as readonly string[]).includes(value)) throw usageError(`${flag} must be one of ${choices.join(', ')} (got '${raw}')`);
  return value as T;
}

/** An integer, or the word `auto` (the API decides). */
export function parseIntegerOrAuto(flag: string, raw: string | undefined, range: Range = {}): number | 'auto' | undefined {
  if (raw !== undefined && String(raw).trim().toLowerCase() === 'auto') return 'auto';
  return parseInteger(flag, raw, range);
}

/** A comma-separated list of non-empty names. */
export function parseList(flag: string, raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const items = String(raw).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw usageError(`${flag} needs at least one name (got '${raw}')`);
  return items;
}

/** A required text option (commander checks presence too; this guards direct calls). */
export function requireText(flag: string, raw: string | undefined): string {
  if (raw === undefined || String(raw).trim() === '') throw usageError(`${flag} is required`);
  return String(raw);
}

/** Drops the keys whose value is undefined, so the API sees only what the user gave. */
export function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** commander's collector for repeatable options (`--model a --model b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
