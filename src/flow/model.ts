/**
 * PyramidFlow: a frozen 1x1 input convolution (3 -> C), a Laplacian pyramid of L levels (the
 * input stage, src/flow/input.ts), then S stacks of coupling blocks chained as one Invertible
 * (src/flow/sequence.ts). forward maps images to latent pyramids; inverse maps back.
 */
import { Tensor, noGrad } from '../tensor/index.js';
import { qr } from '../tensor/linalg.js';
import type { ModelConfig } from './types.js';
import { Random } from '../util/random.js';
import { blockOrder, validateConfig } from './config.js';
import { AffineParams, type AffineMode } from './affine.js';
import { InvConv1x1 } from './invconv.js';
import { type CouplingBlock, couplingBlock, conditionChannels } from './coupling.js';
import { InputPyramid } from './input.js';
import { InvertibleSequence } from './sequence.js';
import type { KeptWork } from './invertible.js';

/** The official prefix of the blocks' parameters: `nf.moduleslst.{i}.{name in the block}`. */
const BLOCKS_PREFIX = 'nf.moduleslst.';

export class PyramidFlow {
  /** True: volume normalisation uses batch means (training); false: running means. */
  training = true;
  /** Images [N, 3, H, W] (as a one-level pyramid) to the input pyramid and back. */
  readonly input: InputPyramid;
  /** The coupling blocks chained: forward in order, inverse in reverse; memory saving runs through it. */
  readonly flow: InvertibleSequence<CouplingBlock>;

  constructor(
    readonly config: ModelConfig,
    inConv: Tensor, // [C, 3], frozen
    blocks: readonly CouplingBlock[],
  ) {
    validateConfig(config);
    this.input = new InputPyramid(inConv, config.levels, config.downsample);
    this.flow = new InvertibleSequence(blocks);
  }

  /** A freshly initialised model, reproducible from the seed. */
  static create(config: ModelConfig, seed = 0): PyramidFlow {
    validateConfig(config);
    const rng = new Random(seed);
    const C = config.channels,
      k = config.kernel;
    const inConv = Tensor.fromHost([C, 3], orthogonalColumns(C, 3, rng));
    const blocks = blockOrder(config).map((spec) => {
      const inC = conditionChannels(spec, C);
      const conv0 = Tensor.param([2 * C, inC, k, k], kaimingUniform(2 * C * inC * k * k, inC * k * k, rng));
      const conv2 = Tensor.param([2 * C, 2 * C, k, k], new Float32Array(2 * C * 2 * C * k * k)); // zero init
      return couplingBlock(spec, new AffineParams(conv0, conv2, config.volumeNorm), InvConv1x1.init(C, rng));
    });
    return new PyramidFlow(config, inConv, blocks);
  }

  /** The frozen input convolution [C, 3]. */
  get inConv(): Tensor {
    return this.input.weight;
  }

  /** The coupling blocks, in order. */
  get blocks(): readonly CouplingBlock[] {
    return this.flow.steps;
  }

  /** Trainable parameters with the official code's names, in its order. */
  namedParameters(): [string, Tensor][] {
    return this.flow.namedParameters().map(([name, t]): [string, Tensor] => [BLOCKS_PREFIX + name, t]);
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
    const { height, width } = this.config;
    if (x.shape.length !== 4 || x.dim(1) !== 3 || x.dim(2) !== height || x.dim(3) !== width) {
      throw new Error(`PyramidFlow: expected images [N, 3, ${height}, ${width}], got [${x.shape.join(', ')}]`);
    }
    return this.input.forward([x]);
  }

  /** Runs blocks [from, to) on a pyramid. */
  runBlocks(levels: readonly Tensor[], from = 0, to = this.blocks.length, updateStats = true, kept?: KeptWork): Tensor[] {
    return this.flow.slice(from, to).forward(levels, { ...this.mode(updateStats), ...(kept ? { kept } : {}) });
  }

  forward(x: Tensor): Tensor[] {
    return this.flow.forward(this.inputPyramid(x), this.mode());
  }

  /** Latent pyramid -> image, through every block's inverse, compose, and the input conv's least-squares inverse. */
  inverse(latents: readonly Tensor[]): Tensor {
    return noGrad(() => this.input.inverse(this.flow.inverse(latents, this.mode(false)))[0]!);
  }
}

/** A rows x cols matrix with orthonormal columns (rows >= cols) or rows (rows < cols), as torch's orthogonal_. */
function orthogonalColumns(rows: number, cols: number, rng: Random): Float32Array {
  const tall = rows >= cols;
  const n = tall ? rows : cols,
    m = tall ? cols : rows;
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
