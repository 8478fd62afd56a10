/** `pyramidflow serve`: the HTTP server, loaded on demand from src/server. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { collect, definedOnly, parseInteger, usageError } from './options.js';

export interface ServeCliOptions {
  model?: string[];
  port?: string;
  host?: string;
  threads?: string;
  maxQueue?: string;
}

export interface ServeSettings {
  modelSpecs: string[]; // FILE or NAME=FILE, parsed by the server
  port?: number;
  host?: string;
  threads?: number;
  maxQueue?: number;
}

export function toServeSettings(cli: ServeCliOptions): ServeSettings {
  const modelSpecs = cli.model ?? [];
  if (modelSpecs.length === 0) throw usageError('give at least one --model FILE (or --model NAME=FILE)');
  return definedOnly<ServeSettings>({
    modelSpecs,
    port: parseInteger('--port', cli.port, { min: 0, max: 65535 }),
    host: cli.host,
    threads: parseInteger('--threads', cli.threads, { min: 1 }),
    maxQueue: parseInteger('--max-queue', cli.maxQueue, { min: 0 }),
  });
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve models over HTTP: a page to drop images on and a JSON API')
    .option('--model <file|name=file>', 'model to serve (repeatable)', collect)
    .option('--port <n>', 'port (default 8080; 0 picks a free one)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--threads <n>', 'kernel threads per model (default: all cores)')
    .option('--max-queue <n>', 'requests waiting before new ones get 503 (default 16)')
    .addHelpText('after', '\nExample:\n  $ pyramidflow serve --model carpet=carpet.pflow --model tile=tile.pflow --port 8080')
    .action(async (cli: ServeCliOptions) => {
      const settings = toServeSettings(cli);
      const server = await ctx.loadServer();
      const { modelSpecs, ...rest } = settings;
      await server.startServer({ ...rest, models: modelSpecs.map((spec) => server.parseModelSpec(spec)) });
      ctx.keepAlive = true; // the server closes itself on SIGINT/SIGTERM
    });
}
