/** Shared by the cluster tests: worker processes spawned from source, and waiting on jobs. */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Job, Queue } from 'bullmq';

/** A `pyramidflow worker` process and what it has logged. */
export interface WorkerProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  log(): string;
  /** Resolves when the log matches (rejects after `timeoutMs`, or when the process ends first). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL, resolved when it is gone. */
  kill(): Promise<void>;
}

/** Starts `pyramidflow worker ARGS` from source (as test/cli/child-process.test.ts runs the CLI). */
export function spawnWorker(args: string[], env: NodeJS.ProcessEnv = process.env): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const listeners = new Set<() => void>();
  const add = (chunk: Buffer): void => {
    text += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  let ended = false;
  child.once('exit', () => {
    ended = true;
    for (const l of listeners) l();
  });
  return {
    child,
    log: () => text,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(text);
          if (m) done(() => resolve(m));
          else if (ended) done(() => reject(new Error(`the worker ended before ${pattern}; its log:\n${text}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; the worker's log:\n${text}`))), timeoutMs);
        const done = (fn: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        listeners.add(check);
        check();
      });
    },
    kill() {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}

/** Waits until a job is completed or failed; returns it with its final state. */
export async function waitForJob(queue: Queue, id: string, timeoutMs = 60_000): Promise<{ job: Job; state: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await queue.getJob(id)) as Job | undefined;
    const state = job ? await job.getState() : 'missing';
    // Read again once finished: the job read before may predate its result.
    if (job && (state === 'completed' || state === 'failed')) return { job: (await queue.getJob(id)) as Job, state };
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
