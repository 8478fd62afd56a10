import sharp from 'sharp';

/** Encodes RGB interleaved 8-bit pixels as PNG. */
export async function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  if (rgb.length !== width * height * 3) {
    throw new Error(`encodeRgbPng: expected ${width * height * 3} bytes for ${width}x${height}, got ${rgb.length}`);
  }
  const pixels = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 9 }).toBuffer();
}

/** A PNG as a data: URL, so the report needs no files beside it and makes no requests. */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
