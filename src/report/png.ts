/** A PNG as a data: URL, so the report needs no files beside it and makes no requests. */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
