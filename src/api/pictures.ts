/** The three PNGs of a prediction: heat map, heat map over the image, outlines of the regions. */
import type { ImagePrediction, Thresholds } from './types.js';
import { encodePng, planarToInterleaved, type DecodedImage } from '../data/image.js';
import { heatmapRgb, overlayRgb, outlineOfMask, paintMask } from '../detect/pictures.js';

const OUTLINE_COLOUR = [255, 40, 40] as const;

export function pixelMask(map: Float32Array, threshold: number): Uint8Array {
  const mask = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) mask[i] = map[i]! > threshold ? 1 : 0;
  return mask;
}

export async function heatmapPng(pred: ImagePrediction, t: Thresholds): Promise<Buffer> {
  return encodePng({ width: pred.width, height: pred.height, channels: 3, data: heatmapRgb(pred.map, t.scaleMin, t.scaleMax) });
}

export async function maskPng(pred: ImagePrediction, pixelThreshold: number): Promise<Buffer> {
  const mask = pixelMask(pred.map, pixelThreshold);
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i]! * 255;
  return encodePng({ width: pred.width, height: pred.height, channels: 1, data: mask });
}

export async function overlayPng(pred: ImagePrediction, img: DecodedImage, t: Thresholds): Promise<Buffer> {
  return encodePng({ width: pred.width, height: pred.height, channels: 3, data: overlayRgb(planarToInterleaved(img), pred.map, t.scaleMin, t.scaleMax) });
}

export async function outlinePng(pred: ImagePrediction, img: DecodedImage, pixelThreshold: number): Promise<Buffer> {
  const outline = outlineOfMask(pixelMask(pred.map, pixelThreshold), pred.width, pred.height);
  return encodePng({ width: pred.width, height: pred.height, channels: 3, data: paintMask(planarToInterleaved(img), outline, OUTLINE_COLOUR) });
}
