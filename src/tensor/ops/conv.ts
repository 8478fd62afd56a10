/** Convolution ops: the heavy ones, delegated to the active kernel backend. */
import { Tensor, recordOp, accumulateGrad } from '../tensor.js';
import { backend } from '../kernels/index.js';
import type { ConvShape, LeakyGradient } from '../kernels/backend.js';
import { timed } from '../profile.js';
import { allocFloats, release } from '../storage.js';

/**
 * 'Same' k x k cross-correlation, zero padding (k-1)/2, no bias: x [N,C,H,W], w [O,C,k,k].
 * With `known`, the output's values are already known (memory saving kept them): the op is
 * recorded with them as its output, not computed.
 */
export function conv2d(x: Tensor, w: Tensor, known?: Float32Array): Tensor {
  const s = convShape(x, w, 'conv2d');
  const shape = [s.batch, s.outChannels, s.height, s.width];
  let out: Tensor;
  if (known) {
    if (known.length !== s.batch * s.outChannels * s.height * s.width) throw new Error(`conv2d: ${known.length} known values for [${shape.join(', ')}]`);
    out = new Tensor(shape, known);
  } else {
    out = Tensor.uninitialized(shape);
    timed(`conv${s.kernel} forward`, () => backend().conv2d(x.data, w.data, s, out.data));
  }
  recordOp(out, [x, w], (g) => convBackward(x, w, s, g));
  return out;
}

/**
 * leakyRelu(conv2d(x, w), slope) as one op (slope > 0): the backend may apply the activation as
 * it stores the convolution's output (the wasm FFT job does), and the convolution's own output
 * is never kept: the gradient's mask is read from the activated output (its sign is the
 * input's when slope > 0), which saves a pass over the map and the memory of the tape's copy.
 */
export function conv2dLeaky(x: Tensor, w: Tensor, slope: number): Tensor {
  if (!(slope > 0)) throw new Error(`conv2dLeaky: slope must be positive, got ${slope}`);
  const s = convShape(x, w, 'conv2dLeaky');
  const out = Tensor.uninitialized([s.batch, s.outChannels, s.height, s.width]);
  timed(`conv${s.kernel} forward`, () => backend().conv2d(x.data, w.data, s, out.data, slope));
  recordOp(out, [x, w], (g) => convBackward(x, w, s, g, { output: out.data, slope }));
  return out;
}

function convShape(x: Tensor, w: Tensor, what: string): ConvShape {
  if (x.shape.length !== 4 || w.shape.length !== 4) throw new Error(`${what}: expected x [N,C,H,W] and w [O,C,k,k]`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Ci, k, k2] = w.shape as [number, number, number, number];
  if (Ci !== C) throw new Error(`${what}: input has ${C} channels, weights expect ${Ci}`);
  if (k !== k2 || k % 2 === 0) throw new Error(`${what}: kernel must be square and odd, got ${k}x${k2}`);
  return { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: k };
}

/**
 * The gradients of a convolution for its output gradient g: both at once when the backend can.
 * With `leaky`, g is the gradient of the LeakyReLU that follows it (conv2dLeaky): the backend's
 * two-gradient call takes its mask as it reads g, the separate calls after a pass of its own.
 */
function convBackward(x: Tensor, w: Tensor, s: ConvShape, g: Float32Array, leaky?: LeakyGradient): void {
  const b = backend();
  const k = s.kernel;
  if (x.requiresGrad && w.requiresGrad && b.conv2dBackward) {
    const gx = allocFloats(x.size, false),
      gw = allocFloats(w.size, false);
    timed(`conv${k} backward (input + weight)`, () => b.conv2dBackward!(x.data, g, w.data, s, gx, gw, leaky));
    accumulateGrad(x, gx);
    accumulateGrad(w, gw);
    return;
  }
  if (leaky) {
    const n = s.batch * s.outChannels * s.height * s.width;
    const gc = allocFloats(n, false);
    timed('leaky relu', () => b.leakyReluGrad(leaky.output, g, leaky.slope, n, gc));
    convBackward(x, w, s, gc);
    release(gc);
    return;
  }
  if (x.requiresGrad) {
    const gx = allocFloats(x.size, false);
    timed(`conv${k} grad input`, () => b.conv2dGradInput(g, w.data, s, gx));
    accumulateGrad(x, gx);
  }
  if (w.requiresGrad) {
    const gw = allocFloats(w.size, false);
    timed(`conv${k} grad weight`, () => b.conv2dGradWeight(x.data, g, s, gw));
    accumulateGrad(w, gw);
  }
}

/**
 * y[n,o] = sum_i m[o,i] x[n,i]: a 1x1 convolution with a C_out x C_in matrix, run by the
 * backend's convolution kernels (a small GEMM over all pixels). With `known`, its output is
 * already known (memory saving's rebuild found x from it through the inverse): the op is
 * recorded with known's values as its output, not computed again.
 */
export function channelMix(x: Tensor, m: Tensor, known?: Tensor): Tensor {
  if (m.shape.length !== 2) throw new Error('channelMix: expected a matrix');
  const [O, C] = m.shape as [number, number];
  if (x.shape.length !== 4 || x.dim(1) !== C) throw new Error(`channelMix: input has ${x.shape[1]} channels, matrix expects ${C}`);
  const [N, , H, W] = x.shape as [number, number, number, number];
  const s: ConvShape = { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: 1 };
  let out: Tensor;
  if (known) {
    if (known.shape.join() !== [N, O, H, W].join()) throw new Error(`channelMix: a known output [${known.shape.join(', ')}] for [${N}, ${O}, ${H}, ${W}]`);
    out = new Tensor(known.shape, known.data);
  } else {
    out = Tensor.uninitialized([N, O, H, W]);
    timed('1x1 conv', () => backend().conv2d(x.data, m.data, s, out.data));
  }
  recordOp(out, [x, m], (g) => {
    if (x.requiresGrad) {
      const gx = allocFloats(x.size, false);
      timed('1x1 conv', () => backend().conv2dGradInput(g, m.data, s, gx));
      accumulateGrad(x, gx);
    }
    if (m.requiresGrad) {
      const gm = allocFloats(m.size, false);
      timed('1x1 conv', () => backend().conv2dGradWeight(x.data, g, s, gm));
      accumulateGrad(m, gm);
    }
  });
  return out;
}
