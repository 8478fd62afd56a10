/**
 * Cheap checks on an uploaded image before it waits for a prediction slot: the data layer's
 * header reader, its errors as HTTP statuses (decoding stays with the detector; a body that is
 * cut short is caught there).
 */
import { readImageHeader as readHeader, type ImageHeader } from '../data/image-header.js';
import { PyramidFlowError } from '../util/errors.js';
import { HttpError } from './errors.js';

export { sniffFormat, type ImageFormat, type ImageHeader } from '../data/image-header.js';

/** Reads the format and size from the header; 415 for other formats, 400 for unreadable headers. */
export async function readImageHeader(bytes: Uint8Array, name = 'the image'): Promise<ImageHeader> {
  try {
    return await readHeader(bytes, name);
  } catch (err) {
    if (!(err instanceof PyramidFlowError)) throw err;
    throw new HttpError(err.code === 'E_NOT_IMAGE' ? 415 : 400, err.code, err.message);
  }
}
