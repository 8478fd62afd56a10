/**
 * `import`: a checkpoint of the official PyTorch code (gasharper/PyramidFlow; src/import) into a
 * model file that `predict`, `test` and `serve` take. The checkpoint holds the weights; the
 * template is computed as the official code computes it (the mean latents of good images, in
 * evaluation mode) from a folder of good images, and the thresholds are calibrated on good images
 * of that folder kept out of the template (src/detect/finish.ts), as `train` does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SavedModel, TrainingRecord } from '../flow/saved-model.js';
import { modelFromState } from '../flow/state.js';
import type { ModelConfig, Thresholds, VolumeNorm } from '../flow/types.js';
import { finishModel } from '../detect/finish.js';
import { loadResized } from '../data/loader.js';
import { type CheckpointFormat, type OfficialState, officialModel, readCheckpoint } from '../import/official.js';
import { PyramidFlowError } from '../util/errors.js';
import { checkOutputFile } from '../util/output-file.js';
import { saveModelFile } from './model-files.js';
import { numberDefault, optionError } from './options.js';
import { checkApiOptions } from './option-values.js';
import { expandInputs } from './predict.js';
import { ensureBackend } from './runtime.js';
import { holdoutSplit } from '../data/holdout.js';
import { isModelFileHead } from '../flow/model-file.js';

export type { CheckpointFormat, OfficialState };

/** What `import` reads and writes (the CLI's flags of the same names). */
export interface ImportOptions {
  /** The checkpoint: the official train.py's `.npz`, a `torch.save` state dict, or safetensors. */
  checkpoint: string;
  /** The model file to write. */
  out: string;
  /** Folder of good images: the template (mean latents) and, held out, the thresholds. */
  good: string;
  /** `.npz`: which state dict, 'pixel' (default: state_dict_pixel) or 'pro'. */
  state?: OfficialState;
  /** Square image size the model was trained at, when the checkpoint does not say it. */
  size?: number;
  /** Image height in pixels (with width, instead of size). */
  height?: number;
  /** Image width in pixels (with height, instead of size). */
  width?: number;
  /** Pyramid levels, for a state dict whose weights fit several. */
  levels?: number;
  /** Volume normalisation, for a state dict that does not say it. */
  volumeNorm?: VolumeNorm;
  /** Share of the good images held out of the template to set the thresholds (default 0.1). */
  holdout?: number;
  /** False-positive targets of the thresholds (defaults as `train`). */
  fpr?: {
    /** Image false-positive rate the image threshold is set for. */
    image?: number;
    /** Pixel false-positive rate the pixel threshold is set for. */
    pixel?: number;
  };
  /** Replace an existing model file at `out`. */
  force?: boolean;
  /** Refuse a good image of more pixels than this (from its header, before decoding). */
  maxPixels?: number;
  /** Kernel threads (default: all cores). */
  threads?: number;
}

/** What `import` did. */
export interface ImportSummary {
  /** The model file written. */
  out: string;
  /** The checkpoint read. */
  checkpoint: string;
  /** Which kind of file it was. */
  format: CheckpointFormat;
  /** The `.npz` state dict taken. */
  entry?: string;
  /** The network, from the file, its weights and the options. */
  config: ModelConfig;
  /** Good images whose mean latents are the template. */
  templateImages: number;
  /** Good images that set the thresholds. */
  holdoutImages: number;
  /** The thresholds set on the held-out good images. */
  thresholds: Thresholds;
  /** Wall time. */
  seconds: number;
}

/** Reads a checkpoint of the official code and writes a finished model file (template and thresholds). */
export async function importCheckpoint(opts: ImportOptions): Promise<ImportSummary> {
  const t0 = Date.now();
  const values = checkApiOptions('import', opts);
  if (opts.size !== undefined && (opts.height !== undefined || opts.width !== undefined)) throw optionError('give --size or --height and --width, not both');
  if ((opts.height === undefined) !== (opts.width === undefined)) throw optionError('give both --height and --width (or --size)');
  // Before any work: never replace a file that is not a model, a model only with --force.
  const exists = checkOutputFile(opts.out, { kind: 'pyramidflow model file', recognise: isModelFileHead, force: true });
  if (exists && opts.force !== true)
    throw new PyramidFlowError(`${opts.out} exists (a pyramidflow model file); give --force to replace it, or choose another --out`, 'E_OUTPUT');

  let bytes: Uint8Array;
  try {
    bytes = readFileSync(opts.checkpoint);
  } catch (e) {
    throw new PyramidFlowError(`${opts.checkpoint}: cannot read the checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const checkpoint = readCheckpoint(bytes, opts.checkpoint, (values.state as OfficialState | undefined) ?? 'pixel');
  const size = opts.size !== undefined ? { height: opts.size, width: opts.size } : { height: opts.height, width: opts.width };
  const { config, params, buffers } = officialModel(
    checkpoint,
    {
      ...(size.height !== undefined ? { height: size.height } : {}),
      ...(size.width !== undefined ? { width: size.width } : {}),
      ...(opts.levels !== undefined ? { levels: opts.levels } : {}),
      ...(opts.volumeNorm !== undefined ? { volumeNorm: opts.volumeNorm } : {}),
    },
    opts.checkpoint,
  );

  const files = expandInputs([opts.good]);
  const holdout = (values.holdout as number | undefined) ?? numberDefault('import', 'holdout');
  const split = holdoutSplit(files, holdout, 0, 1);
  if (split.train.length === 0) throw new PyramidFlowError(`${opts.good}: no good images left for the template`);
  await ensureBackend(opts.threads);
  const decode = opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {};
  const trainImages = await loadResized(split.train, config.height, config.width, undefined, 4, decode);
  const holdoutImages = await loadResized(split.holdout, config.height, config.width, undefined, 4, decode);

  const fpr = {
    image: (values.fpr as number | undefined) ?? numberDefault('import', 'fpr'),
    pixel: (values.pixelFpr as number | undefined) ?? numberDefault('import', 'pixelFpr'),
  };
  const record: TrainingRecord = {
    data: resolve(opts.good),
    category: checkpoint.meta.category ?? '',
    format: 'folder',
    augment: 'none',
    seed: 0,
    batch: checkpoint.meta.batch ?? 2,
    lr: 2e-4,
    epochs: 0,
    epochsDone: 0,
    steps: 0,
    threads: opts.threads ?? 0,
    saveMemory: false,
    holdout,
    fpr,
    checkpointEvery: 0,
    trainFiles: split.train.map((f) => resolve(f)),
    holdoutFiles: split.holdout.map((f) => resolve(f)),
    lossPerEpoch: [],
    seconds: 0,
    // Where the weights came from: the official code's checkpoint (its training is not recorded there).
    from: { file: `${resolve(opts.checkpoint)}${checkpoint.entry ? ` (${checkpoint.entry})` : ''}`, epochs: 0 },
  };
  const model = modelFromState(config, params, buffers);
  model.training = false;
  const { saved, thresholds } = finishModel({ model, record, trainImages, holdoutImages });
  saveModelFile(opts.out, saved satisfies SavedModel);
  return {
    out: opts.out,
    checkpoint: opts.checkpoint,
    format: checkpoint.format,
    ...(checkpoint.entry ? { entry: checkpoint.entry } : {}),
    config,
    templateImages: split.train.length,
    holdoutImages: split.holdout.length,
    thresholds,
    seconds: (Date.now() - t0) / 1000,
  };
}
