/** `pyramidflow serve`: the HTTP server, loaded on demand from src/server. */
import type { Command } from 'commander';
import type { CliContext, ServeLogLevel } from './context.js';
import { readConfigFile } from './config-file.js';
import { addOptions, commandOptions, definedOnly, usageError, type CliValues, type FileValues } from './options.js';

export type ServeCliOptions = CliValues;

export interface ServeSettings {
  modelSpecs: string[]; // FILE or NAME=FILE, parsed by the server
  port?: number;
  host?: string;
  threads?: number;
  maxQueue?: number;
  inferenceBatch?: number | 'auto'; // --batch: requests judged together, from those waiting
  tokenFile?: string; // the bearer token's file; else PYRAMIDFLOW_TOKEN; else none
  insecure?: boolean; // serve beyond loopback without a token
  logLevel?: ServeLogLevel;
  redis?: string; // a cluster's queues: the workers predict
  predictTimeout?: number; // seconds, with redis
}

export function toServeSettings(cli: ServeCliOptions, file?: FileValues): ServeSettings {
  if ((cli.model === undefined || (Array.isArray(cli.model) && cli.model.length === 0)) && file?.values.model === undefined) {
    throw usageError('give at least one --model FILE (or --model NAME=FILE)');
  }
  return commandOptions<ServeSettings>('serve', cli, file);
}

export function registerServe(program: Command, ctx: CliContext): void {
  const cmd = program.command('serve').description('serve models over HTTP: a page to drop images on and a JSON API');
  addOptions(cmd, 'serve')
    .addHelpText(
      'after',
      `
Without a token the server listens on loopback only (unless --insecure); with one (--token-file
FILE, or the PYRAMIDFLOW_TOKEN variable) every route but /healthz and the page needs
\`Authorization: Bearer <token>\`.

Examples:
  $ pyramidflow serve --model carpet=carpet.pflow --model tile=tile.pflow --port 8080
  $ pyramidflow serve --model carpet.pflow --host 0.0.0.0 --token-file /etc/pyramidflow/token --log-level warn
  $ pyramidflow serve --model /shared/models/carpet.pflow --redis redis://queue-host:6379   # workers predict`,
    )
    .action(async (cli: ServeCliOptions) => {
      const settings = toServeSettings(cli, await readConfigFile('serve', cli));
      const server = await ctx.loadServer();
      const { modelSpecs, tokenFile, ...rest } = settings;
      const token = await server.resolveToken({ tokenFile, env: ctx.env ?? process.env }); // before the (slow) model loads
      await server.startServer(definedOnly({ ...rest, token, models: modelSpecs.map((spec) => server.parseModelSpec(spec)) }));
      ctx.keepAlive = true; // the server closes itself on SIGINT/SIGTERM
    });
}
