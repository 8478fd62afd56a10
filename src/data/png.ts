import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic-file.js';
import { PyramidFlowError } from '../util/errors.js';
import type { RasterImage } from './pixels.js';

/** What encodePng takes: interleaved 8-bit samples. */
export type PngImage = RasterImage;

/**
 * PNG bytes with fixed settings (zlib level 6, one filter for all rows, no palette, no
 * metadata), so the same pixels always give the same bytes with a given sharp version.
 */
export async function encodePng(img: PngImage): Promise<Buffer> {
  const { width, height, channels, data } = img;
  if (![1, 3, 4].includes(channels)) throw new RangeError(`encodePng: channels must be 1, 3 or 4, got ${channels}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`encodePng: invalid size ${width} x ${height}`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`encodePng: expected ${width * height * channels} bytes for ${width} x ${height} x ${channels}, got ${data.length}`);
  }
  return sharp(data, { raw: { width, height, channels } })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false, progressive: false })
    .toBuffer();
}

/** Writes a PNG atomically (readers never see a half-written file). */
export async function writePng(path: string, img: PngImage): Promise<void> {
  const bytes = await encodePng(img);
  try {
    writeFileAtomic(path, bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PyramidFlowError(`Cannot write PNG "${path}": ${reason}.`);
  }
}
