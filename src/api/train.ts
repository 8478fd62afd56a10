/** `train`: data set -> model file (weights, template, calibrated thresholds). */
import { resolve } from 'node:path';
import type { ModelConfig, TrainingOptionsOfModel, TrainOptions, TrainProgress, TrainSummary } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { checkOutputFile } from '../util/output-file.js';
import { removeStaleTemporaries } from '../util/atomic-file.js';
import { openDataset } from '../data/datasets.js';
import { resolveAugment } from '../data/augment-mode.js';
import { loadResized } from '../data/loader.js';
import { resolveConfig } from '../flow/config.js';
import type { OptionValue, RecordedOptions, SavedModel, TrainingRecord } from '../flow/saved-model.js';
import { fileCheckpoints, readModelFile, saveModelFile } from './model-files.js';
import { trainLoop } from '../train/trainer.js';
import { holdoutSplit } from '../data/holdout.js';
import { isModelFileHead } from '../flow/model-file.js';
import { finishModel } from '../detect/finish.js';
import { numberDefault, optionError, optionOf, optionsOf, resolveSaveMemory } from './options.js';
import { checkApiOptions, recordedTrainOptions, resolvedTrainOptions, sameValue } from './option-values.js';
import { ensureBackend } from './runtime.js';
import { availableMemory, checkTrainingFits, estimateTrainingMemory } from '../train/memory.js';

/**
 * The one rule for `out` (src/util/output-file.ts), checked before any work: its folder exists or
 * is created and is writable, it is not a folder, a file that is not a pyramidflow model is never
 * replaced, and an existing model file only when the run continues it (`resume`) or is told to
 * replace it (`force`). Returns whether `out` exists.
 */
function checkModelOutput(out: string, opts: { force?: boolean; resume?: boolean }): boolean {
  // Everything but "it exists": the folder, a folder or a foreign file at `out` (refused even with --force).
  const exists = checkOutputFile(out, { kind: 'pyramidflow model file', recognise: isModelFileHead, force: true });
  if (exists && opts.force !== true && opts.resume !== true) {
    throw new PyramidFlowError(
      `${out} exists (a pyramidflow model file); give --resume to continue its training, --force to replace it with a new one, or choose another --out`,
      'E_OUTPUT',
    );
  }
  return exists;
}

const shown = (v: OptionValue): string => (Array.isArray(v) ? v.join(',') : String(v));

/**
 * The configuration of a checkpoint to resume or a model to start from: its own. The options
 * that define the network (the table's `network` rows), given as well, must agree: its weights
 * fit nothing else.
 */
function startConfig(saved: SavedModel, file: string, given: Record<string, OptionValue>): ModelConfig {
  for (const spec of optionsOf('train')) {
    const value = given[spec.name];
    if (!spec.network || value === undefined || value === 'auto') continue;
    const own = spec.network(saved.config);
    if (own !== undefined && !sameValue(spec, value, own)) {
      throw optionError(
        `${file}: this model has ${spec.flag.replace(/-/g, ' ')} ${shown(own)}, not ${shown(value)}; leave --${spec.flag} out to go on with the model's own`,
      );
    }
  }
  return { ...saved.config };
}

/**
 * What `train --resume` does with the options given again (the table's `resume` rules): one
 * that defines the model or the data order and differs from the checkpoint is refused by name;
 * the others take effect. Returns the changes of the result (by option name: lr, epochs, ...) and
 * the options to record.
 */
function resumeChanges(
  saved: SavedModel,
  file: string,
  given: Record<string, OptionValue>,
): {
  changed: Record<string, { from: OptionValue | null; to: OptionValue }>;
  values: Record<string, OptionValue>;
} {
  const { values, reconstructed } = recordedTrainOptions(saved.training, saved.config);
  const changed: Record<string, { from: OptionValue | null; to: OptionValue }> = {};
  for (const spec of optionsOf('train')) {
    const value = given[spec.name];
    if (value === undefined || value === 'auto' || spec.network || spec.cliOnly || spec.unrecorded) continue;
    const own = values[spec.name];
    if (own !== undefined && sameValue(spec, value, own)) continue;
    if (spec.resume === 'refused') {
      // A model file of an earlier version does not say every option (--max-images): unknown is no conflict.
      if (own === undefined && reconstructed && !spec.recorded) continue;
      const theirs = own === undefined ? 'the checkpoint, which ran without it' : `the checkpoint's ${shown(own)}`;
      throw optionError(`${file}: --${spec.flag} ${shown(value)} differs from ${theirs}; a resumed run cannot change it (start a new run or use --from)`);
    }
    // 'honoured' changes the result: recorded as a change; 'run' (threads, checkpoints, --out) only this run.
    if (spec.resume === 'honoured') changed[spec.name] = { from: own ?? null, to: value };
    values[spec.name] = value;
  }
  return { changed, values };
}

/**
 * Trains a model on good images into `opts.out`: checkpoints every epoch (resumable with
 * `resume: true`), then the latent template and the thresholds. Progress events go to `onProgress`.
 */
export async function train(opts: TrainOptions, onProgress?: (p: TrainProgress) => void): Promise<TrainSummary> {
  const t0 = Date.now();
  const given = checkApiOptions('train', opts); // the option table's types and ranges, the CLI's messages
  const notes: string[] = [];
  let epochsForEvents = (given.epochs as number | undefined) ?? numberDefault('train', 'epochs');
  const note = (message: string): void => {
    notes.push(message);
    onProgress?.({ kind: 'note', epoch: 0, epochs: epochsForEvents, step: 0, stepsPerEpoch: 0, message });
  };

  // Nothing of the user's is lost, and nothing fails after an epoch for want of a place to write.
  if (!opts.resume && opts.from !== undefined && resolve(opts.from) === resolve(opts.out)) {
    throw optionError(`${opts.out}: write the new model to another file (--out), so that the model it starts from stays usable until the new one is done`);
  }
  const outExists = checkModelOutput(opts.out, opts);
  const stale = removeStaleTemporaries(opts.out);
  if (stale.length > 0) note(`removed ${stale.length} stale temporary file${stale.length === 1 ? '' : 's'} of ${opts.out} left by an interrupted write`);

  // A checkpoint to resume, or a model to start from: their configuration, not the defaults.
  let resumeFrom: SavedModel | undefined;
  let startFrom: SavedModel | undefined;
  if (opts.resume && outExists) {
    resumeFrom = readModelFile(opts.out);
    if (!resumeFrom.resume) {
      throw new PyramidFlowError(
        `${opts.out}: this model finished training (${resumeFrom.training.epochsDone} epochs); nothing to resume. ` +
          `Give --force instead of --resume to train a new one in its place, or train it further into a new file with --from ${opts.out} --out <new file>.`,
      );
    }
  } else if (opts.from !== undefined) {
    startFrom = readModelFile(opts.from);
  }
  const start = resumeFrom ?? startFrom;
  const startConfigOf = start ? startConfig(start, resumeFrom ? opts.out : opts.from!, given) : undefined;
  const resumed = resumeFrom ? resumeChanges(resumeFrom, opts.out, given) : undefined;
  if (resumeFrom?.resume && given.epochs !== undefined) {
    const { epoch, stepInEpoch } = resumeFrom.resume;
    const reached = epoch + (stepInEpoch > 0 ? 1 : 0);
    if ((given.epochs as number) < reached) {
      throw optionError(`${opts.out}: --epochs ${given.epochs} is fewer than the checkpoint has reached (${reached}); give at least ${reached}`);
    }
  }

  const threads = opts.threads;
  const backendName = await ensureBackend(threads);
  const previous = resumeFrom?.training;
  const dataset = await openDataset({
    data: opts.data,
    category: opts.category ?? (previous?.category || undefined),
    format: opts.format ?? (previous?.format as TrainOptions['format']),
    normalDir: opts.normalDir,
    normalTestDir: opts.normalTestDir,
    normalSplitRatio: opts.normalSplitRatio,
  });
  const config = startConfigOf ?? resolveConfig(opts, dataset.category);

  let record: TrainingRecord;
  if (resumeFrom?.resume && resumed) {
    // The checkpoint's record, with what may change on resume (lr, epochs, targets, run settings).
    record = resumeFrom.training;
    const v = resumed.values;
    record.lr = v.lr as number;
    record.epochs = v.epochs as number;
    record.fpr = { image: v.fpr as number, pixel: v.pixelFpr as number };
    record.checkpointEvery = v.checkpointEvery as number;
    record.saveMemory = v.saveMemory as boolean;
    record.threads = threads ?? 0; // this run's (the recorded options say the last run's)
    if (threads === undefined) delete v.threads;
    const changes = Object.entries(resumed.changed);
    const options: RecordedOptions = { values: v, resumed: [...(record.options?.resumed ?? [])] };
    if (changes.length > 0) options.resumed!.push({ epoch: resumeFrom.resume.epoch, step: resumeFrom.resume.stepInEpoch, changed: resumed.changed });
    if (options.resumed!.length === 0) delete options.resumed;
    record.options = options;
    note(
      `resuming ${opts.out} at epoch ${resumeFrom.resume.epoch + 1}, step ${resumeFrom.resume.stepInEpoch + 1}` +
        (changes.length
          ? `; changed: ${changes.map(([name, c]) => `${optionOf('train', name).flag} ${c.from === null ? '(none)' : shown(c.from)} -> ${shown(c.to)}`).join(', ')}`
          : ''),
    );
  } else {
    const num = (name: string): number => (given[name] as number | undefined) ?? numberDefault('train', name);
    const batch = num('batch'),
      seed = num('seed'),
      holdout = num('holdout');
    const augment = resolveAugment((given.augment as 'texture' | 'none' | 'auto' | undefined) ?? 'auto', dataset.category, dataset.root);
    if (augment.note) note(augment.note);
    const saveMemory = resolveSaveMemory(given.saveMemory, config);
    let files = dataset.train;
    if (given.maxImages !== undefined) {
      files = new Random(seed ^ 0x3a7)
        .shuffle([...files])
        .slice(0, given.maxImages as number)
        .sort();
      note(`using ${files.length} of ${dataset.train.length} training images (--max-images)`);
    }
    const split = holdoutSplit(files, holdout, seed, batch);
    record = {
      data: opts.data,
      category: dataset.category,
      format: dataset.format,
      augment: augment.mode,
      seed,
      batch,
      lr: num('lr'),
      epochs: num('epochs'),
      epochsDone: 0,
      steps: 0,
      threads: threads ?? 0,
      saveMemory,
      holdout,
      fpr: { image: num('fpr'), pixel: num('pixelFpr') },
      checkpointEvery: num('checkpointEvery'),
      trainFiles: split.train,
      holdoutFiles: split.holdout,
      lossPerEpoch: [],
      seconds: 0,
    };
    if (startFrom) {
      record.from = { file: opts.from!, epochs: startFrom.training.epochsDone };
      note(`starting from ${opts.from} (${startFrom.training.epochsDone} epochs on ${startFrom.training.trainFiles.length} images) with a fresh optimizer`);
    }
    record.options = { values: resolvedTrainOptions(record, config, given) };
  }
  epochsForEvents = record.epochs;
  if (record.trainFiles.length < record.batch) {
    throw new PyramidFlowError(
      `${dataset.category}: only ${record.trainFiles.length} training image(s) for batch size ${record.batch}; add images or lower --batch / --holdout`,
    );
  }
  note(
    `${record.trainFiles.length} training images, ${record.holdoutFiles.length} held out for calibration; model ${config.channels}ch k${config.kernel} L${config.levels} S${config.stacks} ${config.volumeNorm} ${config.height}x${config.width}; ${backendName}${record.saveMemory ? '; memory saving on' : ''}`,
  );

  // A configuration that cannot fit in memory is refused before any image is read.
  checkTrainingFits(
    estimateTrainingMemory(config, { batch: record.batch, saveMemory: record.saveMemory, images: record.trainFiles.length, threads }),
    await availableMemory(),
  );

  // The pixel limit of this run, else of the run it resumes (recorded when given), else the default.
  const decode = { maxPixels: (given.maxPixels ?? record.options?.values.maxPixels) as number | undefined };
  // Every image is read before the first epoch (the held-out ones too, at the model's size): one
  // that cannot be read, or is over the pixel limit, stops the run before any work is done.
  const images = await loadResized(record.trainFiles, config.height, config.width, undefined, undefined, decode);
  const holdoutImages = record.holdoutFiles.length > 0 ? await loadResized(record.holdoutFiles, config.height, config.width, undefined, undefined, decode) : [];
  const runStart = Date.now();
  const { model } = await trainLoop({ config, images, record, checkpoints: fileCheckpoints(opts.out), resumeFrom, startFrom, onProgress });
  record.seconds += (Date.now() - runStart) / 1000;

  // Template from the training images (no augmentation), then thresholds from the held-out good images.
  const { saved, thresholds } = finishModel({ model, record, trainImages: images, holdoutImages });
  if (thresholds.note) note(thresholds.note);
  saveModelFile(opts.out, saved);
  onProgress?.({ kind: 'done', epoch: record.epochs, epochs: record.epochs, step: 0, stepsPerEpoch: 0, message: opts.out });
  return {
    modelFile: opts.out,
    config,
    epochs: record.epochsDone,
    steps: record.steps,
    seconds: (Date.now() - t0) / 1000,
    trainImages: record.trainFiles.length,
    holdoutImages: record.holdoutFiles.length,
    lossPerEpoch: record.lossPerEpoch,
    thresholds,
    notes,
  };
}

/**
 * The options a model was trained with (`pyramidflow info --config`): resolved, by option name,
 * in the table's order; given to `train` (or as a config file to `train --config`) they repeat the run.
 */
export async function trainingOptions(file: string): Promise<TrainingOptionsOfModel> {
  const saved = readModelFile(file);
  const { values, reconstructed } = recordedTrainOptions(saved.training, saved.config);
  return { file, values, reconstructed, resumed: saved.training.options?.resumed ?? [] };
}
