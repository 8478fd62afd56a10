/**
 * The models a prediction worker keeps loaded: one detector per model file, loaded on its first
 * job and kept. Each job looks at the file again (one stat): a file replaced in the store (a
 * retrained model, written atomically by rename) has another inode, size or mtime, so the next job
 * loads the new one without a restart, while a file merely touched (same SHA-256) keeps its
 * detector. The least recently used model goes when more than `maxModels` are held.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { Detector } from '../detect/detector.js';
import { decodeSavedModel } from '../flow/saved-model.js';
import { PyramidFlowError } from '../util/errors.js';

/** A loaded model and which version of its file it is. */
export interface CachedModel {
  /** The model file (absolute). */
  readonly file: string;
  /** The detector built from it. */
  readonly detector: Detector;
  /** SHA-256 of the file's bytes (hex): which version judged an image. */
  readonly sha256: string;
  /** When this version was loaded. */
  readonly loadedAt: Date;
}

interface Entry extends CachedModel {
  /** inode, size and mtime of the file when it was read: a change means another version. */
  stamp: string;
}

const stampOf = (st: Stats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;

/** Default number of models a worker keeps loaded. */
export const DEFAULT_MAX_MODELS = 32;

/** Model files loaded once per version, by path. */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  /** Loads so far (a new file or a new version); tests read it to see that a model was reused. */
  loads = 0;

  /** A cache holding at most `maxModels` models. */
  constructor(readonly maxModels = DEFAULT_MAX_MODELS) {
    if (!Number.isInteger(maxModels) || maxModels < 1) throw new RangeError(`maxModels must be an integer >= 1, got ${maxModels}`);
  }

  /** Models held now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The detector of the current version of `file`: the one held when the file did not change,
   * else the file read again. Errors (missing, unreadable, not a finished model) name the file
   * and carry the code E_MODEL_FILE.
   */
  get(file: string): CachedModel {
    const path = resolve(file);
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      this.entries.delete(path);
      const code = (err as NodeJS.ErrnoException).code;
      throw new PyramidFlowError(`${file}: model file ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? 'error'})`}`, 'E_MODEL_FILE');
    }
    const held = this.entries.get(path);
    if (held && held.stamp === stampOf(st)) {
      this.entries.delete(path); // re-insert: most recently used last
      this.entries.set(path, held);
      return held;
    }
    const { bytes, stamp } = readVersion(path, file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (held && held.sha256 === sha256) {
      held.stamp = stamp; // touched or copied over with the same bytes: the same model
      return held;
    }
    const detector = Detector.fromSavedModel(decodeSavedModel(bytes, file), file);
    const entry: Entry = { file: path, detector, sha256, loadedAt: new Date(), stamp };
    this.loads++;
    this.entries.delete(path);
    this.entries.set(path, entry);
    while (this.entries.size > this.maxModels) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  /** Drops every model. */
  clear(): void {
    this.entries.clear();
  }
}

/** The bytes of one version of the file and its stamp, both from the same open file (a rename meanwhile cannot mix two versions). */
function readVersion(path: string, name: string): { bytes: Uint8Array; stamp: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new PyramidFlowError(`${name}: cannot open the model file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'E_MODEL_FILE');
  }
  try {
    const stamp = stampOf(fstatSync(fd));
    return { bytes: readFileSync(fd), stamp };
  } catch (err) {
    throw new PyramidFlowError(`${name}: cannot read the model file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'E_MODEL_FILE');
  } finally {
    closeSync(fd);
  }
}
