/** Which augmentation a data set gets: asked for, recorded by our generator, or the official code's choice. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PyramidFlowError } from '../util/errors.js';
import type { AugmentKind } from './augment.js';

/** The official code's texture categories: the only ones it augments. */
export const TEXTURE_CATEGORIES = ['carpet', 'grid', 'leather', 'tile', 'wood'] as const;

/** Written by our synthetic-data generator into each category folder. */
export const SYNTH_MARKER_FILE = 'pyramidflow-synth.json';

export interface ResolvedAugment {
  mode: AugmentKind;
  note?: string;
}

/**
 * 'auto': a category made by our generator says its kind in its marker file; else the
 * official texture list -> texture; anything else -> none, with a note on how to turn it on.
 */
export function resolveAugment(mode: 'texture' | 'none' | 'auto', category: string, datasetRoot?: string): ResolvedAugment {
  if (mode !== 'auto') return { mode };
  // The marker describes this very data, so it wins over the name.
  if (datasetRoot !== undefined) {
    const fromMarker = readSynthAugment(join(datasetRoot, category, SYNTH_MARKER_FILE));
    if (fromMarker !== null) return { mode: fromMarker, note: `augmentation "${fromMarker}" as recorded in ${SYNTH_MARKER_FILE}.` };
  }
  if ((TEXTURE_CATEGORIES as readonly string[]).includes(category)) {
    return { mode: 'texture', note: `"${category}" is a texture category of the official code: flips and 90-degree rotations are on.` };
  }
  return {
    mode: 'none',
    note: `no augmentation for "${category}" (not a known texture category); pass --augment texture for texture-like data whose orientation does not matter.`,
  };
}

function readSynthAugment(path: string): AugmentKind | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null; // no marker: not one of ours
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PyramidFlowError(`"${path}" is not valid JSON.`);
  }
  const augment = (parsed as { augment?: unknown } | null)?.augment;
  if (augment === 'texture' || augment === 'none') return augment;
  throw new PyramidFlowError(`"${path}" has no valid "augment" entry (expected "texture" or "none").`);
}
