/**
 * The MVTec AD and BTAD layouts: one folder per category with train/, test/ and ground_truth/.
 *   MVTec: train/good, test/<type>/x.png, ground_truth/<type>/x_mask.png (none for 'good').
 *   BTAD:  train/ok, test/ok, test/ko, ground_truth/ko/x.png or x.bmp ('ok' becomes 'good').
 * Masks are found from the path structure (category / ground_truth / type / stem + suffix).
 */
import { join, resolve } from 'node:path';
import { PyramidFlowError } from '../util/errors.js';
import type { Sample } from './dataset-types.js';
import { findImageByStem, isDirectory, listImageFiles, listSubdirectories, stemOf } from './files.js';

export interface StructuredLayout {
  format: 'mvtec' | 'btad';
  /** Name of the defect-free folder under train/ and test/. */
  goodName: string;
  /** Appended to the image's stem to name its mask. */
  maskSuffix: string;
}

/** Sub-folders of `root` that are categories of this layout, sorted. */
export function categoryDirs(root: string, layout: StructuredLayout): string[] {
  return listSubdirectories(root, 'dataset folder').filter((name) => isDirectory(resolve(root, name, 'train', layout.goodName)));
}

export function openStructuredCategory(categoryDir: string, layout: StructuredLayout): { train: string[]; test: Sample[] } {
  const trainDir = join(categoryDir, 'train', layout.goodName);
  if (!isDirectory(trainDir)) throw new PyramidFlowError(`Training folder "${trainDir}" is missing (${layout.format} layout).`);
  const train = listImageFiles(trainDir, 'training folder');
  if (train.length === 0) {
    throw new PyramidFlowError(`Training folder "${trainDir}" has no images (looked for .png .jpg .jpeg .bmp .tif .tiff).`);
  }
  const testDir = join(categoryDir, 'test');
  const test: Sample[] = [];
  // A category without test/ can still be trained on; evaluation then has nothing to score.
  if (!isDirectory(testDir)) return { train, test };
  for (const folder of listSubdirectories(testDir, 'test folder')) {
    const isGood = folder === layout.goodName;
    const type = isGood ? 'good' : folder;
    for (const path of listImageFiles(join(testDir, folder), 'test folder')) {
      if (isGood) {
        test.push({ path, type, label: 0, maskPath: null });
        continue;
      }
      const maskDir = join(categoryDir, 'ground_truth', folder);
      const maskPath = findImageByStem(maskDir, stemOf(path), layout.maskSuffix);
      if (maskPath === null) {
        throw new PyramidFlowError(
          `Defect image "${path}" has no mask: expected "${join(maskDir, stemOf(path) + layout.maskSuffix)}.png" (${layout.format} layout).`,
        );
      }
      test.push({ path, type, label: 1, maskPath });
    }
  }
  return { train, test };
}
