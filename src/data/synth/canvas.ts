/** A float RGB canvas (planar, 0..255 nominal) that textures are drawn on and defects edit. */
export interface Canvas {
  width: number;
  height: number;
  /** Planar 3 x H x W. */
  data: Float32Array;
}

export function createCanvas(width: number, height: number): Canvas {
  return { width, height, data: new Float32Array(3 * width * height) };
}

export function cloneCanvas(canvas: Canvas): Canvas {
  return { width: canvas.width, height: canvas.height, data: canvas.data.slice() };
}

export function setPixel(canvas: Canvas, index: number, r: number, g: number, b: number): void {
  const n = canvas.width * canvas.height;
  canvas.data[index] = r;
  canvas.data[n + index] = g;
  canvas.data[2 * n + index] = b;
}

/** Interleaved uint8 RGB; a clamped array does the rounding (half to even) and clamping. */
export function canvasToRgb(canvas: Canvas): Uint8Array {
  const n = canvas.width * canvas.height;
  const { data } = canvas;
  const out = new Uint8ClampedArray(3 * n);
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    out[o] = data[i]!;
    out[o + 1] = data[n + i]!;
    out[o + 2] = data[2 * n + i]!;
  }
  return new Uint8Array(out.buffer);
}

/** 0/1 mask -> 0/255 grey bytes. */
export function maskToGrey(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? 255 : 0;
  return out;
}

/** A rectangle clipped to the canvas: [x0, x1) x [y0, y1). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function clipBox(canvas: Canvas, x0: number, y0: number, x1: number, y1: number): Box {
  return {
    x0: Math.max(0, Math.floor(x0)),
    y0: Math.max(0, Math.floor(y0)),
    x1: Math.min(canvas.width, Math.ceil(x1)),
    y1: Math.min(canvas.height, Math.ceil(y1)),
  };
}
