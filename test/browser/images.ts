/**
 * Test images for the browser tests, written here byte by byte where the format matters (PNG
 * colour types and bit depths, BMP) and by sharp where an encoder's output is the point (JPEG,
 * ICC-tagged files, TIFF). Deterministic: the same bytes on every run.
 */
// Node's own CRC-32 (zlib's): an implementation independent of src/util/crc32.ts.
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** PNG colour types by name. */
const COLOUR_TYPES = { grey: 0, rgb: 2, palette: 3, greyAlpha: 4, rgba: 6 } as const;
const SAMPLES = { grey: 1, rgb: 3, palette: 1, greyAlpha: 2, rgba: 4 } as const;

/**
 * A PNG of `samples` (interleaved, rows top to bottom; 16-bit samples as numbers up to 65535),
 * filter 0 on every row; `palette` (RGB triples) and `transparency` (alpha per entry) for palette images.
 */
export function encodePng(
  width: number,
  height: number,
  kind: keyof typeof COLOUR_TYPES,
  depth: 8 | 16,
  samples: ArrayLike<number>,
  palette?: Uint8Array,
  transparency?: Uint8Array,
): Uint8Array {
  const perPixel = SAMPLES[kind];
  const bytesPerSample = depth / 8;
  const row = 1 + width * perPixel * bytesPerSample;
  const raw = new Uint8Array(row * height);
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * perPixel; i++) {
      const v = samples[y * width * perPixel + i]!;
      const at = y * row + 1 + i * bytesPerSample;
      if (depth === 16) {
        raw[at] = v >> 8;
        raw[at + 1] = v & 0xff;
      } else raw[at] = v;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = depth;
  header[9] = COLOUR_TYPES[kind];
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header)];
  if (palette) parts.push(chunk('PLTE', palette));
  if (transparency) parts.push(chunk('tRNS', transparency));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** A 24-bit bottom-up BMP of interleaved RGB. */
export function encodeBmp(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const row = Math.ceil((width * 3) / 4) * 4;
  const out = new Uint8Array(54 + row * height);
  const view = new DataView(out.buffer);
  out.set([0x42, 0x4d]);
  view.setUint32(2, out.length, true);
  view.setUint32(10, 54, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * 3;
      const to = 54 + (height - 1 - y) * row + x * 3;
      out[to] = rgb[from + 2]!;
      out[to + 1] = rgb[from + 1]!;
      out[to + 2] = rgb[from]!;
    }
  }
  return out;
}

/** A smooth colour pattern with seeded noise (a photo-like signal: JPEG has detail to keep). */
export function pattern(width: number, height: number, channels: number, seed: number, max = 255): number[] {
  let s = seed >>> 0 || 1;
  const noise = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24) / 255 - 0.5;
  const out: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const wave = 0.5 + 0.35 * Math.sin((x * (c + 1)) / 7 + seed) * Math.cos((y * (3 - (c % 3))) / 5);
        out.push(Math.max(0, Math.min(max, Math.round((wave + 0.15 * noise()) * max))));
      }
    }
  }
  return out;
}

/** The decode test's images by file name: every PNG layout, JPEGs, ICC-tagged files, BMP and TIFF. */
export async function decodeFixtures(): Promise<Record<string, Uint8Array>> {
  const W = 61,
    H = 47;
  const rgb = Uint8Array.from(pattern(W, H, 3, 1));
  const alpha = Uint8Array.from({ length: W * H }, (_, i) => (i * 37) % 256); // every alpha, 0 included
  const rgba = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) rgba.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, alpha[i]!], 4 * i);
  const grey = pattern(W, H, 1, 2);
  const greyAlpha = grey.flatMap((v, i) => [v, alpha[i]!]);
  const palette = Uint8Array.from(pattern(16, 1, 3, 3));
  const sRgbInput = { raw: { width: W, height: H, channels: 3 as const } };
  return {
    'grey8.png': encodePng(W, H, 'grey', 8, grey),
    'grey16.png': encodePng(W, H, 'grey', 16, pattern(W, H, 1, 4, 65535)),
    'grey-alpha.png': encodePng(W, H, 'greyAlpha', 8, greyAlpha),
    'rgb8.png': encodePng(W, H, 'rgb', 8, rgb),
    'rgb16.png': encodePng(W, H, 'rgb', 16, pattern(W, H, 3, 5, 65535)),
    'rgba8.png': encodePng(W, H, 'rgba', 8, rgba),
    'rgba16.png': encodePng(W, H, 'rgba', 16, pattern(W, H, 4, 6, 65535)),
    'palette.png': encodePng(
      W,
      H,
      'palette',
      8,
      grey.map((v) => v % 16),
      palette,
      Uint8Array.from({ length: 16 }, (_, i) => i * 17),
    ),
    'icc-p3.png': await sharp(rgb, sRgbInput).withIccProfile('p3').png().toBuffer(),
    'photo.jpg': await sharp(rgb, sRgbInput).jpeg({ quality: 90 }).toBuffer(),
    'photo-444.jpg': await sharp(rgb, sRgbInput).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer(),
    'icc-p3.jpg': await sharp(rgb, sRgbInput).withIccProfile('p3').jpeg({ quality: 90 }).toBuffer(),
    ...Object.fromEntries(
      await Promise.all(
        [2, 3, 4, 5, 6, 7, 8].map(async (orientation) => [
          `exif-${orientation}.jpg`,
          await sharp(rgb, sRgbInput).jpeg({ quality: 90 }).withMetadata({ orientation }).toBuffer(),
        ]),
      ),
    ),
    'exif-6.png': await sharp(rgb, sRgbInput).png().withMetadata({ orientation: 6 }).toBuffer(),
    'image.bmp': encodeBmp(W, H, rgb),
    'refused.tif': await sharp(rgb, sRgbInput).tiff().toBuffer(),
  };
}
