/**
 * `--config FILE`: a command's options from a YAML or JSON file (JSON is YAML too), keys the
 * option names of the table (src/api/options.ts), as flags (`volume-norm`) or as the library
 * names them (`volumeNorm`). Paths in it are relative to the current folder, as on the command
 * line. Flags given on the command line override it. `pyramidflow info --config MODEL` writes one
 * that repeats a training.
 */
import { readFileSync } from 'node:fs';
import { COMMANDS, optionSpec, OPTIONS, type CommandName, type OptionValue } from '../api/options.js';
import { byFlag, checkOptionValue } from '../api/option-values.js';
import type { TrainingOptionsOfModel } from '../api/types.js';
import { usageError, type CliValues, type FileValues } from './options.js';

/** The values of a config file's text, checked against the options of `command`; `file` names it in errors. */
export async function parseConfigText(text: string, file: string, command: CommandName): Promise<FileValues> {
  const YAML = await import('yaml');
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw usageError(`${file}: not a valid YAML or JSON file (${first})`);
  }
  if (parsed === null || parsed === undefined) return { file, values: {} };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw usageError(`${file}: expected option names with their values (e.g. "batch: 4"), got ${Array.isArray(parsed) ? 'a list' : `'${String(parsed)}'`}`);
  }
  const values: Record<string, OptionValue> = {};
  const keyOf: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const spec = optionSpec(command, key);
    if (!spec) {
      const others = COMMANDS.filter((c) => c !== command && optionSpec(c, key) !== undefined);
      const hint = others.length > 0 ? `it is an option of ${others.join(', ')}` : `see pyramidflow ${command} --help`;
      throw usageError(`${file}: unknown option '${key}' for ${command} (${hint})`);
    }
    if (spec.name === 'config') throw usageError(`${file}: '${key}' cannot be given in a config file`);
    if (keyOf[spec.name] !== undefined) throw usageError(`${file}: '${keyOf[spec.name]}' and '${key}' are the same option; give it once`);
    keyOf[spec.name] = key;
    values[spec.name] = checkOptionValue(spec, value, `${file}: ${key}`);
  }
  return { file, values };
}

/** The file of `--config`, read and checked; undefined without --config. */
export async function readConfigFile(command: CommandName, cli: CliValues): Promise<FileValues | undefined> {
  const file = cli.config;
  if (file === undefined || typeof file !== 'string') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw usageError(code === 'ENOENT' ? `${file}: config file not found` : `${file}: cannot read the config file (${(err as Error).message})`);
  }
  return parseConfigText(text, file, command);
}

/** A config file for `train --config` that repeats a training: YAML with comments, or JSON. */
export async function formatTrainingConfig(t: TrainingOptionsOfModel, json: boolean): Promise<string> {
  const values = byFlag('train', t.values);
  if (json) return `${JSON.stringify(values, null, 2)}\n`;
  const YAML = await import('yaml');
  const lines = [`# the options ${t.file} was trained with; repeat the run with: pyramidflow train --config THIS_FILE [--out other.pflow]`];
  if (t.reconstructed) lines.push('# (read back from the configuration and training record of a model file of an earlier version)');
  for (const r of t.resumed) {
    const changes = Object.entries(r.changed).map(([name, c]) => `${flagOf(name)} ${c.from === null ? '(none)' : show(c.from)} -> ${show(c.to)}`);
    lines.push(`# resumed at epoch ${r.epoch + 1}, step ${r.step + 1} with ${changes.join(', ')}; the values below are the last run's`);
  }
  return `${lines.join('\n')}\n${YAML.stringify(values)}`;
}

const show = (v: OptionValue): string => (Array.isArray(v) ? v.join(',') : String(v));
const flagOf = (name: string): string => OPTIONS.find((o) => o.name === name && o.commands.includes('train'))?.flag ?? name;
