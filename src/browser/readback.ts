/**
 * An ImageBitmap's pixels as interleaved RGBA, unpremultiplied. A 2D canvas keeps premultiplied
 * colour, so a translucent pixel comes back changed (alpha 0 comes back black): a WebGL texture
 * uploaded without premultiplication keeps the decoder's values, and is read back exactly. The
 * 2D canvas is the fallback where WebGL is missing (exact for opaque images, which most are).
 */

let gl: WebGL2RenderingContext | null | undefined;

/** One WebGL2 context for every readback of this thread (contexts are few and slow to make). */
function glContext(): WebGL2RenderingContext | null {
  if (gl !== undefined) return gl;
  try {
    gl = new OffscreenCanvas(1, 1).getContext('webgl2', {
      premultipliedAlpha: false,
      antialias: false,
      depth: false,
      stencil: false,
      preserveDrawingBuffer: false,
    });
  } catch {
    gl = null;
  }
  return gl;
}

/** Resolves once the GPU has passed `sync` (polled: WebGL allows no blocking wait). */
async function passed(g: WebGL2RenderingContext, sync: WebGLSync): Promise<boolean> {
  for (let waited = 0; waited < 10_000; waited++) {
    const status = g.clientWaitSync(sync, 0, 0);
    if (status === g.ALREADY_SIGNALED || status === g.CONDITION_SATISFIED) return true;
    if (status === g.WAIT_FAILED || g.isContextLost()) return false;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return false;
}

/**
 * Through a texture; null if WebGL fails (lost context, too large a texture). The pixels are
 * read into a buffer and fetched once a fence has passed: a synchronous readPixels stalls the
 * GPU, and Chromium says so in the console.
 */
async function viaWebGl(bitmap: ImageBitmap): Promise<Uint8Array | null> {
  const g = glContext();
  if (!g || g.isContextLost()) return null;
  const { width, height } = bitmap;
  const max = g.getParameter(g.MAX_TEXTURE_SIZE) as number;
  if (width > max || height > max) return null;
  const texture = g.createTexture();
  const framebuffer = g.createFramebuffer();
  const pixels = g.createBuffer();
  let sync: WebGLSync | null = null;
  try {
    g.bindTexture(g.TEXTURE_2D, texture);
    g.pixelStorei(g.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    g.pixelStorei(g.UNPACK_FLIP_Y_WEBGL, false);
    g.pixelStorei(g.UNPACK_COLORSPACE_CONVERSION_WEBGL, g.NONE);
    g.texImage2D(g.TEXTURE_2D, 0, g.RGBA8, g.RGBA, g.UNSIGNED_BYTE, bitmap);
    g.bindFramebuffer(g.FRAMEBUFFER, framebuffer);
    g.framebufferTexture2D(g.FRAMEBUFFER, g.COLOR_ATTACHMENT0, g.TEXTURE_2D, texture, 0);
    if (g.checkFramebufferStatus(g.FRAMEBUFFER) !== g.FRAMEBUFFER_COMPLETE) return null;
    const out = new Uint8Array(width * height * 4);
    g.pixelStorei(g.PACK_ALIGNMENT, 1);
    g.bindBuffer(g.PIXEL_PACK_BUFFER, pixels);
    g.bufferData(g.PIXEL_PACK_BUFFER, out.byteLength, g.STREAM_READ);
    // Texture row 0 is the bitmap's top row (no flip on upload), and readPixels starts at row 0.
    g.readPixels(0, 0, width, height, g.RGBA, g.UNSIGNED_BYTE, 0);
    g.bindBuffer(g.PIXEL_PACK_BUFFER, null);
    g.bindFramebuffer(g.FRAMEBUFFER, null);
    sync = g.fenceSync(g.SYNC_GPU_COMMANDS_COMPLETE, 0);
    g.flush();
    if (!sync || !(await passed(g, sync))) return null;
    // Other readbacks may have run meanwhile: bind this one's buffer again.
    g.bindBuffer(g.PIXEL_PACK_BUFFER, pixels);
    g.getBufferSubData(g.PIXEL_PACK_BUFFER, 0, out);
    g.bindBuffer(g.PIXEL_PACK_BUFFER, null);
    return g.getError() === g.NO_ERROR ? out : null;
  } finally {
    if (sync) g.deleteSync(sync);
    g.deleteBuffer(pixels);
    g.deleteFramebuffer(framebuffer);
    g.deleteTexture(texture);
  }
}

/** Through a 2D canvas (premultiplied inside: exact only where alpha is 255). */
function via2d(bitmap: ImageBitmap): Uint8Array {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('this browser gives no 2D canvas to read image pixels with');
  context.drawImage(bitmap, 0, 0);
  const data = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Interleaved RGBA, rows top to bottom, colour not multiplied by alpha. */
export async function readRgbaUnpremultiplied(bitmap: ImageBitmap): Promise<Uint8Array> {
  return (await viaWebGl(bitmap)) ?? via2d(bitmap);
}
