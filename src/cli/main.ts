#!/usr/bin/env node
/** Entry of the `pyramidflow` command (bin/pyramidflow.js imports the compiled file). */
import { defaultContext } from './context.js';
import { runCli } from './program.js';

// A reader that went away (`pyramidflow --help | head`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

const ctx = defaultContext();
const code = await runCli(process.argv, ctx);
if (ctx.keepAlive) {
  process.exitCode = code; // the server keeps the process alive and exits on a signal
} else {
  // Flush piped output (asynchronous on some platforms), then exit without waiting for idle
  // worker threads or timers that a library may have left behind.
  await new Promise<void>((done) => process.stdout.write('', () => done()));
  await new Promise<void>((done) => process.stderr.write('', () => done()));
  process.exit(code);
}
