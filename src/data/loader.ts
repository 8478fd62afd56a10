import type { DecodedImage, DecodeOptions } from './decode.js';
import { readImage, resizeImage } from './image.js';

export type LoadProgress = (done: number, total: number, path: string) => void;

/**
 * Decodes and resizes every image once, keeping the results in memory (in input order).
 * A few decodes run at once so sharp's thread pool stays busy without holding many
 * full-size images at a time. Errors name the file (readImage's PyramidFlowError). `decode`
 * goes to every read: its `maxPixels` refuses an image over the limit from its header.
 */
export async function loadResized(
  paths: string[],
  height: number,
  width: number,
  onProgress?: LoadProgress,
  concurrency = 4,
  decode: DecodeOptions = {},
): Promise<DecodedImage[]> {
  const out: DecodedImage[] = new Array(paths.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const index = next++;
      const path = paths[index]!;
      out[index] = resizeImage(await readImage(path, decode), height, width);
      done++;
      onProgress?.(done, paths.length, path);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, paths.length)) }, worker));
  return out;
}
