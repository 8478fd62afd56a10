/**
 * The project's shared folder (reference vectors, real data): `../shared` beside this checkout,
 * or, for a clone made elsewhere (e.g. `git clone -q . "$(mktemp -d)"`), beside the local
 * repository it was cloned from. Tests that need it name the path they looked at when absent.
 */
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { isAbsolute, join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');

function originShared(): string | null {
  try {
    const url = execFileSync('git', ['-C', repoRoot, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const local = url.startsWith('file://') ? url.slice('file://'.length) : url;
    if (!isAbsolute(local)) return null; // a remote URL, or a path git would resolve elsewhere
    const dir = join(local.replace(/\/\.git\/?$/, ''), '..', 'shared');
    return existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

/** The shared folder, or `../shared` beside the checkout when it is nowhere (for messages). */
export const sharedDir: string = (() => {
  const beside = join(repoRoot, '..', 'shared');
  return existsSync(beside) ? beside : (originShared() ?? beside);
})();
