/**
 * Files the program writes: atomically (readers see the old content or the new, never a torn
 * file), with temporary files that a later run can recognise and clean up, and errors that name
 * the file.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { dirname, basename, join } from 'node:path';
import { PyramidFlowError } from './errors.js';

/** The file-system calls used here, replaceable by tests (to inject ENOSPC and the like). */
export const fileSystem = {
  writeFileSync: fs.writeFileSync,
  renameSync: fs.renameSync,
};

/** Host names may hold dots; the temporary name keeps one word of it. */
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-') || 'host';
const DAY_MS = 24 * 3600 * 1000;

/** `.NAME.HOST.PID.TIME.tmp` beside the target: who wrote it, so stale ones can be removed safely. */
function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${HOST}.${process.pid}.${Date.now()}.tmp`);
}

/** A one-line reason for a failed write, naming the file. */
export function writeError(path: string, err: unknown): PyramidFlowError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOSPC'
      ? 'the disk is full'
      : code === 'EDQUOT'
        ? 'the disk quota is exhausted'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a folder'
            : code === 'EROFS'
              ? 'the file system is read-only'
              : code === 'ENOENT'
                ? 'its folder does not exist'
                : err instanceof Error
                  ? err.message.split('\n')[0]!
                  : String(err);
  return new PyramidFlowError(`cannot write ${path}: ${why}`, 'E_WRITE');
}

/**
 * Writes a file so that readers see either the old content or the new, never a torn file:
 * write to a temporary file beside it, fsync, then rename over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = temporaryName(path);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fileSystem.writeFileSync(tmp, data);
    const fd = fs.openSync(tmp, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fileSystem.renameSync(tmp, path);
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* the temporary file may not exist */
    }
    throw writeError(path, err);
  }
}

/**
 * Removes temporary files that an interrupted write of `path` left behind: those this host
 * wrote whose process is gone, and any older than a day (another host's, on a shared store).
 * Returns the names removed.
 */
export function removeStaleTemporaries(path: string, now = Date.now()): string[] {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const parts = name.slice(prefix.length, -'.tmp'.length).split('.');
    // Today's names are HOST.PID.TIME; older ones were PID.TIME (this host's, by then).
    const [host, pid, time] = parts.length === 3 ? parts : [HOST, parts[0], parts[1]];
    const full = join(dir, name);
    let stale = Number(time) > 0 && now - Number(time) > DAY_MS;
    if (!stale && host === HOST && Number.isInteger(Number(pid))) stale = !processAlive(Number(pid));
    if (!stale) continue;
    try {
      fs.unlinkSync(full);
      removed.push(full);
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}
