/**
 * The good images of a training, from a folder picker (`<input webkitdirectory>`) or a drop of a
 * folder or files: every file found (sub-folders included, named by their path in the folder),
 * each read by the engine, then checked as a whole. Fails closed: an unreadable file, images of
 * different sizes or too few images are problems named file by file, and the folder is not used.
 */
import type { BrowserEngine, DecodedImageInfo, NamedImage } from '../src/browser/types.js';

/** The fewest good images a training takes: a batch of 2 to train on and one held out for the thresholds. */
export const MIN_GOOD_IMAGES = 3;

/** Files a folder may hold that are no images and no mistake (system files): skipped without a word. */
const SYSTEM_FILE = /^(\..*|thumbs\.db|desktop\.ini)$/i;

/** A good-image folder that passed every check. */
export interface GoodImages {
  /** The folder's name (the training's name). */
  folder: string;
  /** The images, named by their path in the folder. */
  images: NamedImage[];
  /** Their common width. */
  width: number;
  /** Their common height. */
  height: number;
}

/** The result of checking a folder: the images, or the problems that refuse it. */
export type FolderCheck = { ok: true; value: GoodImages } | { ok: false; problems: string[] };

/** The files of an `<input type=file webkitdirectory>`, named by their path below the chosen folder. */
export function filesOfInput(list: FileList): { folder: string; files: NamedImage[] } {
  const files: NamedImage[] = [];
  let folder = '';
  for (const file of Array.from(list)) {
    const path = file.webkitRelativePath || file.name;
    const parts = path.split('/');
    if (parts.length > 1) folder ||= parts[0]!;
    files.push({ name: parts.length > 1 ? parts.slice(1).join('/') : path, data: file });
  }
  return { folder: folder || 'images', files };
}

/** Reads a directory entry to its end (readEntries gives at most 100 at a time). */
async function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

/** The files below an entry, named by their path below `base`. */
async function walk(entry: FileSystemEntry, base: string, out: NamedImage[]): Promise<void> {
  const rel = entry.fullPath.replace(/^\//, '').slice(base.length);
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ name: rel || file.name, data: file });
  } else if (entry.isDirectory) {
    for (const child of await readAll(entry as FileSystemDirectoryEntry)) await walk(child, base, out);
  }
}

/** The files of a drop: one dropped folder (its files, named below it), or loose files. */
export async function filesOfDrop(transfer: DataTransfer): Promise<{ folder: string; files: NamedImage[] }> {
  const entries = Array.from(transfer.items)
    .map((item) => (item.kind === 'file' ? item.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return { folder: 'images', files: Array.from(transfer.files).map((f) => ({ name: f.name, data: f })) };
  const files: NamedImage[] = [];
  const single = entries.length === 1 && entries[0]!.isDirectory ? entries[0]! : undefined;
  for (const entry of entries) await walk(entry, single ? `${single.fullPath.replace(/^\//, '')}/` : '', files);
  return { folder: single?.name ?? 'images', files };
}

/** A problem's text: the file's name first, unless the engine's message already names it. */
export function aboutFile(name: string, message: string): string {
  return message.includes(name) ? message : `${name}: ${message}`;
}

/** Lists a few names and how many more. */
export function someNames(names: string[], most = 3): string {
  return names.length <= most ? names.join(', ') : `${names.slice(0, most).join(', ')} and ${names.length - most} more`;
}

/**
 * Reads every file's header with the engine and checks the folder: every file a readable image,
 * all of one size, at least MIN_GOOD_IMAGES. `onRead` counts the files read.
 */
export async function checkFolder(
  engine: BrowserEngine,
  folder: string,
  candidates: NamedImage[],
  onRead?: (done: number, total: number) => void,
): Promise<FolderCheck> {
  const files = candidates.filter((f) => !SYSTEM_FILE.test(f.name.split('/').pop() ?? f.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  const problems: string[] = [];
  const infos: DecodedImageInfo[] = [];
  let done = 0;
  for (const file of files) {
    try {
      infos.push(await engine.decode(file));
    } catch (err) {
      problems.push(aboutFile(file.name, (err as Error).message));
    }
    onRead?.(++done, files.length);
  }
  if (problems.length > 0) return { ok: false, problems };
  const bySize = new Map<string, string[]>();
  for (const info of infos) {
    const key = `${info.width}x${info.height}`;
    bySize.set(key, [...(bySize.get(key) ?? []), info.name]);
  }
  if (bySize.size > 1) {
    const groups = [...bySize.entries()].sort((a, b) => b[1].length - a[1].length);
    const parts = groups.map(([size, names]) => `${names.length} ${names.length === 1 ? 'is' : 'are'} ${size} (${someNames(names)})`);
    return { ok: false, problems: [`The images of "${folder}" are not all one size: ${parts.join('; ')}. Training needs images of one size.`] };
  }
  if (infos.length < MIN_GOOD_IMAGES) {
    const what = infos.length === 0 ? 'no images' : `only ${infos.length} image${infos.length === 1 ? '' : 's'}`;
    return { ok: false, problems: [`"${folder}" holds ${what}; training needs at least ${MIN_GOOD_IMAGES} good images (better 20 to 200).`] };
  }
  return { ok: true, value: { folder, images: files, width: infos[0]!.width, height: infos[0]!.height } };
}
