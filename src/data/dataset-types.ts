/**
 * What a data set is, apart from how it is found on disk (datasets.ts and the layout readers
 * dataset-folder.ts, dataset-structured.ts all use these; none imports another for them).
 */

/** The folder layouts pyramidflow reads. */
export type DatasetFormat = 'mvtec' | 'btad' | 'folder';

export interface Sample {
  path: string;
  /** 'good' or the defect type (the test sub-folder name). */
  type: string;
  label: 0 | 1;
  maskPath: string | null;
}

export interface Dataset {
  format: DatasetFormat;
  /** The folder that holds the category folders (for 'folder': the data folder itself). */
  root: string;
  category: string;
  /** Defect-free training images, sorted by name. */
  train: string[];
  test: Sample[];
}

export interface OpenDatasetOptions {
  data: string;
  category?: string;
  format?: DatasetFormat;
  /** Folder layout only; see dataset-folder.ts for the convention. */
  normalDir?: string;
  abnormalDir?: string;
  maskDir?: string;
  normalTestDir?: string;
}
