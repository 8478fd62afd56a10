/**
 * Training augmentation. The official code (util.py, MVTecAD) applies, to texture classes only,
 * albumentations Compose([HorizontalFlip(p=.5), VerticalFlip(p=.5), RandomRotate90(p=.5)]).
 * RandomRotate90 draws k = randint(0, 3) (0 included) and applies np.rot90(img, k): a
 * counter-clockwise rotation, so a rotation other than 0 happens with probability .5 * 3/4.
 * We draw in the same order: flip-h?, flip-v?, rotate?, then k only when rotating.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PyramidFlowError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { DecodedImage } from './decode.js';

/** How training images are varied: 'texture' (random flips and 90-degree rotations, as the official code does for textures) or 'none'. */
export type AugmentKind = 'texture' | 'none';

/** The official code's texture categories: the only ones it augments. */
export const TEXTURE_CATEGORIES = ['carpet', 'grid', 'leather', 'tile', 'wood'] as const;

/** Written by our synthetic-data generator into each category folder. */
export const SYNTH_MARKER_FILE = 'pyramidflow-synth.json';

export function augmentTexture(img: DecodedImage, rng: Random): DecodedImage {
  let out = img;
  if (rng.next() < 0.5) out = flipHorizontal(out);
  if (rng.next() < 0.5) out = flipVertical(out);
  if (rng.next() < 0.5) out = rotate90(out, rng.int(4));
  return out;
}

export function flipHorizontal(img: DecodedImage): DecodedImage {
  const { width, height, rgb } = img;
  const out = new Uint8Array(rgb.length);
  for (let row = 0; row < 3 * height; row++) {
    const base = row * width;
    for (let x = 0; x < width; x++) out[base + x] = rgb[base + width - 1 - x]!;
  }
  return { width, height, rgb: out };
}

export function flipVertical(img: DecodedImage): DecodedImage {
  const { width, height, rgb } = img;
  const out = new Uint8Array(rgb.length);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const from = (c * height + (height - 1 - y)) * width;
      out.set(rgb.subarray(from, from + width), (c * height + y) * width);
    }
  }
  return { width, height, rgb: out };
}

/**
 * np.rot90(img, k): k quarter turns counter-clockwise. Odd k swaps width and height.
 * For k = 1, out[i][j] = in[j][W-1-i].
 */
export function rotate90(img: DecodedImage, k: number): DecodedImage {
  const turns = ((k % 4) + 4) % 4;
  if (turns === 0) return img;
  const { width: w, height: h, rgb } = img;
  const outW = turns === 2 ? w : h;
  const outH = turns === 2 ? h : w;
  const out = new Uint8Array(rgb.length);
  const n = w * h;
  for (let c = 0; c < 3; c++) {
    const src = c * n;
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        let y: number;
        let x: number;
        if (turns === 1) {
          y = j;
          x = w - 1 - i;
        } else if (turns === 2) {
          y = h - 1 - i;
          x = w - 1 - j;
        } else {
          y = h - 1 - j;
          x = i;
        }
        out[src + i * outW + j] = rgb[src + y * w + x]!;
      }
    }
  }
  return { width: outW, height: outH, rgb: out };
}

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
