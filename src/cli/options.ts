/**
 * Option values on the command line, as pure functions. The options themselves (flag, type,
 * range, default, help) are the option table's (src/api/options.ts): `addOptions` gives a
 * commander command the options of the table, `commandValues` turns what commander hands over
 * (strings, switches as booleans) and a config file's values into checked values, flags winning.
 * Every error is a usage error (exit code 2) that names the option. Limits that depend on the
 * model (size divisible by 2^(L-1), odd kernel) are the model's to check.
 */
import { Option, type Command } from 'commander';
import { camelFlag, flagsOf, helpOf, OPTION_ERROR, optionError, optionsOf, type CommandName, type OptionValue, type Range } from '../api/options.js';
import { nestOptions, parseChoiceText, parseIntegerText, parseListText, parseNumberText, parseOptionText } from '../api/option-values.js';
import type { PyramidFlowError } from '../util/errors.js';

export type { Range };

export const USAGE_ERROR = OPTION_ERROR;

export function usageError(message: string): PyramidFlowError {
  return optionError(message);
}

/** An integer option; undefined stays undefined (the API's default applies). */
export function parseInteger(flag: string, raw: string | number | undefined, range: Range = {}): number | undefined {
  if (raw === undefined) return undefined;
  return parseIntegerText(flag, String(raw), range);
}

/** A finite decimal option (1e-4 and .5 allowed). */
export function parseNumber(flag: string, raw: string | number | undefined, range: Range = {}): number | undefined {
  if (raw === undefined) return undefined;
  return parseNumberText(flag, String(raw), range);
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(flag: string, raw: string | undefined, choices: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  return parseChoiceText(flag, String(raw), choices);
}

/** An integer, or the word `auto` (the API decides). */
export function parseIntegerOrAuto(flag: string, raw: string | undefined, range: Range = {}): number | 'auto' | undefined {
  if (raw !== undefined && String(raw).trim().toLowerCase() === 'auto') return 'auto';
  return parseInteger(flag, raw, range);
}

/** A comma-separated list of non-empty names. */
export function parseList(flag: string, raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return parseListText(flag, String(raw));
}

/** A required text option (guards direct calls). */
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

// ---- the option table on the command line ----

/** What commander hands an action: option values by attribute (`volumeNorm`), as given. */
export type CliValues = Record<string, string | boolean | string[] | undefined>;

/** The values a config file gave, by option name, and the file (src/cli/config-file.ts). */
export interface FileValues {
  file: string;
  values: Record<string, OptionValue>;
}

/**
 * Gives a commander command the options the table lists for it, with their help and defaults;
 * no commander defaults and no required options, so that a config file can give them.
 */
export function addOptions(cmd: Command, command: CommandName): Command {
  for (const spec of optionsOf(command)) {
    const option = new Option(flagsOf(spec), helpOf(spec, command));
    if (spec.repeatable) option.argParser(collect);
    cmd.addOption(option);
    if (spec.negatedHelp) cmd.addOption(new Option(`--no-${spec.flag}`, spec.negatedHelp));
  }
  return cmd;
}

/**
 * The values of a command by option name: the config file's, then the flags given on the
 * command line over them, each checked; required ones must be there (but `notRequired`, which a
 * run of many categories replaces by another flag).
 */
export function commandValues(command: CommandName, cli: CliValues, file?: FileValues, notRequired?: string): Record<string, OptionValue> {
  const values: Record<string, OptionValue> = { ...file?.values };
  for (const spec of optionsOf(command)) {
    const raw = cli[camelFlag(spec.flag)];
    if (raw !== undefined) values[spec.name] = parseOptionText(spec, raw);
  }
  for (const spec of optionsOf(command)) {
    if (spec.required?.includes(command) && spec.name !== notRequired && values[spec.name] === undefined) {
      throw usageError(`--${spec.flag} is required${file ? ` (on the command line or in ${file.file})` : ''}`);
    }
  }
  return values;
}

/** The library's options object of a command (command-line-only options such as --json left out). */
export function commandOptions<T>(command: CommandName, cli: CliValues, file?: FileValues): T {
  return nestOptions(command, commandValues(command, cli, file)) as T;
}

/** --json on the command line or in the config file. */
export function wantsJson(cli: CliValues, file?: FileValues): boolean {
  return cli.json === true || (cli.json === undefined && file?.values.json === true);
}
