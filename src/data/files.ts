import { readdirSync, statSync, type Dirent } from 'node:fs';
import { extname, join, parse } from 'node:path';
import { PyramidFlowError } from '../util/errors.js';
import { describeFsError } from './decode.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff'] as const;

export function isImageFile(name: string): boolean {
  return !name.startsWith('.') && (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Plain code-unit order, like Python's sorted(): the same on every machine and locale. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function entries(dir: string, what: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new PyramidFlowError(`Cannot read ${what} "${dir}": ${describeFsError(err)}.`);
  }
}

/** Image files directly in `dir` (full paths), sorted by name. */
export function listImageFiles(dir: string, what = 'folder'): string[] {
  return entries(dir, what)
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && isImageFile(e.name))
    .map((e) => e.name)
    .sort(byName)
    .map((name) => join(dir, name));
}

/** Sub-folder names of `dir` (hidden ones skipped), sorted. */
export function listSubdirectories(dir: string, what = 'folder'): string[] {
  return entries(dir, what)
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDirectory(join(dir, e.name)))))
    .map((e) => e.name)
    .sort(byName);
}

export function stemOf(path: string): string {
  return parse(path).name;
}

/** The first existing `dir/<stem><suffix><ext>` over the image extensions (either case), or null. */
export function findImageByStem(dir: string, stem: string, suffix = ''): string | null {
  for (const ext of IMAGE_EXTENSIONS) {
    for (const candidate of [ext, ext.toUpperCase()]) {
      const path = join(dir, `${stem}${suffix}${candidate}`);
      if (isFile(path)) return path;
    }
  }
  return null;
}
