/**
 * Dataset discovery: MVTec AD layout, BTAD layout and a plain-folder layout. Only file lists
 * are built here; pixels are read later (loader.ts, image.ts).
 */
import { basename, resolve } from 'node:path';
import { PyramidFlowError } from '../util/errors.js';
import { openFolderDataset } from './dataset-folder.js';
import { categoryDirs, openStructuredCategory, type StructuredLayout } from './dataset-structured.js';
import { isDirectory, listSubdirectories } from './files.js';
import { readImageHeaderFromFile } from './image-header.js';
import type { Dataset, DatasetFormat, OpenDatasetOptions } from './dataset-types.js';

export type { DatasetFormat, Sample, Dataset, OpenDatasetOptions, FolderLayoutOptions } from './dataset-types.js';
export { DEFAULT_NORMAL_SPLIT_RATIO } from './dataset-types.js';
export { splitNormalImages } from './dataset-folder.js';

/** The folder layout's options, by the flag that gives them (for messages). */
const FOLDER_OPTIONS = {
  normalDir: 'normal-dir',
  normalTestDir: 'normal-test-dir',
  abnormalDir: 'abnormal-dir',
  maskDir: 'mask-dir',
  normalSplitRatio: 'normal-split-ratio',
} as const;

export const MVTEC: StructuredLayout = { format: 'mvtec', goodName: 'good', maskSuffix: '_mask' };
export const BTAD: StructuredLayout = { format: 'btad', goodName: 'ok', maskSuffix: '' };

function layoutOf(format: 'mvtec' | 'btad'): StructuredLayout {
  return format === 'mvtec' ? MVTEC : BTAD;
}

function requireFolder(root: string): void {
  if (!isDirectory(root)) throw new PyramidFlowError(`Dataset folder "${root}" does not exist or is not a folder.`);
}

/** True when `dir` is itself one category (has train/<good name>). */
function isCategoryFolder(dir: string, layout: StructuredLayout): boolean {
  return isDirectory(resolve(dir, 'train', layout.goodName));
}

/**
 * 'mvtec' when the folder (or a sub-folder) has train/good, 'btad' for train/ok, else 'folder'.
 */
export function detectFormat(root: string): DatasetFormat {
  requireFolder(root);
  for (const layout of [MVTEC, BTAD]) {
    if (isCategoryFolder(root, layout)) return layout.format as DatasetFormat;
  }
  const subdirs = listSubdirectories(root, 'dataset folder');
  for (const layout of [MVTEC, BTAD]) {
    if (subdirs.some((name) => isCategoryFolder(resolve(root, name), layout))) return layout.format as DatasetFormat;
  }
  return 'folder';
}

export function listCategories(root: string, format?: DatasetFormat): string[] {
  requireFolder(root);
  const chosen = format ?? detectFormat(root);
  if (chosen === 'folder') return [basename(resolve(root))];
  const layout = layoutOf(chosen);
  if (isCategoryFolder(root, layout)) return [basename(resolve(root))];
  return categoryDirs(root, layout);
}

export async function openDataset(opts: OpenDatasetOptions): Promise<Dataset> {
  const root = resolve(opts.data);
  requireFolder(root);
  const format = opts.format ?? detectFormat(root);
  if (format === 'folder') return openFolderDataset(root, opts);
  const given = Object.entries(FOLDER_OPTIONS)
    .filter(([name]) => opts[name as keyof typeof FOLDER_OPTIONS] !== undefined)
    .map(([, flag]) => `--${flag}`);
  if (given.length > 0) {
    throw new PyramidFlowError(
      `${given.join(', ')} ${given.length > 1 ? 'apply' : 'applies'} to the folder layout only; "${root}" is in the ${format} layout (use --format folder to read it as plain folders).`,
      'E_USAGE',
    );
  }
  const layout = layoutOf(format);
  const { datasetRoot, category, categoryDir } = resolveCategory(root, layout, opts.category);
  const { train, test } = openStructuredCategory(categoryDir, layout);
  return { format, root: datasetRoot, category, train, test };
}

function resolveCategory(
  root: string,
  layout: StructuredLayout,
  requested: string | undefined,
): { datasetRoot: string; category: string; categoryDir: string } {
  const expected = `<category>/train/${layout.goodName}`;
  if (isCategoryFolder(root, layout)) {
    const own = basename(root);
    if (requested === undefined || requested === own) return { datasetRoot: resolve(root, '..'), category: own, categoryDir: root };
    if (!isCategoryFolder(resolve(root, requested), layout)) {
      throw new PyramidFlowError(`"${root}" is itself the ${layout.format} category "${own}"; category "${requested}" is not there.`);
    }
  }
  const categories = categoryDirs(root, layout);
  if (requested !== undefined) {
    if (!categories.includes(requested)) {
      const found = categories.length > 0 ? `categories found: ${categories.join(', ')}` : `no categories found (expected ${expected})`;
      throw new PyramidFlowError(`Category "${requested}" does not exist in "${root}" (${layout.format} layout); ${found}.`);
    }
    return { datasetRoot: root, category: requested, categoryDir: resolve(root, requested) };
  }
  if (categories.length === 1) return { datasetRoot: root, category: categories[0]!, categoryDir: resolve(root, categories[0]!) };
  if (categories.length === 0) {
    throw new PyramidFlowError(`No ${layout.format} categories in "${root}" (expected ${expected}).`);
  }
  throw new PyramidFlowError(`"${root}" holds several categories (${categories.join(', ')}); choose one with the category option.`);
}

/** Throws, naming both files, when a mask's size differs from its image's. Reads headers only. */
export async function checkMaskSizes(dataset: Dataset, concurrency = 8): Promise<void> {
  const pairs = dataset.test.filter((s) => s.maskPath !== null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pairs.length) {
      const sample = pairs[next++]!;
      const [image, mask] = await Promise.all([readImageHeaderFromFile(sample.path), readImageHeaderFromFile(sample.maskPath!)]);
      if (image.width !== mask.width || image.height !== mask.height) {
        throw new PyramidFlowError(
          `Mask "${sample.maskPath}" is ${mask.width} x ${mask.height} but its image "${sample.path}" is ${image.width} x ${image.height}.`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, pairs.length)) }, worker));
}
