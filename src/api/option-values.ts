/**
 * Values of the options of the table (options.ts): the text of a flag, a typed value of a config
 * file or of the library's options objects, checked against the option's type and range with one
 * message for one mistake wherever it is made; and what a model file says about its training.
 */
import { resolve } from 'node:path';
import type { ModelConfig } from '../flow/types.js';
import type { OptionValue, TrainingRecord } from '../flow/saved-model.js';
import { optionError, optionsOf, type CommandName, type OptionSpec, type Range } from './options.js';
import { rangeProblem } from '../util/range.js';

// ---- values: the text of a flag, a typed value of a config file or of the library ----

/** A typed value in a message: text is marked as such (a config file's "4" is not the number 4). */
function shown(value: unknown): string {
  if (typeof value === 'string') return `the text '${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value);
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

export function checkRange(label: string, value: number, range: Range = {}): number {
  const problem = rangeProblem(value, range);
  if (problem !== undefined) throw optionError(`${label} ${problem} (got ${value})`);
  return value;
}

/** The text of a whole number. */
export function parseIntegerText(label: string, raw: string, range: Range = {}): number {
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) throw optionError(`${label} must be a whole number (got '${raw}')`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw optionError(`${label} is too large (got ${text})`);
  return checkRange(label, value, range);
}

/** The text of a finite decimal number (1e-4 and .5 allowed). */
export function parseNumberText(label: string, raw: string, range: Range = {}): number {
  const text = raw.trim();
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) throw optionError(`${label} must be a number (got '${raw}')`);
  return checkRange(label, value, range);
}

/** One of a fixed set of words (any case). */
export function parseChoiceText<T extends string>(label: string, raw: string, choices: readonly T[]): T {
  const value = raw.trim().toLowerCase();
  if (!(choices as readonly string[]).includes(value)) throw optionError(`${label} must be one of ${choices.join(', ')} (got '${raw}')`);
  return value as T;
}

/** A comma-separated list of non-empty names. */
export function parseListText(label: string, raw: string): string[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw optionError(`${label} needs at least one name (got '${raw}')`);
  return items;
}

const isAuto = (v: unknown): boolean => typeof v === 'string' && v.trim().toLowerCase() === 'auto';

/**
 * The value of a flag as a command line gives it: its text (a switch: true or false; a repeated
 * flag: its texts). `label` names it in errors.
 */
export function parseOptionText(spec: OptionSpec, raw: string | boolean | string[], label = `--${spec.flag}`): OptionValue {
  if (typeof raw === 'boolean') return checkOptionValue(spec, raw, label);
  if (Array.isArray(raw)) {
    if (spec.kind !== 'list') throw optionError(`${label} is given more than once`);
    return checkOptionValue(
      spec,
      raw.flatMap((r) => (spec.repeatable ? [r.trim()] : parseListText(label, r))),
      label,
    );
  }
  if (spec.auto && isAuto(raw)) return 'auto';
  switch (spec.kind) {
    case 'int':
      if (spec.auto && !/^\s*[+-]?\d+\s*$/.test(raw)) throw optionError(`${label} must be a whole number or auto (got '${raw}')`);
      return parseIntegerText(label, raw, spec.range);
    case 'number':
      return parseNumberText(label, raw, spec.range);
    case 'choice':
      return parseChoiceText(label, raw, spec.choices ?? []);
    case 'list':
      return checkOptionValue(spec, spec.repeatable ? [raw.trim()] : parseListText(label, raw), label);
    case 'bool': {
      const word = raw.trim().toLowerCase();
      if (word === 'true' || word === 'false') return word === 'true';
      throw optionError(`${label} must be true or false${spec.auto ? ' or auto' : ''} (got '${raw}')`);
    }
    default:
      if (raw.trim() === '') throw optionError(`${label} needs a value`);
      return raw;
  }
}

/**
 * A typed value, as a config file or the library gives it: of the option's type and in its
 * range, or an error that names it (`label`). Choices are lowercased.
 */
export function checkOptionValue(spec: OptionSpec, value: unknown, label = `--${spec.flag}`): OptionValue {
  if (spec.auto && isAuto(value)) return 'auto';
  const orAuto = spec.auto ? ' or auto' : '';
  switch (spec.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw optionError(`${label} must be a whole number${orAuto} (got ${shown(value)})`);
      return checkRange(label, value, spec.range);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw optionError(`${label} must be a number (got ${shown(value)})`);
      return checkRange(label, value, spec.range);
    case 'choice':
      if (typeof value !== 'string') throw optionError(`${label} must be one of ${(spec.choices ?? []).join(', ')} (got ${shown(value)})`);
      return parseChoiceText(label, value, spec.choices ?? []);
    case 'bool':
      if (typeof value !== 'boolean') throw optionError(`${label} must be true or false${orAuto} (got ${shown(value)})`);
      return value;
    case 'list': {
      const items: unknown = typeof value === 'string' ? parseListText(label, value) : value;
      if (!Array.isArray(items) || items.some((v) => typeof v !== 'string' || v.trim() === '')) {
        throw optionError(`${label} must be a list of names (got ${shown(value)})`);
      }
      if (items.length === 0) throw optionError(`${label} needs at least one name (got [])`);
      return (items as string[]).map((v) => v.trim());
    }
    default:
      if (typeof value !== 'string') throw optionError(`${label} must be ${spec.kind === 'path' ? 'a path' : 'text'} (got ${shown(value)})`);
      if (value.trim() === '') throw optionError(`${label} needs a value`);
      return value;
  }
}

/** Are two values of an option the same (paths: the same place)? */
export function sameValue(spec: OptionSpec, a: OptionValue, b: OptionValue): boolean {
  if (spec.kind === 'path' && typeof a === 'string' && typeof b === 'string') return resolve(a) === resolve(b);
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---- the library's options objects ----

function getPath(obj: object, path: readonly string[]): unknown {
  let v: unknown = obj;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** The library's options object from values by option name (pixelFpr -> fpr.pixel); command-line-only options left out. */
export function nestOptions(command: CommandName, values: Record<string, OptionValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of optionsOf(command)) {
    const value = values[spec.name];
    if (value === undefined || spec.cliOnly) continue;
    const path = spec.apiPath ?? [spec.name];
    let at = out;
    for (const k of path.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[path[path.length - 1]!] = value;
  }
  return out;
}

/**
 * Checks the options a library function was given against the table (with the messages of the
 * command line) and returns them by option name; required ones must be there.
 */
export function checkApiOptions(command: CommandName, opts: object): Record<string, OptionValue> {
  const values: Record<string, OptionValue> = {};
  for (const spec of optionsOf(command)) {
    if (spec.cliOnly) continue;
    const value = getPath(opts, spec.apiPath ?? [spec.name]);
    if (value === undefined) {
      if (spec.required?.includes(command)) throw optionError(`--${spec.flag} is required`);
      continue;
    }
    values[spec.name] = checkOptionValue(spec, value);
  }
  return values;
}

// ---- what a model file says about its training ----

/**
 * The resolved options of a training: what its record and configuration say and, for the rest,
 * what was given (`out`, `max-images`), in table order.
 */
export function resolvedTrainOptions(record: TrainingRecord, config: ModelConfig, given: Record<string, OptionValue>): Record<string, OptionValue> {
  const values: Record<string, OptionValue> = {};
  for (const spec of optionsOf('train')) {
    if (spec.cliOnly || spec.unrecorded) continue;
    const value = spec.recorded ? spec.recorded(record, config) : given[spec.name];
    if (value !== undefined && value !== '') values[spec.name] = value;
  }
  return values;
}

/**
 * The options a training ran with: what the model file recorded or, for a model file of an
 * earlier version, what its configuration and training record say (`reconstructed`).
 */
export function recordedTrainOptions(record: TrainingRecord, config: ModelConfig): { values: Record<string, OptionValue>; reconstructed: boolean } {
  if (record.options) return { values: { ...record.options.values }, reconstructed: false };
  return { values: resolvedTrainOptions(record, config, {}), reconstructed: true };
}

/** Values by option name -> by flag, in table order (the keys `info --config` prints). */
export function byFlag(command: CommandName, values: Record<string, OptionValue>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const spec of optionsOf(command)) {
    const value = values[spec.name];
    if (value !== undefined) out[spec.flag] = value;
  }
  return out;
}
