/** Model files on disk: the bytes of src/flow/saved-model.ts, read and written (atomically) here. */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { PyramidFlowError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { decodeSavedModel, encodeSavedModel, type SavedModel } from '../flow/saved-model.js';
import type { CheckpointSink } from '../train/trainer.js';
import { useSha256 } from '../flow/model-file.js';

// Node's native SHA-256 for the model files' checksum: the pure-JavaScript one took ~170 ms of a
// default model's load.
useSha256((bytes) => createHash('sha256').update(bytes).digest());

/** Reads and checks a model file; every error names the file. */
export function readModelFile(path: string): SavedModel {
  if (!existsSync(path)) throw new PyramidFlowError(`${path}: model file not found`, 'E_MODEL_FILE');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new PyramidFlowError(`${path}: cannot read the model file (${(e as Error).message})`, 'E_MODEL_FILE');
  }
  return decodeSavedModel(bytes, path);
}

/** Writes a model file so that a reader sees the old file or the new one, never a torn one. */
export function saveModelFile(path: string, saved: SavedModel): void {
  writeFileAtomic(path, encodeSavedModel(saved));
}

/** The training loop's checkpoints, written to a model file. */
export function fileCheckpoints(path: string): CheckpointSink {
  return { name: path, save: (saved) => saveModelFile(path, saved) };
}
