/** Shared test helpers for the data layer: temp folders and tiny generated images. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export function makeTempDir(prefix = 'pf-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a PNG from interleaved pixels; 1 channel becomes a true greyscale PNG. */
export async function writeTestPng(path: string, width: number, height: number, channels: 1 | 2 | 3 | 4, data: Uint8Array): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  let image = sharp(data, { raw: { width, height, channels } });
  if (channels <= 2) image = image.toColourspace('b-w');
  writeFileSync(path, await image.png().toBuffer());
}

/** A solid-grey PNG of the given size (for layout and size checks). */
export async function writeGreyPng(path: string, width: number, height: number, value = 128): Promise<void> {
  await writeTestPng(path, width, height, 1, new Uint8Array(width * height).fill(value));
}

export function touch(path: string, content: string | Uint8Array = ''): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
