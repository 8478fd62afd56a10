/**
 * Finishing a trained flow into a model that can judge images: the latent template (mean latents
 * of the training images, not augmented), the thresholds from good images it did not train on,
 * and the snapshot a model file holds. Writing the file is the caller's (src/api/model-files.ts).
 */
import { normalizeImage, type DecodedImage } from '../data/pixels.js';
import type { PyramidFlow } from '../flow/model.js';
import { snapshot, type SavedModel, type TrainingRecord } from '../flow/saved-model.js';
import type { Tensor } from '../tensor/index.js';
import { anomalyMaps, computeTemplate } from './inference.js';
import { calibrateThresholds } from './thresholds.js';
import type { Thresholds } from './types.js';

export interface FinishInput {
  model: PyramidFlow;
  /** What the model file says about the training; its `fpr` targets set the thresholds. */
  record: TrainingRecord;
  /** The training images at the model size: the template is their mean latents. */
  trainImages: readonly DecodedImage[];
  /**
   * Good images the model did not train on, at the model size: they set the thresholds. When
   * there are none, the training images do (source 'train', with a note saying so).
   */
  holdoutImages: readonly DecodedImage[];
}

export interface FinishedModel {
  /** The model file's content (copies: training may go on). */
  saved: SavedModel;
  template: Tensor[];
  thresholds: Thresholds;
}

export function finishModel({ model, record, trainImages, holdoutImages }: FinishInput): FinishedModel {
  const template = computeTemplate(model, trainImages.length, (i) => normalizeImage(trainImages[i]!));
  const held = holdoutImages.length > 0;
  const calibration = (held ? holdoutImages : trainImages).map(normalizeImage);
  const thresholds = calibrateThresholds(anomalyMaps(model, template, calibration), record.fpr, held ? 'holdout' : 'train');
  return { saved: snapshot(model, record, { template, thresholds }), template, thresholds };
}
