/**
 * What a test run hands the report: the result of `test` (src/api/evaluate.ts fills it in), with
 * the ingredients of the gallery's pictures. The types live here, in the lowest layer that uses
 * them; src/api/types.ts re-exports them as part of the library's contract.
 */
import type { ModelConfig } from '../flow/types.js';
import type { Thresholds } from '../detect/types.js';
import type { Metrics as MetricSet, PlotCurve as Curve } from '../metrics/types.js';

/** One test image's outcome at the model's calibrated image threshold. */
export interface TestImageResult {
  /** The image's path, relative to the folder above the data set's root where it can be. */
  file: string;
  /** 'good' or the defect type. */
  type: string;
  /** 0: a good image, 1: a defect image. */
  label: 0 | 1;
  /** The image score (the maximum of its anomaly map). */
  score: number;
  /** 'defect' when the score is above the image threshold. */
  verdict: 'good' | 'defect';
}

/** A test image with its pictures' ingredients, for the report's gallery. */
export interface GalleryItem extends TestImageResult {
  /** Width of the pictures and the map (the size the maps were compared at). */
  width: number;
  /** Height of the pictures and the map. */
  height: number;
  /** The input image resized to width x height, RGB interleaved, 8-bit. */
  rgb: Uint8Array;
  /** Ground truth, {0,1}, width x height; null for a good image or a defect without a mask. */
  mask: Uint8Array | null;
  /** The anomaly map, width x height, row-major. */
  map: Float32Array;
}

/** The result of `test`: metrics, curves, counts at the calibrated thresholds and the report's material. */
export interface TestResult {
  /** The category tested (for the folder layout without one given: the data folder's name). */
  category: string;
  /** The model file tested. */
  model: string;
  /** The model's network configuration. */
  config: ModelConfig;
  /** Wall-clock time of the whole test run. */
  seconds: number;
  /** Metrics over every test image. */
  overall: MetricSet;
  /** Metrics per defect type (its images and every good image). */
  perType: Record<string, MetricSet>;
  /** The model's calibrated thresholds, which the verdicts and counts use. */
  thresholds: Thresholds;
  /** Counts at the model's calibrated thresholds. */
  confusion: {
    /** Good test images. */
    goodImages: number;
    /** Good test images scored above the image threshold (false alarms). */
    goodRejected: number;
    /** Defect test images. */
    defectImages: number;
    /** Defect test images scored at or below the image threshold. */
    defectsMissed: number;
  };
  /** How far the calibrated thresholds are from the F1-max ones (calibrated - best). */
  thresholdGap: {
    /** Image threshold minus the image F1-max threshold. */
    image: number;
    /** Pixel threshold minus the pixel F1-max threshold. */
    pixel: number;
  };
  /** The curves of the overall metrics, for plotting. */
  curves: {
    /** Pixel ROC: true-positive over false-positive rate. */
    pixelRoc: Curve;
    /** Image ROC. */
    imageRoc: Curve;
    /** Per-region overlap over false-positive rate. */
    pro: Curve;
  };
  /** Mean training loss of each epoch, from the model file. */
  lossPerEpoch: number[];
  /** Every test image's score and verdict, in data set order. */
  images: TestImageResult[];
  /** The worst images (missed defects, false alarms first; `galleryCount` of them) with their pictures' ingredients. */
  gallery: GalleryItem[];
  /** Where the HTML report was written (`<report>/index.html`), when `report` was given. */
  reportFile?: string;
  /** What the run noticed and did about it (test images the model was trained on, left out). */
  notes?: string[];
}
