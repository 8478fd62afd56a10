/**
 * The command line: builds the commander program, runs it, and turns every failure into one line
 * `pyramidflow: <message>` with exit code 1 (2 for usage errors); stacks only under --debug.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { PyramidFlowError } from '../util/errors.js';
import { registerApp } from './app.js';
import { defaultContext, type CliContext } from './context.js';
import { registerDemo } from './demo.js';
import { registerExport } from './export.js';
import { registerImport } from './import.js';
import { registerJobs } from './jobs.js';
import { registerModelCommands } from './model.js';
import { USAGE_ERROR } from './options.js';
import { registerPredict } from './predict.js';
import { registerServe } from './serve.js';
import { registerSubmit } from './submit.js';
import { registerSynth } from './synth.js';
import { registerTest } from './test-command.js';
import { registerTrain } from './train.js';
import { registerWorker } from './worker.js';

/** The package's version, found by walking up from this file (src/cli or dist/src/cli). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pyramidflow' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export function createProgram(ctx: CliContext): Command {
  const program = new Command('pyramidflow');
  // Output settings and exitOverride are inherited by the commands added after them.
  program
    .description('PyramidFlow defect localisation: train on good images, find and outline defects (CPU, no downloads)')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'show the stack trace of errors')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void ctx.stdout.write(text),
      writeErr: (text) => void ctx.stderr.write(text),
      outputError: (text, write) => write(`pyramidflow: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Start here:
  $ pyramidflow demo                  synthesise, train, test and open a report (about a minute)
  $ pyramidflow train --data ./mvtec --category carpet --out carpet.pflow
  $ pyramidflow test --model carpet.pflow --data ./mvtec --category carpet --report ./report
  $ pyramidflow predict --model carpet.pflow photo.png --out ./predictions`,
    );
  registerDemo(program, ctx);
  registerTrain(program, ctx);
  registerTest(program, ctx);
  registerPredict(program, ctx);
  registerModelCommands(program, ctx);
  registerSynth(program, ctx);
  registerServe(program, ctx);
  registerExport(program, ctx);
  registerImport(program, ctx);
  registerWorker(program, ctx);
  registerSubmit(program, ctx);
  registerJobs(program, ctx);
  registerApp(program, ctx);
  return program;
}

export interface ErrorOutcome {
  exitCode: number;
  /** What to print on stderr; empty when commander has printed it already. */
  text: string;
}

/** How a failure is shown: one line, and the stack only when debugging (or for a non-error value). */
export function describeError(err: unknown, debug: boolean): ErrorOutcome {
  if (err instanceof CommanderError) {
    // Commander printed its usage message (or the help/version) already.
    const done = err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
    return { exitCode: done ? 0 : 2, text: '' };
  }
  const stack = debug && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  if (err instanceof PyramidFlowError) {
    return { exitCode: err.code === USAGE_ERROR ? 2 : 1, text: `pyramidflow: ${err.message}${stack}\n` };
  }
  if (err instanceof Error) {
    const hint = debug ? '' : ' (rerun with --debug for details)';
    return { exitCode: 1, text: `pyramidflow: ${err.message}${hint}${stack}\n` };
  }
  return { exitCode: 1, text: `pyramidflow: ${String(err)}\n` };
}

/** Runs the command line (argv as in process.argv) and returns the exit code. */
export async function runCli(argv: string[], ctx: CliContext = defaultContext()): Promise<number> {
  const program = createProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    const debug = argv.includes('--debug');
    const outcome = describeError(err, debug);
    if (outcome.text) ctx.stderr.write(outcome.text);
    return outcome.exitCode;
  }
}
