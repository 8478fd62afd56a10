/**
 * The plain-folder layout (in the spirit of anomalib's Folder dataset).
 *
 * Either `data` holds the normal images directly: train = those images, no test set.
 * Or `data` is a root with named sub-folders (names can be changed, or given as absolute paths):
 *   <data>/good/         normal images -> train                      (normalDir)
 *   <data>/defect/       defect images -> test, type 'defect'        (abnormalDir, optional)
 *      or defect/<type>/ one sub-folder per defect type
 *   <data>/mask/         masks, same stem as the defect image, optionally with '_mask'
 *      or mask/<type>/   (maskDir, optional: without it, defects have no mask: image labels only)
 *   normalTestDir        normal images to test on (optional, no default)
 * Once a mask folder exists, every defect image needs a mask there.
 *
 * Without a normal test folder, a share of the normal images (normalSplitRatio, default 0.2, as
 * anomalib's normal_split_ratio) is kept out of training and tested on, so that image AUROC and the
 * false alarms on good images can be measured. The split is made here, from the file names alone,
 * so that `train` and `test` (each opening the data set) see the same one.
 */
import { basename, join, resolve } from 'node:path';
import { PyramidFlowError } from '../util/errors.js';
import { DEFAULT_NORMAL_SPLIT_RATIO, type Dataset, type OpenDatasetOptions, type Sample } from './dataset-types.js';
import { findImageByStem, isDirectory, listImageFiles, listSubdirectories, stemOf } from './files.js';

const DEFAULT_NORMAL = 'good';
const DEFAULT_ABNORMAL = 'defect';
const DEFAULT_MASK = 'mask';

/** A 32-bit hash of a text (FNV-1a, then murmur3's finaliser so that names differing in one character spread). */
function nameHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Splits normal images into training and test images: round(ratio x n) of them go to test (at
 * least one when ratio > 0, never all). Which ones depends only on the file names (a hash of each
 * name, ties by name), not on the order, the folder's place or a random seed: every call picks
 * the same images, a larger ratio picks a superset, and adding images leaves the order of the
 * others as it was. Both lists keep the given (sorted) order.
 */
export function splitNormalImages(files: readonly string[], ratio: number): { train: string[]; test: string[] } {
  if (!(ratio >= 0 && ratio < 1)) {
    throw new PyramidFlowError(`The normal split ratio must be at least 0 and below 1 (got ${ratio}).`, 'E_USAGE');
  }
  if (ratio === 0 || files.length < 2) return { train: [...files], test: [] };
  const count = Math.min(files.length - 1, Math.max(1, Math.round(ratio * files.length)));
  const ranked = files
    .map((file) => ({ file, name: basename(file), hash: nameHash(basename(file)) }))
    .sort((a, b) => a.hash - b.hash || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const test = new Set(ranked.slice(0, count).map((r) => r.file));
  return { train: files.filter((f) => !test.has(f)), test: files.filter((f) => test.has(f)) };
}

export function openFolderDataset(root: string, opts: OpenDatasetOptions): Dataset {
  const category = opts.category ?? basename(root);
  const structured = opts.normalDir !== undefined || isDirectory(join(root, DEFAULT_NORMAL));
  if (!structured) {
    const train = listImageFiles(root, 'data folder');
    if (train.length === 0) {
      throw new PyramidFlowError(
        `Data folder "${root}" has no images and no "${DEFAULT_NORMAL}" sub-folder (folder layout: put normal images in it directly, or in ${DEFAULT_NORMAL}/).`,
      );
    }
    return { format: 'folder', root, category, train, test: [] };
  }

  const normalDir = resolve(root, opts.normalDir ?? DEFAULT_NORMAL);
  if (!isDirectory(normalDir)) throw new PyramidFlowError(`Normal-image folder "${normalDir}" does not exist.`);
  const normal = listImageFiles(normalDir, 'normal-image folder');
  if (normal.length === 0) throw new PyramidFlowError(`Normal-image folder "${normalDir}" has no images.`);

  const test: Sample[] = [];
  let train = normal;
  if (opts.normalTestDir !== undefined) {
    const dir = resolve(root, opts.normalTestDir);
    if (!isDirectory(dir)) throw new PyramidFlowError(`Normal test folder "${dir}" does not exist.`);
    for (const path of listImageFiles(dir, 'normal test folder')) test.push({ path, type: 'good', label: 0, maskPath: null });
  } else {
    const split = splitNormalImages(normal, opts.normalSplitRatio ?? DEFAULT_NORMAL_SPLIT_RATIO);
    train = split.train;
    for (const path of split.test) test.push({ path, type: 'good', label: 0, maskPath: null });
  }

  const abnormalDir = optionalFolder(root, opts.abnormalDir, DEFAULT_ABNORMAL, 'Defect-image folder');
  if (abnormalDir === null) return { format: 'folder', root, category, train, test };
  const maskDir = optionalFolder(root, opts.maskDir, DEFAULT_MASK, 'Mask folder');

  const groups: { type: string; dir: string }[] = [];
  if (listImageFiles(abnormalDir).length > 0) groups.push({ type: basename(abnormalDir), dir: abnormalDir });
  for (const sub of listSubdirectories(abnormalDir)) groups.push({ type: sub, dir: join(abnormalDir, sub) });
  for (const { type, dir } of groups) {
    for (const path of listImageFiles(dir, 'defect-image folder')) {
      test.push({ path, type, label: 1, maskPath: maskDir === null ? null : findMask(maskDir, dir === abnormalDir ? null : type, path) });
    }
  }
  return { format: 'folder', root, category, train, test };
}

/** An explicitly named folder must exist; a default one is used only if present. */
function optionalFolder(root: string, given: string | undefined, fallback: string, what: string): string | null {
  const dir = resolve(root, given ?? fallback);
  if (isDirectory(dir)) return dir;
  if (given !== undefined) throw new PyramidFlowError(`${what} "${dir}" does not exist.`);
  return null;
}

function findMask(maskDir: string, type: string | null, imagePath: string): string {
  const stem = stemOf(imagePath);
  const dirs = type === null ? [maskDir] : [join(maskDir, type), maskDir];
  for (const dir of dirs) {
    const found = findImageByStem(dir, stem) ?? findImageByStem(dir, stem, '_mask');
    if (found !== null) return found;
  }
  throw new PyramidFlowError(`Defect image "${imagePath}" has no mask in "${dirs[0]}" (expected ${stem}.png or ${stem}_mask.png).`);
}
