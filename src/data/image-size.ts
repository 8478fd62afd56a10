import { open } from 'node:fs/promises';
import sharp from 'sharp';
import { PyramidFlowError } from '../util/errors.js';
import { isBmp, readBmpSize } from './bmp.js';
import { describeFsError } from './decode.js';

/** Width and height from the file header, without decoding the pixels. */
export async function readImageSize(path: string): Promise<{ width: number; height: number }> {
  let head: Uint8Array;
  try {
    // 64 KiB holds any BMP header; sharp reads its formats' headers from the path itself.
    const handle = await open(path, 'r');
    try {
      const buffer = new Uint8Array(65536);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new PyramidFlowError(`Cannot read image "${path}": ${describeFsError(err)}.`);
  }
  if (head.length === 0) throw new PyramidFlowError(`Cannot read image "${path}": the file is empty.`);
  if (isBmp(head)) return readBmpSize(head, path);
  try {
    const meta = await sharp(path).metadata();
    if (!meta.width || !meta.height) throw new Error('no size in header');
    return { width: meta.width, height: meta.height };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PyramidFlowError(`Cannot read image "${path}": unreadable header (${reason}).`);
  }
}
