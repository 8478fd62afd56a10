/**
 * The image side of the data layer on Node: decode, resize, normalise, masks, PNG and float-TIFF
 * output. Helpers live in sibling files; pixels.ts is the part without Node or sharp.
 */
export type { DecodedImage, RasterImage } from './pixels.js';
export { interleavedToPlanar, planarToInterleaved, resizeImage, normalizeImage, IMAGENET_MEAN, IMAGENET_STD } from './pixels.js';
export { readImage, decodeImage, checkPixels, DEFAULT_MAX_PIXELS, type DecodeOptions } from './decode.js';
export { resizePlane, pilResampleFloat, pilResampleUint8 } from './resize.js';
export { readMask, readMaskOriginal, maskFromImage, type OriginalMask } from './mask.js';
export { encodePng, writePng, type PngImage } from './png.js';
export { writeFloatTiff, readFloatTiff, encodeFloatTiff, decodeFloatTiff, type FloatImage } from './tiff.js';
export { readImageHeader, readImageHeaderFromFile, sniffFormat, type ImageHeader, type ImageFormat } from './image-header.js';
