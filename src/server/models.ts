/**
 * The models a server serves, by name. A reload loads the new detector first and swaps it in
 * only once it has loaded; predictions hold the detector they started with, so requests in
 * flight finish on the old one, and a failed reload leaves the old one serving.
 */
import { basename, extname, resolve } from 'node:path';
import type { ImageDetector } from '../api/index.js';
import { PyramidFlowError } from '../util/errors.js';

/** A model to serve: its name in URLs and its model file. */
export interface ModelSpec {
  /** The name in `/v1/models/NAME/...`. */
  name: string;
  /** The model file (never shown to clients; they see its base name). */
  file: string;
}

/** How a model file becomes a detector (the library's loadDetector unless a test gives another). */
export type DetectorLoader = (file: string) => Promise<ImageDetector>;

export interface ModelEntry {
  readonly name: string;
  readonly file: string;
  readonly detector: ImageDetector;
  readonly loadedAt: Date;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Parses a `--model` value: `NAME=FILE`, or a bare FILE named by its file stem
 * (`models/bottle.pfm` is served as `bottle`).
 */
export function parseModelSpec(spec: string): ModelSpec {
  const eq = spec.indexOf('=');
  // A '=' is a NAME=FILE separator only when what is before it is a valid name (paths may hold '=').
  if (eq > 0 && NAME.test(spec.slice(0, eq))) return { name: spec.slice(0, eq), file: spec.slice(eq + 1) };
  const stem = basename(spec, extname(spec));
  return { name: stem, file: spec };
}

export function validateSpecs(specs: ModelSpec[]): void {
  if (specs.length === 0) throw new PyramidFlowError('serve: give at least one model (--model FILE or --model NAME=FILE)', 'E_OPTION');
  const seen = new Set<string>();
  for (const { name, file } of specs) {
    if (!NAME.test(name)) {
      throw new PyramidFlowError(`serve: model name "${name}" must start with a letter or digit and hold only letters, digits, '.', '_' and '-'`, 'E_OPTION');
    }
    if (!file) throw new PyramidFlowError(`serve: model "${name}" has no file`, 'E_OPTION');
    if (seen.has(name)) throw new PyramidFlowError(`serve: two models are named "${name}"; name them with --model NAME=FILE`, 'E_OPTION');
    seen.add(name);
  }
}

export class ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>();
  private readonly reloading = new Map<string, Promise<ModelEntry>>();

  constructor(
    private readonly specs: ModelSpec[],
    private readonly loader: DetectorLoader,
  ) {
    validateSpecs(specs);
  }

  /** Loads every model; the first failure names the model and file. */
  async loadAll(): Promise<void> {
    for (const spec of this.specs) {
      this.entries.set(spec.name, await this.load(spec));
    }
  }

  get(name: string): ModelEntry | undefined {
    return this.entries.get(name);
  }

  list(): ModelEntry[] {
    return [...this.entries.values()];
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The text with every model file's path (as given and absolute) cut to its base name: replies
   * tell clients which file, never where the server keeps it. Loader errors quote paths, so every
   * error reply goes through here.
   */
  redact(text: string): string {
    let out = text;
    for (const { file } of this.specs) {
      const name = basename(file);
      for (const path of [resolve(file), file]) if (path !== name) out = out.split(path).join(name);
    }
    return out;
  }

  /** Reloads one model from its file; concurrent reloads of the same model share one load. */
  reload(name: string): Promise<ModelEntry> {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) return Promise.reject(new PyramidFlowError(`unknown model "${name}"`, 'E_UNKNOWN_MODEL'));
    let pending = this.reloading.get(name);
    if (!pending) {
      pending = this.load(spec)
        .then((entry) => {
          this.entries.set(name, entry);
          return entry;
        })
        .finally(() => this.reloading.delete(name));
      this.reloading.set(name, pending);
    }
    return pending;
  }

  /** Reloads every model, one after another (two models in memory at most), each on its own. */
  async reloadAll(): Promise<Array<{ name: string; ok: boolean; error?: string }>> {
    const results: Array<{ name: string; ok: boolean; error?: string }> = [];
    for (const { name } of this.specs) {
      try {
        await this.reload(name);
        results.push({ name, ok: true });
      } catch (err) {
        results.push({ name, ok: false, error: (err as Error).message });
      }
    }
    return results;
  }

  private async load(spec: ModelSpec): Promise<ModelEntry> {
    let detector: ImageDetector;
    try {
      detector = await this.loader(spec.file);
    } catch (err) {
      const reason = (err as Error).message;
      throw new PyramidFlowError(`cannot load model "${spec.name}" from ${spec.file}: ${reason}`, 'E_MODEL_LOAD');
    }
    return { name: spec.name, file: spec.file, detector, loadedAt: new Date() };
  }
}
