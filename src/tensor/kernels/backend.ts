/**
 * The kernel interface: the only place where the model's heavy arithmetic leaves TypeScript.
 * Ops (src/tensor/ops.ts) call these; backends (kernels/js, kernels/wasm) implement them.
 * All arrays are float32, NCHW / OIHW, C order. Every kernel overwrites its output.
 */

/** A 'same' convolution: odd kernel k, stride 1, zero padding (k-1)/2, no bias. */
export interface ConvShape {
  batch: number;
  inChannels: number;
  outChannels: number;
  height: number;
  width: number;
  kernel: number;
}

export interface KernelBackend {
  readonly name: string;
  /** y[n,o,h,w] = sum_{i,a,b} w[o,i,a,b] * x[n,i,h+a-p,w+b-p] (cross-correlation, as PyTorch). */
  conv2d(x: Float32Array, w: Float32Array, s: ConvShape, y: Float32Array): void;
  /** dx[n,i,h,w] = sum_{o,a,b} w[o,i,a,b] * dy[n,o,h-a+p,w-b+p]: the gradient of conv2d for x. */
  conv2dGradInput(dy: Float32Array, w: Float32Array, s: ConvShape, dx: Float32Array): void;
  /** dw[o,i,a,b] = sum_{n,h,w} dy[n,o,h,w] * x[n,i,h+a-p,w+b-p]: the gradient of conv2d for w. */
  conv2dGradWeight(x: Float32Array, dy: Float32Array, s: ConvShape, dw: Float32Array): void;
  /** Frees threads and memory; the backend is unusable afterwards. */
  dispose(): void;
}

export function convOutputSize(s: ConvShape): number {
  return s.batch * s.outChannels * s.height * s.width;
}

export function convInputSize(s: ConvShape): number {
  return s.batch * s.inChannels * s.height * s.width;
}

export function convWeightSize(s: ConvShape): number {
  return s.outChannels * s.inChannels * s.kernel * s.kernel;
}
