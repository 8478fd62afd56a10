/** `pyramidflow serve`: the HTTP server, loaded on demand from src/server. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { readConfigFile } from './config-file.js';
import { addOptions, commandOptions, usageError, type CliValues, type FileValues } from './options.js';

export type ServeCliOptions = CliValues;

export interface ServeSettings {
  modelSpecs: string[]; // FILE or NAME=FILE, parsed by the server
  port?: number;
  host?: string;
  threads?: number;
  maxQueue?: number;
}

export function toServeSettings(cli: ServeCliOptions, file?: FileValues): ServeSettings {
  if ((cli.model === undefined || (Array.isArray(cli.model) && cli.model.length === 0)) && file?.values.model === undefined) {
    throw usageError('give at least one --model FILE (or --model NAME=FILE)');
  }
  return commandOptions<ServeSettings>('serve', cli, file);
}

export function registerServe(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('serve')
    .description('serve models over HTTP: a page to drop images on and a JSON API');
  addOptions(cmd, 'serve')
    .addHelpText('after', '\nExample:\n  $ pyramidflow serve --model carpet=carpet.pflow --model tile=tile.pflow --port 8080')
    .action(async (cli: ServeCliOptions) => {
      const settings = toServeSettings(cli, await readConfigFile('serve', cli));
      const server = await ctx.loadServer();
      const { modelSpecs, ...rest } = settings;
      await server.startServer({ ...rest, models: modelSpecs.map((spec) => server.parseModelSpec(spec)) });
      ctx.keepAlive = true; // the server closes itself on SIGINT/SIGTERM
    });
}
