/** What a model file holds, as bytes (file access is the caller's: src/api/model-files.ts on Node). */
import type { ModelConfig, Thresholds } from './types.js';
import { Tensor } from '../tensor/index.js';
import { checkSavedModel } from './saved-model-check.js';
import { PROGRAM } from '../util/version.js';
import { decodeModelFile, encodeModelFile, FORMAT_VERSION } from './model-file.js';
import { modelBuffers, modelFromState, modelParams, type StateDict } from './state.js';
import type { PyramidFlow } from './model.js';

export interface TrainingRecord {
  data: string;
  category: string;
  format: string;
  augment: 'texture' | 'none';
  seed: number;
  batch: number;
  lr: number;
  epochs: number;
  epochsDone: number;
  steps: number;
  threads: number;
  saveMemory: boolean;
  holdout: number;
  fpr: { image: number; pixel: number };
  checkpointEvery: number;
  trainFiles: string[];
  holdoutFiles: string[];
  lossPerEpoch: number[];
  seconds: number;
  /** The model this training started from (TrainOptions.from) and the epochs it had done. */
  from?: { file: string; epochs: number };
  /**
   * The options the training ran with, resolved (defaults, `auto` and detected values filled in),
   * by their names in the option table (src/api/options.ts); `pyramidflow info --config` prints
   * them as a config file for `train --config`. Absent in model files of earlier versions.
   */
  options?: RecordedOptions;
}

/** A value of an option: a number, a word or path, a switch, or a list. */
export type OptionValue = number | string | boolean | string[];

/** The resolved options of a training, and what resumed runs changed (`train --resume --lr ...`). */
export interface RecordedOptions {
  /** Each option's value, by its name in the option table. */
  values: Record<string, OptionValue>;
  /** One entry per resumed run that changed options: where it resumed, and each change. */
  resumed?: ResumedChange[];
}

/** What one resumed run changed. */
export interface ResumedChange {
  /** The 0-based epoch it resumed in. */
  epoch: number;
  /** The step within that epoch. */
  step: number;
  /** Each changed option by name: its value before (null: not recorded) and after. */
  changed: Record<string, OptionChange>;
}

/** An option's value before and after a resumed run changed it. */
export interface OptionChange {
  /** Before (null: the checkpoint did not record it). */
  from: OptionValue | null;
  /** After. */
  to: OptionValue;
}

/** Enough to continue an interrupted training exactly where it stopped. */
export interface ResumeState {
  /** 0-based epoch in progress. */
  epoch: number;
  /** Steps of that epoch already done. */
  stepInEpoch: number;
  adamStep: number;
  adamM: Float32Array[];
  adamV: Float32Array[];
  /** Losses of the steps done in the epoch in progress. */
  epochLosses: number[];
}

export interface SavedModel {
  formatVersion: number;
  createdAt: string;
  /** The program that wrote the file (absent in files written before 0.2.0). */
  program?: { name: string; version: string };
  config: ModelConfig;
  params: StateDict;
  buffers: StateDict;
  /** Mean latents of the training images, one per level, [1, C, h, w]; null until training ends. */
  template: { shape: number[]; data: Float32Array }[] | null;
  thresholds: Thresholds | null;
  training: TrainingRecord;
  resume: ResumeState | null;
}

export function snapshot(
  model: PyramidFlow,
  training: TrainingRecord,
  extra: { template?: Tensor[] | null; thresholds?: Thresholds | null; resume?: ResumeState | null } = {},
): SavedModel {
  // Copies, so that training can go on while the snapshot is written.
  const copy = (d: StateDict): StateDict => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, { shape: [...v.shape], data: v.data.slice() }]));
  return {
    formatVersion: FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    program: { ...PROGRAM },
    config: { ...model.config },
    params: copy(modelParams(model)),
    buffers: copy(modelBuffers(model)),
    template: extra.template ? extra.template.map((t) => ({ shape: [...t.shape], data: t.toHost() })) : null,
    thresholds: extra.thresholds ?? null,
    training: structuredClone(training),
    resume: extra.resume ?? null,
  };
}

/** The model file's bytes. */
export function encodeSavedModel(saved: SavedModel): Uint8Array {
  return encodeModelFile(saved);
}

/** A model from a model file's bytes; `name` (the file) is in every error. */
export function decodeSavedModel(bytes: Uint8Array, name: string): SavedModel {
  const { content } = decodeModelFile<unknown>(bytes, name);
  checkSavedModel(content, name);
  return content as SavedModel;
}

export function restoreModel(saved: SavedModel): PyramidFlow {
  return modelFromState(saved.config, saved.params, saved.buffers);
}

export function restoreTemplate(saved: SavedModel): Tensor[] | null {
  return saved.template ? saved.template.map((t) => Tensor.fromHost(t.shape, t.data)) : null;
}
