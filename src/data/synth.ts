/**
 * Synthetic anomaly-detection data in the MVTec AD layout, for demos, tests and CI:
 *   <out>/<category>/train/good/000.png
 *   <out>/<category>/test/good/000.png, test/<defect>/000.png
 *   <out>/<category>/ground_truth/<defect>/000_mask.png   (0/255)
 *   <out>/<category>/pyramidflow-synth.json               (kind, augmentation, settings)
 * Each image has its own random stream derived from (seed, category, split, index), so a
 * category's files do not depend on which other categories are generated, and the same seed
 * gives byte-identical files.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import { PyramidFlowError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { SYNTH_MARKER_FILE } from './augment-mode.js';
import { describeFsError } from './decode.js';
import { encodePng } from './png.js';
import { canvasToRgb, cloneCanvas, maskToGrey } from './synth/canvas.js';
import { paintDefect, type DefectKind } from './synth/defects.js';
import { renderBrushedMetal, renderFabric, renderGrid, renderStone, renderWasher, renderWood, type Rendered } from './synth/textures.js';

/** What synthetic data to write (`pyramidflow synth`). */
export interface SynthOptions {
  /**
   * Output folder; one sub-folder per category. A category folder already there is replaced
   * only if this generator made it (it holds pyramidflow-synth.json); otherwise it is refused.
   */
  out: string;
  /** Categories to write (default all: fabric, brushed_metal, wood, stone, grid, washer). */
  categories?: string[];
  /** Image side in pixels, square, 32 to 4096 (default 256). */
  size?: number;
  /** Good training images per category, 1 to 100000 (default 40). */
  train?: number;
  /** Good test images per category, 0 to 100000 (default 10). */
  testGood?: number;
  /** Defective test images per category, spread over its defect types in turn, 0 to 100000 (default 20). */
  testDefect?: number;
  /** Seed, 0 to 2^32 - 1 (default 0); the same seed gives byte-identical files. */
  seed?: number;
}

/** What was written for one category. */
export interface SynthCategorySummary {
  /** The category, e.g. 'fabric'. */
  name: string;
  /** 'texture' (trained with texture augmentation) or 'object' (without). */
  kind: 'texture' | 'object';
  /** Good training images written. */
  train: number;
  /** Good test images written. */
  testGood: number;
  /** Defective test images written. */
  testDefect: number;
  /** The defect types used, one test sub-folder each (e.g. 'hole', 'stain'). */
  defectTypes: string[];
}

/** What `synth` wrote. */
export interface SynthSummary {
  /** The output folder, absolute. */
  out: string;
  /** One entry per category, in the order written. */
  categories: SynthCategorySummary[];
}

/** How one synthetic category is drawn. */
export interface CategorySpec {
  /** Category name (its folder). */
  name: string;
  /** 'texture' or 'object': decides the augmentation recorded in the marker file. */
  kind: 'texture' | 'object';
  /** Renders one good image of `size` x `size` pixels from the random stream. */
  render: (size: number, rng: Random) => Rendered;
  /** Defect kinds painted on test images, used in this order. */
  defects: DefectKind[];
  /** Where a 'patch' defect's piece comes from: elsewhere in the image, a quarter turn ('rotate'), or shifted off the texture's period ('shift'). */
  patchMode: 'rotate' | 'shift';
}

const SPECS: CategorySpec[] = [
  { name: 'fabric', kind: 'texture', render: renderFabric, defects: ['hole', 'stain', 'thread', 'patch'], patchMode: 'shift' },
  { name: 'brushed_metal', kind: 'texture', render: renderBrushedMetal, defects: ['scratch', 'stain', 'spots', 'patch'], patchMode: 'rotate' },
  { name: 'wood', kind: 'texture', render: renderWood, defects: ['scratch', 'hole', 'stain', 'crack'], patchMode: 'rotate' },
  { name: 'stone', kind: 'texture', render: renderStone, defects: ['crack', 'stain', 'hole', 'scratch'], patchMode: 'rotate' },
  { name: 'grid', kind: 'texture', render: renderGrid, defects: ['patch', 'spots', 'scratch', 'stain'], patchMode: 'shift' },
  { name: 'washer', kind: 'object', render: renderWasher, defects: ['scratch', 'notch', 'stain', 'spots'], patchMode: 'rotate' },
];

/** The names of the synthetic categories, in the default order. */
export const SYNTH_CATEGORIES: readonly string[] = SPECS.map((spec) => spec.name);

const DEFAULTS = { size: 256, train: 40, testGood: 10, testDefect: 20, seed: 0 };
const SPLIT_TRAIN = 1;
const SPLIT_TEST_GOOD = 2;
const SPLIT_TEST_DEFECT = 3;
/** A defect smaller than this many mask pixels is repainted (e.g. a scratch that left the object). */
const MIN_DEFECT_PIXELS = 4;
const WRITE_CONCURRENCY = 4;

/**
 * Writes synthetic data sets in the MVTec AD layout (see the top of this file), one category
 * after another, and returns what was written. Throws a PyramidFlowError for an unknown
 * category, an option out of range, or a folder that cannot be written or is not the
 * generator's own.
 */
export async function synthesize(opts: SynthOptions): Promise<SynthSummary> {
  const settings = validate(opts);
  const out = resolve(opts.out);
  const specs = settings.categories.map((name) => SPECS.find((spec) => spec.name === name)!);
  const summary: SynthSummary = { out, categories: [] };
  for (const spec of specs) {
    try {
      summary.categories.push(await synthesizeCategory(out, spec, settings));
    } catch (err) {
      if (err instanceof PyramidFlowError) throw err;
      throw new PyramidFlowError(`Cannot write synthetic category "${spec.name}" under "${out}": ${describeFsError(err)}.`);
    }
  }
  return summary;
}

interface Settings {
  categories: string[];
  size: number;
  train: number;
  testGood: number;
  testDefect: number;
  seed: number;
}

function validate(opts: SynthOptions): Settings {
  const settings: Settings = {
    categories: opts.categories && opts.categories.length > 0 ? [...new Set(opts.categories)] : [...SYNTH_CATEGORIES],
    size: opts.size ?? DEFAULTS.size,
    train: opts.train ?? DEFAULTS.train,
    testGood: opts.testGood ?? DEFAULTS.testGood,
    testDefect: opts.testDefect ?? DEFAULTS.testDefect,
    seed: opts.seed ?? DEFAULTS.seed,
  };
  const unknown = settings.categories.filter((name) => !SYNTH_CATEGORIES.includes(name));
  if (unknown.length > 0) {
    throw new PyramidFlowError(
      `Unknown synthetic categor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((u) => `"${u}"`).join(', ')}; available: ${SYNTH_CATEGORIES.join(', ')}.`,
    );
  }
  const integer = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new PyramidFlowError(`Synthetic data: ${name} must be an integer from ${min} to ${max}, got ${value}.`);
    }
  };
  integer('size', settings.size, 32, 4096);
  integer('train', settings.train, 1, 100000);
  integer('testGood', settings.testGood, 0, 100000);
  integer('testDefect', settings.testDefect, 0, 100000);
  integer('seed', settings.seed, 0, 0xffffffff);
  return settings;
}

/** A 32-bit mix of the identifiers of one image, so each image has its own random stream. */
function imageSeed(seed: number, category: string, split: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  for (const code of [...category].map((ch) => ch.charCodeAt(0)).concat([split, index])) {
    h = Math.imul(h ^ code, 0xcc9e2d51) >>> 0;
    h = ((h << 13) | (h >>> 19)) >>> 0;
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}

async function prepareCategoryFolder(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    names = []; // does not exist yet
  }
  if (names.length > 0) {
    // Only replace a folder this generator made: never wipe someone's real data.
    if (!names.includes(SYNTH_MARKER_FILE)) {
      throw new PyramidFlowError(
        `"${dir}" exists and is not a synthetic category made by pyramidflow (no ${SYNTH_MARKER_FILE}); choose another output folder.`,
      );
    }
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
}

async function synthesizeCategory(out: string, spec: CategorySpec, settings: Settings): Promise<SynthCategorySummary> {
  const dir = join(out, spec.name);
  await prepareCategoryFolder(dir);
  const { size, seed } = settings;
  const jobs: (() => Promise<void>)[] = [];
  const name = (i: number): string => String(i).padStart(3, '0');
  const writeImage = async (path: string, render: () => Uint8Array, channels: 1 | 3): Promise<void> => {
    const bytes = await encodePng({ width: size, height: size, channels, data: render() });
    await writeFile(path, bytes);
  };

  await mkdir(join(dir, 'train', 'good'), { recursive: true });
  for (let i = 0; i < settings.train; i++) {
    jobs.push(() => writeImage(join(dir, 'train', 'good', `${name(i)}.png`), () => goodImage(spec, size, imageSeed(seed, spec.name, SPLIT_TRAIN, i)), 3));
  }
  await mkdir(join(dir, 'test', 'good'), { recursive: true });
  for (let i = 0; i < settings.testGood; i++) {
    jobs.push(() => writeImage(join(dir, 'test', 'good', `${name(i)}.png`), () => goodImage(spec, size, imageSeed(seed, spec.name, SPLIT_TEST_GOOD, i)), 3));
  }
  const usedTypes = spec.defects.slice(0, Math.min(spec.defects.length, settings.testDefect));
  for (const type of usedTypes) {
    await mkdir(join(dir, 'test', type), { recursive: true });
    await mkdir(join(dir, 'ground_truth', type), { recursive: true });
  }
  const perType = new Map<string, number>();
  for (let i = 0; i < settings.testDefect; i++) {
    const type = spec.defects[i % spec.defects.length]!;
    const k = perType.get(type) ?? 0;
    perType.set(type, k + 1);
    jobs.push(async () => {
      const { image, mask } = defectImage(spec, type, size, imageSeed(seed, spec.name, SPLIT_TEST_DEFECT, i));
      await writeImage(join(dir, 'test', type, `${name(k)}.png`), () => image, 3);
      await writeImage(join(dir, 'ground_truth', type, `${name(k)}_mask.png`), () => maskToGrey(mask), 1);
    });
  }
  await runLimited(jobs, WRITE_CONCURRENCY);

  const marker = {
    generator: 'pyramidflow synth',
    version: 1,
    category: spec.name,
    kind: spec.kind,
    augment: spec.kind === 'texture' ? 'texture' : 'none',
    size,
    seed,
    train: settings.train,
    testGood: settings.testGood,
    testDefect: settings.testDefect,
    defectTypes: usedTypes,
  };
  // Written last: its presence means the category is complete.
  writeFileAtomic(join(dir, SYNTH_MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
  return { name: spec.name, kind: spec.kind, train: settings.train, testGood: settings.testGood, testDefect: settings.testDefect, defectTypes: usedTypes };
}

function goodImage(spec: CategorySpec, size: number, imageSeedValue: number): Uint8Array {
  return canvasToRgb(spec.render(size, new Random(imageSeedValue)).canvas);
}

/** A normal image with one defect painted on it, and the defect's exact 0/1 mask. */
export function defectImage(
  spec: Pick<CategorySpec, 'render' | 'patchMode'>,
  type: DefectKind,
  size: number,
  imageSeedValue: number,
): {
  /** RGB interleaved, 8-bit, size x size. */
  image: Uint8Array;
  /** 1 on the defect, 0 elsewhere, size x size. */
  mask: Uint8Array;
} {
  const rng = new Random(imageSeedValue);
  const rendered = spec.render(size, rng);
  for (let attempt = 0; ; attempt++) {
    const canvas = cloneCanvas(rendered.canvas);
    const mask = paintDefect(type, { rendered: { ...rendered, canvas }, rng, patchMode: spec.patchMode });
    let area = 0;
    for (let i = 0; i < mask.length; i++) area += mask[i]!;
    if (area >= MIN_DEFECT_PIXELS || attempt >= 20) return { image: canvasToRgb(canvas), mask };
  }
}

async function runLimited(jobs: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
}

/** Exposed for tests: render one category's good image or defect image in memory. */
export function synthCategorySpec(name: string): CategorySpec {
  const spec = SPECS.find((s) => s.name === name);
  if (!spec) throw new PyramidFlowError(`Unknown synthetic category "${name}"; available: ${SYNTH_CATEGORIES.join(', ')}.`);
  return spec;
}
