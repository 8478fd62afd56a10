/**
 * What a data set is, apart from how it is found on disk (datasets.ts and the layout readers
 * dataset-folder.ts, dataset-structured.ts all use these; none imports another for them).
 */

/** The folder layouts pyramidflow reads: MVTec AD, BTAD, or a plain folder of images. */
export type DatasetFormat = 'mvtec' | 'btad' | 'folder';

/** One test image. */
export interface Sample {
  /** The image file. */
  path: string;
  /** 'good' or the defect type (the test sub-folder name). */
  type: string;
  /** 0 for a good image, 1 for a defective one. */
  label: 0 | 1;
  /** Its ground-truth mask (nonzero = defect); null for good images and defects without a mask. */
  maskPath: string | null;
}

/** A category's images, found on disk. */
export interface Dataset {
  /** The layout it was read as. */
  format: DatasetFormat;
  /** The folder that holds the category folders (for 'folder': the data folder itself). */
  root: string;
  /** The category (for 'folder' without one given: the data folder's name). */
  category: string;
  /** Defect-free training images, sorted by name. */
  train: string[];
  /** Test images with their labels and masks (empty when the layout has none). */
  test: Sample[];
}

/** Where and how to find a data set. */
export interface OpenDatasetOptions extends FolderLayoutOptions {
  /** The data folder. */
  data: string;
  /** MVTec / BTAD category; optional for the folder layout. */
  category?: string;
  /** The layout; detected when left out. */
  format?: DatasetFormat;
}

/**
 * Where the folder layout's parts are, relative to the data folder or absolute (only the folder
 * layout takes these; see dataset-folder.ts for the convention).
 */
export interface FolderLayoutOptions {
  /** Folder layout only: normal images for training (default 'good'). */
  normalDir?: string;
  /** Folder layout only: defect images for testing, or one sub-folder per defect type (default 'defect'). */
  abnormalDir?: string;
  /** Folder layout only: masks, same stem as the defect image, optionally with '_mask' (default 'mask'). */
  maskDir?: string;
  /** Folder layout only: normal images to test on (no default; without it, see normalSplitRatio). */
  normalTestDir?: string;
  /**
   * Folder layout only: the share of the normal images kept out of training and tested on when
   * there is no normal test folder (anomalib's normal_split_ratio); 0 keeps none. Default 0.2.
   * The same images on every call (train's and test's): chosen by a hash of their names.
   */
  normalSplitRatio?: number;
}

/**
 * The folder layout's default share of normal images kept out of training and tested on (here,
 * in a file without imports, so that the option table and the CLI's help can read it without
 * loading the image decoder).
 */
export const DEFAULT_NORMAL_SPLIT_RATIO = 0.2;
