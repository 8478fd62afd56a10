/**
 * Training augmentation. The official code (util.py, MVTecAD) applies, to texture classes only,
 * albumentations Compose([HorizontalFlip(p=.5), VerticalFlip(p=.5), RandomRotate90(p=.5)]).
 * RandomRotate90 draws k = randint(0, 3) (0 included) and applies np.rot90(img, k): a
 * counter-clockwise rotation, so a rotation other than 0 happens with probability .5 * 3/4.
 * We draw in the same order: flip-h?, flip-v?, rotate?, then k only when rotating. Pure pixel
 * work (no files): which mode a data set gets is augment-mode.ts's.
 */
import type { Random } from '../util/random.js';
import type { DecodedImage } from './pixels.js';

/** How training images are varied: 'texture' (random flips and 90-degree rotations, as the official code does for textures) or 'none'. */
export type AugmentKind = 'texture' | 'none';

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
