/**
 * PyramidFlow: a frozen 1x1 input convolution (3 -> C), a Laplacian pyramid of L levels, then
 * S stacks of coupling blocks. forward maps images to latent pyramids; inverse maps back.
 */
import { Tensor, channelMix, noGrad, isRecording, keepingOnly, release } from '../tensor/index.js';
import { leftInverse, qr } from '../tensor/linalg.js';
import type { ModelConfig } from './types.js';
import { Random } from '../util/random.js';
import { blockOrder, validateConfig } from './config.js';
import { AffineParams, type AffineMode } from './affine.js';
import { InvConv1x1 } from './invconv.js';
import { CouplingBlock, withLevel } from './coupling.js';
import { buildPyramid, composePyramid } from './pyramid.js';

export class PyramidFlow {
  /** True: volume normalisation uses batch means (training); false: running means. */
  training = true;

  constructor(
    readonly config: ModelConfig,
    readonly inConv: Tensor, // [C, 3], frozen
    readonly blocks: CouplingBlock[],
  ) {
    validateConfig(config);
  }

  /** A freshly initialised model, reproducible from the seed. */
  static create(config: ModelConfig, seed = 0): PyramidFlow {
    validateConfig(config);
    const rng = new Random(seed);
    const C = config.channels, k = config.kernel;
    const inConv = new Tensor([C, 3], orthogonalColumns(C, 3, rng));
    const blocks = blockOrder(config).map((spec) => {
      const inC = spec.kind === 'middle' ? 2 * C : C;
      const conv0 = Tensor.param([2 * C, inC, k, k], kaimingUniform(2 * C * inC * k * k, inC * k * k, rng));
      const conv2 = Tensor.param([2 * C, 2 * C, k, k], new Float32Array(2 * C * 2 * C * k * k)); // zero init
      return new CouplingBlock(spec, new AffineParams(conv0, conv2, config.volumeNorm), InvConv1x1.init(C, rng));
    });
    return new PyramidFlow(config, inConv, blocks);
  }

  /** Trainable parameters with the official code's names, in its order. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    this.blocks.forEach((b, i) => {
      const p = `nf.moduleslst.${i}`;
      out.push([`${p}.affineParams.conv.0.weight`, b.affine.conv0]);
      out.push([`${p}.affineParams.conv.2.weight`, b.affine.conv2]);
      out.push([`${p}.conv1x1.w_l`, b.conv.wL]);
      out.push([`${p}.conv1x1.w_s`, b.conv.wS]);
      out.push([`${p}.conv1x1.w_u`, b.conv.wU]);
    });
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  parameterCount(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0) + this.inConv.size;
  }

  mode(updateStats = true): AffineMode {
    return { training: this.training, updateStats: this.training && updateStats };
  }

  /** Images [N,3,H,W] (normalised) -> the input pyramid (before any block). */
  inputPyramid(x: Tensor): Tensor[] {
    const { height, width, levels, downsample } = this.config;
    if (x.shape.length !== 4 || x.dim(1) !== 3 || x.dim(2) !== height || x.dim(3) !== width) {
      throw new Error(`PyramidFlow: expected images [N, 3, ${height}, ${width}], got [${x.shape.join(', ')}]`);
    }
    return noGrad(() => keepingOnly(() => buildPyramid(channelMix(x, this.inConv), levels, downsample)));
  }

  /** Runs blocks [from, to) on a pyramid. */
  runBlocks(levels: Tensor[], from = 0, to = this.blocks.length, updateStats = true): Tensor[] {
    let z = levels;
    const recording = isRecording();
    const produced = new Set<Tensor>();
    for (let i = from; i < to; i++) {
      const b = this.blocks[i]!;
      if (recording) {
        z = withLevel(z, b.target, b.forward(z, this.mode(updateStats)));
        continue;
      }
      const level = keepingOnly(() => [b.forward(z, this.mode(updateStats))])[0]!;
      // Without a tape, a level this loop made and a later block replaced is garbage: free it now.
      const old = z[b.target]!;
      if (produced.delete(old)) release(old.data);
      produced.add(level);
      z = withLevel(z, b.target, level);
    }
    return z;
  }

  forward(x: Tensor): Tensor[] {
    return this.runBlocks(this.inputPyramid(x));
  }

  /** Latent pyramid -> image, through every block's inverse, compose, and the input conv's least-squares inverse. */
  inverse(latents: readonly Tensor[]): Tensor {
    return noGrad(() => {
      let z = [...latents];
      for (let i = this.blocks.length - 1; i >= 0; i--) {
        const b = this.blocks[i]!;
        z = withLevel(z, b.target, b.inverse(z, this.mode(false)));
      }
      const C = this.config.channels;
      const pinv = leftInverse(Float64Array.from(this.inConv.data), C, 3);
      return channelMix(composePyramid(z), new Tensor([3, C], Float32Array.from(pinv)));
    });
  }
}

/** A rows x cols matrix with orthonormal columns (rows >= cols) or rows (rows < cols), as torch's orthogonal_. */
function orthogonalColumns(rows: number, cols: number, rng: Random): Float32Array {
  const tall = rows >= cols;
  const n = tall ? rows : cols, m = tall ? cols : rows;
  const a = new Float64Array(n * m);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  const { q } = qr(a, n, m);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = tall ? q[i * m + j]! : q[j * m + i]!;
  return out;
}

/** PyTorch's default conv init: U(-b, b) with b = 1/sqrt(fan_in). */
function kaimingUniform(size: number, fanIn: number, rng: Random): Float32Array {
  const b = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-b, b);
  return out;
}
