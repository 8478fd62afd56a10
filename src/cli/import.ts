/** `pyramidflow import`: a checkpoint of the official PyTorch code to a model file, through api/import. */
import type { Command } from 'commander';
import type { ImportOptions, ImportSummary } from '../api/import.js';
import type { CliContext } from './context.js';
import { formatNumber, jsonLine } from './format.js';
import { addOptions, commandOptions, type CliValues } from './options.js';

export function toImportOptions(cli: CliValues): ImportOptions {
  return commandOptions<ImportOptions>('import', cli);
}

export function formatImportSummary(s: ImportSummary): string {
  const c = s.config;
  return [
    `model written to ${s.out} from ${s.checkpoint} (${s.format}${s.entry ? `, ${s.entry}` : ''})`,
    `  network     ${c.width}x${c.height}, ${c.levels} levels, ${c.stacks} stacks, ${c.channels} channels, kernel ${c.kernel}, ${c.volumeNorm}`,
    `  template    mean latents of ${s.templateImages} good images`,
    `  thresholds  image ${formatNumber(s.thresholds.image)}, pixel ${formatNumber(s.thresholds.pixel)} (set from ${s.thresholds.images} good images, ${s.thresholds.source})`,
  ].join('\n');
}

export function registerImport(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('import')
    .description("read a checkpoint of the official PyTorch code (its train.py's .npz, torch.save, safetensors) into a model file");
  addOptions(cmd, 'import')
    .addHelpText(
      'after',
      `
Examples:
  $ pyramidflow import --checkpoint saveDir/tile.npz --size 256 --good ./mvtec/tile/train/good --out tile.pflow
  $ pyramidflow import --checkpoint state.pt --size 256 --volume-norm svn --good ./good --out model.pflow

Only models of the official code's --encoder none (resnetX 0) have this program's network.
Pickled checkpoints may only name the constructors of a state dict of tensors: any other
Python global is refused, nothing in the file is run.`,
    )
    .action(async (cli: CliValues) => {
      const { importCheckpoint } = await import('../api/import.js');
      const summary = await importCheckpoint(toImportOptions(cli));
      ctx.stdout.write(cli.json === true ? jsonLine(summary) : `${formatImportSummary(summary)}\n`);
    });
}
