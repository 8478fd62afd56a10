/** `pyramidflow worker`: takes jobs from the BullMQ queues (src/cluster/worker.ts) until stopped. */
import type { Command } from 'commander';
import type { QueueKind } from '../cluster/connection.js';
import type { RunningWorker } from '../cluster/worker.js';
import { readConfigFile } from './config-file.js';
import type { CliContext } from './context.js';
import { addOptions, commandValues, type CliValues } from './options.js';

export function registerWorker(program: Command, ctx: CliContext): void {
  const cmd = program.command('worker').description('run training (and prediction) jobs from Redis queues; start any number, on any number of machines');
  addOptions(cmd, 'worker')
    .addHelpText(
      'after',
      `
Jobs' data paths are relative to --data-root; models go to --store, a folder the workers share.
A worker stopped (Ctrl-C, SIGTERM) or killed leaves its training job to another worker, which
resumes it from its last checkpoint in the store once the job's lock has expired.

Examples:
  $ pyramidflow worker --redis redis://queue-host:6379 --data-root /mnt/data --store /mnt/models
  $ PYRAMIDFLOW_REDIS_PASSWORD=... pyramidflow worker --redis rediss://queue-host:6380 --queues train --threads 8
  $ pyramidflow worker --config /etc/pyramidflow/worker.yaml      (keys: redis, data-root, store, ...)`,
    )
    .action(async (cli: CliValues) => {
      const v = commandValues('worker', cli, await readConfigFile('worker', cli));
      const { startWorker } = await import('../cluster/worker.js');
      // Signals are handled from the start (the ready line may be read before startWorker returns).
      // A running training job is not waited for: it stalls, and another worker resumes it.
      let worker: RunningWorker | undefined;
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        ctx.stderr.write(`worker: ${signal}, stopping\n`);
        if (worker) void worker.close(true).finally(() => process.exit(0));
        else process.exit(0); // still connecting: nothing runs yet
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      worker = await startWorker({
        redis: v.redis as string,
        ...(v.queues !== undefined ? { queues: v.queues as QueueKind[] } : {}),
        ...(v.concurrency !== undefined ? { concurrency: v.concurrency as number } : {}),
        ...(v.threads !== undefined ? { threads: v.threads as number } : {}),
        ...(v.dataRoot !== undefined ? { dataRoot: v.dataRoot as string } : {}),
        ...(v.store !== undefined ? { store: v.store as string } : {}),
        ...(v.lockDuration !== undefined ? { lockDuration: v.lockDuration as number | 'auto' } : {}),
        ...(v.stalledInterval !== undefined ? { stalledInterval: v.stalledInterval as number } : {}),
        log: (line) => void ctx.stderr.write(`${line}\n`),
      });
      ctx.keepAlive = true;
    });
}
