/** `train`: data set -> model file (weights, template, calibrated thresholds). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ModelConfig, ModelOptions, TrainOptions, TrainProgress, TrainSummary } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { openDataset } from '../data/datasets.js';
import { resolveAugment } from '../data/augment.js';
import { loadResized } from '../data/loader.js';
import { normalizeImage } from '../data/image.js';
import { resolveConfig } from '../flow/config.js';
import { snapshot, type SavedModel, type TrainingRecord } from '../flow/saved-model.js';
import { fileCheckpoints, readModelFile, saveModelFile } from './model-files.js';
import { trainLoop } from '../train/trainer.js';
import { anomalyMaps, computeTemplate } from '../detect/inference.js';
import { calibrateThresholds, DEFAULT_FPR } from '../detect/thresholds.js';
import { ensureBackend } from './runtime.js';

function checkNumber(name: string, v: number, min: number, max = Infinity, integer = false): void {
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new PyramidFlowError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${v}`, 'E_OPTION');
  }
}

/** Splits good training images into training and held-out calibration images, reproducibly. */
export function holdoutSplit(files: string[], share: number, seed: number, batch: number): { train: string[]; holdout: string[] } {
  if (share <= 0) return { train: files, holdout: [] };
  const shuffled = new Random(seed ^ 0x51ed).shuffle([...files]);
  let n = Math.max(1, Math.round(share * files.length));
  n = Math.min(n, files.length - batch); // keep at least one batch to train on
  if (n < 1) return { train: files, holdout: [] };
  const holdout = shuffled.slice(0, n).sort();
  const held = new Set(holdout);
  return { train: files.filter((f) => !held.has(f)), holdout };
}

/**
 * The configuration of a checkpoint to resume or a model to start from: its own. Model options
 * given as well must agree (its weights fit nothing else).
 */
function startConfig(saved: SavedModel, file: string, opts: ModelOptions): ModelConfig {
  const c = saved.config;
  const given: [string, unknown, unknown][] = [
    ['channels', opts.channels, c.channels], ['kernel', opts.kernel, c.kernel], ['stacks', opts.stacks, c.stacks],
    ['levels', opts.levels === 'auto' ? undefined : opts.levels, c.levels],
    ['volume norm', opts.volumeNorm === 'auto' ? undefined : opts.volumeNorm, c.volumeNorm],
    [opts.height === undefined ? 'size' : 'height', opts.height ?? opts.size, c.height],
    [opts.width === undefined ? 'size' : 'width', opts.width ?? opts.size, c.width], ['downsample', opts.downsample, c.downsample],
  ];
  for (const [name, value, own] of given) {
    if (value !== undefined && value !== own) {
      throw new PyramidFlowError(`${file}: this model has ${name} ${own}, not ${value}; leave that option out to go on with the model's own`, 'E_OPTION');
    }
  }
  return { ...c };
}

export async function train(opts: TrainOptions, onProgress?: (p: TrainProgress) => void): Promise<TrainSummary> {
  const t0 = Date.now();
  const batch = opts.batch ?? 2;
  const epochs = opts.epochs ?? 15;
  const lr = opts.lr ?? 2e-4;
  const seed = opts.seed ?? 0;
  const holdout = opts.holdout ?? 0.1;
  checkNumber('batch', batch, 2, 1024, true);
  checkNumber('epochs', epochs, 0, 100000, true); // 0: the untrained flow with its template, a baseline
  checkNumber('lr', lr, 1e-12, 1);
  checkNumber('seed', seed, 0, 2 ** 32 - 1, true);
  checkNumber('holdout', holdout, 0, 0.9);
  const fpr = { image: opts.fpr?.image ?? DEFAULT_FPR.image, pixel: opts.fpr?.pixel ?? DEFAULT_FPR.pixel };
  checkNumber('fpr', fpr.image, 0, 1);
  checkNumber('pixel fpr', fpr.pixel, 0, 1);
  const notes: string[] = [];
  const note = (message: string): void => {
    notes.push(message);
    onProgress?.({ kind: 'note', epoch: 0, epochs, step: 0, stepsPerEpoch: 0, message });
  };

  const threads = opts.threads;
  const backendName = await ensureBackend(threads);
  const dataset = await openDataset({ data: opts.data, category: opts.category, format: opts.format });
  const augment = resolveAugment(opts.augment ?? 'auto', dataset.category, dataset.root);
  if (augment.note) note(augment.note);
  // A checkpoint to resume, or a model to start from: their configuration, not the defaults.
  let resumeFrom: SavedModel | undefined;
  let startFrom: SavedModel | undefined;
  if (opts.resume && existsSync(opts.out)) {
    resumeFrom = readModelFile(opts.out);
    if (!resumeFrom.resume) {
      throw new PyramidFlowError(`${opts.out}: this model finished training (${resumeFrom.training.epochsDone} epochs); nothing to resume. ` +
        `Remove --resume to train a new one, or train it further into a new file with --from ${opts.out} --out <new file>.`);
    }
  } else if (opts.from !== undefined) {
    if (resolve(opts.from) === resolve(opts.out)) {
      throw new PyramidFlowError(`${opts.out}: write the new model to another file (--out), so that the model it starts from stays usable until the new one is done`, 'E_OPTION');
    }
    startFrom = readModelFile(opts.from);
  }
  const config = resumeFrom ? startConfig(resumeFrom, opts.out, opts)
    : startFrom ? startConfig(startFrom, opts.from!, opts) : resolveConfig(opts, dataset.category);
  const saveMemory = opts.saveMemory === undefined || opts.saveMemory === 'auto' ? config.height * config.width > 256 * 256 : opts.saveMemory;
  let files = dataset.train;
  if (opts.maxImages !== undefined) {
    checkNumber('max images', opts.maxImages, 2, Infinity, true);
    files = new Random(seed ^ 0x3a7).shuffle([...files]).slice(0, opts.maxImages).sort();
    note(`using ${files.length} of ${dataset.train.length} training images (--max-images)`);
  }

  let record: TrainingRecord;
  if (resumeFrom?.resume) {
    record = resumeFrom.training;
    note(`resuming ${opts.out} at epoch ${resumeFrom.resume.epoch + 1}, step ${resumeFrom.resume.stepInEpoch + 1}`);
  } else {
    const split = holdoutSplit(files, holdout, seed, batch);
    record = {
      data: opts.data, category: dataset.category, format: dataset.format, augment: augment.mode, seed, batch, lr, epochs,
      epochsDone: 0, steps: 0, threads: threads ?? 0, saveMemory, holdout, fpr, checkpointEvery: opts.checkpointEvery ?? 0,
      trainFiles: split.train, holdoutFiles: split.holdout, lossPerEpoch: [], seconds: 0,
    };
    if (startFrom) {
      record.from = { file: opts.from!, epochs: startFrom.training.epochsDone };
      note(`starting from ${opts.from} (${startFrom.training.epochsDone} epochs on ${startFrom.training.trainFiles.length} images) with a fresh optimizer`);
    }
  }
  if (record.trainFiles.length < batch) {
    throw new PyramidFlowError(`${dataset.category}: only ${record.trainFiles.length} training image(s) for batch size ${batch}; add images or lower --batch / --holdout`);
  }
  note(`${record.trainFiles.length} training images, ${record.holdoutFiles.length} held out for calibration; model ${config.channels}ch k${config.kernel} L${config.levels} S${config.stacks} ${config.volumeNorm} ${config.height}x${config.width}; ${backendName}${saveMemory ? '; memory saving on' : ''}`);

  const images = await loadResized(record.trainFiles, config.height, config.width);
  const runStart = Date.now();
  const { model } = await trainLoop({ config, images, record, checkpoints: fileCheckpoints(opts.out), resumeFrom, startFrom, onProgress });
  record.seconds += (Date.now() - runStart) / 1000;

  // Template from the training images (no augmentation), then thresholds from held-out good images.
  const template = computeTemplate(model, images.length, (i) => normalizeImage(images[i]!));
  let calibration = images.map(normalizeImage);
  let source: 'holdout' | 'train' = 'train';
  if (record.holdoutFiles.length > 0) {
    calibration = (await loadResized(record.holdoutFiles, config.height, config.width)).map(normalizeImage);
    source = 'holdout';
  }
  const thresholds = calibrateThresholds(anomalyMaps(model, template, calibration), record.fpr, source);
  if (thresholds.note) note(thresholds.note);
  saveModelFile(opts.out, snapshot(model, record, { template, thresholds }));
  onProgress?.({ kind: 'done', epoch: epochs, epochs, step: 0, stepsPerEpoch: 0, message: opts.out });
  return {
    modelFile: opts.out, config, epochs: record.epochsDone, steps: record.steps, seconds: (Date.now() - t0) / 1000,
    trainImages: record.trainFiles.length, holdoutImages: record.holdoutFiles.length, lossPerEpoch: record.lossPerEpoch, thresholds, notes,
  };
}
