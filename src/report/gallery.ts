/**
 * The report's gallery: the worst test images first, each as input, ground truth, heat map
 * and predicted outline, embedded as PNG data: URLs.
 */
import type { Thresholds } from '../detect/types.js';
import type { GalleryItem } from './types.js';
import { escapeHtml } from './escape.js';
import { greyRgb, heatmapRgb, maskToRgb, outlineOfMask, paintMask, shrink, shrinkFactor, shrunkSize, OUTLINE_COLOUR } from '../detect/pictures.js';
import { pixelMask } from '../detect/regions.js';
import { encodePng } from '../data/png.js';
import { pngDataUrl } from './png.js';

/**
 * How wrong an image is at the image threshold: defect images with low scores and good images
 * with high scores come first (a positive value is a misclassified image).
 */
export function badness(item: Pick<GalleryItem, 'label' | 'score'>, imageThreshold: number): number {
  return item.label === 1 ? imageThreshold - item.score : item.score - imageThreshold;
}

/** Gallery items worst first (stable for ties). */
export function orderGallery<T extends Pick<GalleryItem, 'label' | 'score'>>(items: readonly T[], imageThreshold: number): T[] {
  return items
    .map((item, index) => ({ item, index, bad: badness(item, imageThreshold) }))
    .sort((a, b) => b.bad - a.bad || a.index - b.index)
    .map((entry) => entry.item);
}

export interface GalleryPictures {
  width: number;
  height: number;
  input: string;
  groundTruth: string;
  heatmap: string;
  outline: string;
}

/** The four pictures of one item as data: URLs, shrunk so the longer side is <= maxSide. */
export async function galleryPictures(item: GalleryItem, thresholds: Thresholds, maxSide: number): Promise<GalleryPictures> {
  const { width, height } = item;
  const pixels = width * height;
  if (item.map.length !== pixels) throw new Error(`gallery item ${item.file}: map has ${item.map.length} values for ${width}x${height}`);
  const factor = shrinkFactor(width, height, maxSide);
  const size = shrunkSize(width, height, factor);
  const rgb = item.rgb.length === pixels * 3 ? shrink(item.rgb, width, height, 3, factor, 'mean') : greyRgb(size.width, size.height);
  const map = shrink(item.map, width, height, 1, factor, 'max');
  const truth = item.mask && item.mask.length === pixels ? shrink(item.mask, width, height, 1, factor, 'max') : new Uint8Array(size.width * size.height);
  const predicted = outlineOfMask(pixelMask(map, thresholds.pixel), size.width, size.height);
  const encode = async (picture: Uint8Array): Promise<string> =>
    pngDataUrl(await encodePng({ width: size.width, height: size.height, channels: 3, data: picture }));
  const [input, groundTruth, heatmap, outline] = await Promise.all([
    encode(rgb),
    encode(maskToRgb(truth)),
    encode(heatmapRgb(map, thresholds.scaleMin, thresholds.scaleMax)),
    encode(paintMask(rgb, predicted, OUTLINE_COLOUR)),
  ]);
  return { ...size, input, groundTruth, heatmap, outline };
}

function formatScore(score: number): string {
  return Number.isFinite(score) ? score.toPrecision(4) : String(score);
}

export function galleryItemHtml(item: GalleryItem, pictures: GalleryPictures, imageThreshold: number): string {
  const wrong = badness(item, imageThreshold) > 0;
  const name = item.file.split(/[\\/]/).pop() ?? item.file;
  const picture = (src: string, label: string): string =>
    `<figure><img src="${src}" width="${pictures.width}" height="${pictures.height}" alt="${escapeHtml(`${label} of ${name}`)}"><figcaption>${label}</figcaption></figure>`;
  return (
    `<article class="gallery-item${wrong ? ' wrong' : ''}" data-label="${item.label}">` +
    `<header><span class="file" title="${escapeHtml(item.file)}">${escapeHtml(name)}</span>` +
    `<span class="type">${escapeHtml(item.type)}</span>` +
    `<span class="score">score ${formatScore(item.score)}</span>` +
    `<span class="verdict ${wrong ? 'bad' : 'ok'}">${item.verdict}${wrong ? (item.label === 1 ? ' (missed)' : ' (false alarm)') : ''}</span></header>` +
    `<div class="pictures">${picture(pictures.input, 'input')}${picture(pictures.groundTruth, 'ground truth')}` +
    `${picture(pictures.heatmap, 'heat map')}${picture(pictures.outline, 'predicted outline')}</div></article>`
  );
}

/** Worst-first gallery markup; items are encoded one after another to bound memory. */
export async function galleryHtml(items: readonly GalleryItem[], thresholds: Thresholds, maxSide: number): Promise<string> {
  const parts: string[] = [];
  for (const item of orderGallery(items, thresholds.image)) {
    parts.push(galleryItemHtml(item, await galleryPictures(item, thresholds, maxSide), thresholds.image));
  }
  return parts.join('\n');
}
