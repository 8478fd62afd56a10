/**
 * Cancelling a job across machines. BullMQ aborts a processor only in the worker that runs it
 * (Worker.cancelJob), so `jobs --cancel` sets a flag in Redis instead, which the running job reads
 * about once a second (between training steps) and a job not yet started reads when it starts.
 */
import type { Redis } from 'ioredis';

/** The error code of a job ended by `jobs --cancel`. */
export const CANCELLED = 'E_CANCELLED';

/** How long a cancel flag lives (a week): long enough for a job that waits in the queue. */
const CANCEL_TTL_SECONDS = 7 * 24 * 3600;

/** The Redis key of a job's cancel flag. */
export function cancelKey(queueName: string, jobId: string): string {
  return `pyramidflow:cancel:${queueName}:${jobId}`;
}

/** Asks the job to stop. */
export async function requestCancel(client: Redis, queueName: string, jobId: string): Promise<void> {
  await client.set(cancelKey(queueName, jobId), new Date().toISOString(), 'EX', CANCEL_TTL_SECONDS);
}

/** Withdraws the request (a retried job runs again). */
export async function clearCancel(client: Redis, queueName: string, jobId: string): Promise<void> {
  await client.del(cancelKey(queueName, jobId));
}

/** Whether the job was asked to stop. */
export async function cancelRequested(client: Redis, queueName: string, jobId: string): Promise<boolean> {
  return (await client.exists(cancelKey(queueName, jobId))) === 1;
}
