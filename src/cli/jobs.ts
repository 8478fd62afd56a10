/** `pyramidflow jobs`: the training jobs in the Redis queue; `--cancel ID`, `--retry ID` (src/cluster/jobs.ts). */
import type { Command } from 'commander';
import type { JobRow } from '../cluster/jobs.js';
import type { CliContext } from './context.js';
import { formatDuration, formatNumber, formatTable, jsonLine } from './format.js';
import { addOptions, commandValues, usageError, type CliValues } from './options.js';

/** A job's progress or outcome in a few words. */
export function jobStatusText(row: JobRow): string {
  if (row.result) {
    const r = row.result;
    return `generation ${r.generation} in ${formatDuration(r.seconds)}, ${r.steps} steps, loss ${formatNumber(r.finalLoss ?? undefined)}${r.runs > 1 ? `, ${r.runs} runs` : ''}`;
  }
  if (row.failedReason) return row.failedReason;
  const p = row.progress;
  const cancel = row.cancelRequested ? ' (cancel requested)' : '';
  if (!p) return `${row.runs.length > 0 ? 'starting' : 'queued'}${cancel}`;
  if (p.stage === 'publishing') return `storing the model${cancel}`;
  const left = p.secondsLeft !== undefined ? `, ${formatDuration(p.secondsLeft)} left` : '';
  return `epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.stepsPerEpoch}, loss ${formatNumber(p.loss)}${left}${cancel}`;
}

/** The table of jobs. */
export function formatJobs(rows: JobRow[]): string {
  if (rows.length === 0) return 'no training jobs';
  return formatTable(
    ['id', 'category', 'state', 'kernels', 'progress / result'],
    rows.map((r) => [r.id, r.category, r.state, [...new Set(r.runs.map((run) => run.kernels))].join(' + ') || '-', jobStatusText(r)]),
    ['left', 'left', 'left', 'left', 'left'],
  );
}

export function registerJobs(program: Command, ctx: CliContext): void {
  const cmd = program.command('jobs').description('list the training jobs in the Redis queue (state, progress, result); cancel or retry one');
  addOptions(cmd, 'jobs')
    .addHelpText(
      'after',
      `
Examples:
  $ pyramidflow jobs --redis redis://queue-host:6379
  $ pyramidflow jobs --redis redis://queue-host:6379 --cancel 12
  $ pyramidflow jobs --redis redis://queue-host:6379 --retry 12`,
    )
    .action(async (cli: CliValues) => {
      const v = commandValues('jobs', cli);
      const conn = { redis: v.redis as string };
      const jobs = await import('../cluster/jobs.js');
      if (v.cancel !== undefined && v.retry !== undefined) throw usageError('give --cancel or --retry, not both');
      if (v.cancel !== undefined) {
        const state = await jobs.cancelJob({ ...conn, id: v.cancel as string });
        ctx.stdout.write(
          `job ${v.cancel as string} (${state}): cancel requested; ${state === 'active' ? 'it stops after its current step' : 'it fails as cancelled when a worker takes it'}\n`,
        );
        return;
      }
      if (v.retry !== undefined) {
        await jobs.retryJob({ ...conn, id: v.retry as string });
        ctx.stdout.write(`job ${v.retry as string}: queued again\n`);
        return;
      }
      const rows = await jobs.listJobs({ ...conn, limit: v.limit as number | undefined });
      if (cli.json === true) for (const row of rows) ctx.stdout.write(jsonLine(row));
      else ctx.stdout.write(`${formatJobs(rows)}\n`);
    });
}
