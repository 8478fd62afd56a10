/**
 * The coupling blocks, one class per kind. Each is an Invertible (src/flow/invertible.ts): an
 * affine coupling of one pyramid level (its target), whose scale and shift come from
 * neighbouring levels that pass through unchanged, then the invertible 1x1 convolution of that
 * level (OnLevel over InvConv1x1), as the official FlowBlock / FlowBlock2. So each block is
 * invertible given the levels it reads. The kinds differ only in which levels they read and
 * change, and at which resolution the affine block runs:
 *   UpBlock(s):     target s,   parameters from level s+1 resized up to level s
 *   DownBlock(s):   target s+1, parameters from level s, computed at s and resized down
 *   MiddleBlock(s): target s+1, parameters from levels s and s+2 resized to s+1 and concatenated
 */
import { type Tensor, type Tape, add, mul, sub, div, nearest, concatChannels, isRecording, markLeaf, noGrad, withTape, keepingOnly } from '../tensor/index.js';
import type { BlockKind, BlockSpec } from './config.js';
import type { AffineParams } from './affine.js';
import type { InvConv1x1 } from './invconv.js';
import { type FlowMode, type Invertible, type Pyramid, type Rerun, OnLevel, levelOf, withLevel } from './invertible.js';

export { withLevel } from './invertible.js';

export abstract class CouplingBlock implements Invertible {
  private onTarget?: OnLevel;

  constructor(
    /** The official `start`: the lowest level the block touches. */
    readonly start: number,
    readonly affine: AffineParams,
    readonly conv: InvConv1x1,
  ) {}

  abstract get kind(): BlockKind;
  /** Index of the level this block changes. */
  abstract get target(): number;
  /** Indices of the levels the affine parameters are computed from. */
  abstract get sources(): number[];
  /** The official module's name (the vectors' meta.module_order). */
  abstract get officialName(): string;
  /** What the affine block reads (the conditioning input), from the levels it leaves alone. */
  protected abstract condition(levels: Pyramid): Tensor;

  get spec(): BlockSpec {
    return { kind: this.kind, start: this.start };
  }

  /** The coupling and the 1x1 convolution replace the target level only. */
  get changes(): readonly number[] {
    return [this.target];
  }

  /** The 1x1 convolution as a piece of the chain: it acts on the target level only. */
  get mix(): OnLevel {
    return (this.onTarget ??= new OnLevel(this.target, this.conv));
  }

  namedParameters(): [string, Tensor][] {
    return [
      ['affineParams.conv.0.weight', this.affine.conv0],
      ['affineParams.conv.2.weight', this.affine.conv2],
      ...this.mix.namedParameters().map(([name, t]): [string, Tensor] => [`conv1x1.${name}`, t]),
    ];
  }

  /**
   * The affine block's convolutions on the source levels: what both directions need. Memory
   * saving (rerun) computes it once for the rebuild and the re-run forward, instead of twice.
   */
  raw(levels: Pyramid): Tensor {
    return this.affine.raw(this.condition(levels));
  }

  /** Coupling, then the 1x1 convolution of the target level (memory saving may keep raw for the rerun). */
  forward(z: Pyramid, mode: FlowMode): Tensor[] {
    const raw = this.raw(z);
    mode.kept?.offer(this, raw.data);
    return this.mix.forward(this.couple(z, raw, mode), mode);
  }

  /** The 1x1 convolution's inverse, then the coupling's (no running-statistics update). */
  inverse(z: Pyramid, mode: FlowMode): Tensor[] {
    const x = this.mix.inverse(z, mode);
    return this.uncouple(x, this.raw(x), mode);
  }

  /** The affine coupling alone, given raw(z): target x becomes scale * x + shift (the fused op). */
  couple(z: Pyramid, raw: Tensor, mode: FlowMode): Tensor[] {
    return withLevel(z, this.target, this.affine.coupleRaw(raw, levelOf(z, this.target), mode));
  }

  /**
   * Its inverse, given raw(z) (no running-statistics update): one fused kernel, or the unfused
   * differentiable ops under a tape.
   */
  uncouple(z: Pyramid, raw: Tensor, mode: FlowMode): Tensor[] {
    if (isRecording()) return this.uncoupleUnfused(z, raw, mode);
    const y = levelOf(z, this.target);
    return withLevel(z, this.target, this.affine.uncoupleRaw(raw, y, { ...mode, updateStats: false }).x);
  }

  /** The same through the unfused ops: x = (y - shift) / scale (differentiable; the fused kernel's test oracle). */
  uncoupleUnfused(z: Pyramid, raw: Tensor, mode: FlowMode): Tensor[] {
    const y = levelOf(z, this.target);
    const { scale, shift } = this.paramsFromRaw(raw, y, { ...mode, updateStats: false });
    return withLevel(z, this.target, div(sub(y, shift), scale));
  }

  /** forward through the unfused ops (the fused op's test oracle). */
  forwardUnfused(z: Pyramid, mode: FlowMode): Tensor[] {
    const { scale, shift } = this.params(z, mode);
    return this.mix.forward(withLevel(z, this.target, add(mul(levelOf(z, this.target), scale), shift)), mode);
  }

  /** Scale and shift at the target's resolution (the unfused path). */
  params(levels: Pyramid, mode: FlowMode): { scale: Tensor; shift: Tensor } {
    return this.paramsFromRaw(this.raw(levels), levelOf(levels, this.target), mode);
  }

  private paramsFromRaw(raw: Tensor, target: Tensor, mode: FlowMode): { scale: Tensor; shift: Tensor } {
    const { scale, shift } = this.affine.scaleShift(raw, mode);
    return { scale: nearest(scale, target.dim(2), target.dim(3)), shift: nearest(shift, target.dim(2), target.dim(3)) };
  }

  /**
   * Memory saving: the affine convolutions read only the levels the block leaves alone, so they
   * run once, under the tape; the target level's input is rebuilt through the inverses (fused,
   * untaped). The coupling's output is the 1x1 convolution's inverse of y, and the 1x1
   * convolution's is y: both ops are recorded with those outputs (coupleKnown, forwardKnown),
   * not computed again; so is the second affine convolution when the forward kept raw.
   */
  rerun(y: readonly Tensor[], mode: FlowMode, tape: Tape): Rerun {
    const t = this.target;
    const m = { ...mode, updateStats: false };
    // raw kept from the forward (mode.kept): its convolutions recorded with that output
    const known = mode.kept?.take(this);
    const raw = withTape(tape, () => (known ? this.affine.rawKnown(this.condition(y), known) : this.raw(y)));
    const [coupled, before, batchMean] = noGrad(() =>
      keepingOnly(() => {
        const u = levelOf(this.mix.inverse(y, m), t);
        const { x, batchMean } = this.affine.uncoupleRaw(raw, u, m);
        return batchMean ? [u, x, batchMean] : [u, x];
      }),
    ) as [Tensor, Tensor, Tensor | undefined];
    const x = levelOf(y, t).requiresGrad ? markLeaf(before.detach()) : before.detach();
    const inputs = withLevel(y, t, x);
    const outputs = withTape(tape, () =>
      withLevel(inputs, t, this.conv.forwardKnown(this.affine.coupleKnown(raw, x, coupled, batchMean ?? null, m), levelOf(y, t))),
    );
    return { inputs, outputs };
  }
}

/** Target s, parameters from level s+1 resized up to level s. */
export class UpBlock extends CouplingBlock {
  static readonly sourceCount = 1;
  get kind(): BlockKind {
    return 'up';
  }
  get target(): number {
    return this.start;
  }
  get sources(): number[] {
    return [this.start + 1];
  }
  get officialName(): string {
    return `FlowBlock(start=${this.start}, up)`;
  }
  protected condition(levels: Pyramid): Tensor {
    const tgt = levelOf(levels, this.target);
    return nearest(levelOf(levels, this.start + 1), tgt.dim(2), tgt.dim(3));
  }
}

/** Target s+1, parameters from level s at its own resolution (the fused tail resizes them down). */
export class DownBlock extends CouplingBlock {
  static readonly sourceCount = 1;
  get kind(): BlockKind {
    return 'down';
  }
  get target(): number {
    return this.start + 1;
  }
  get sources(): number[] {
    return [this.start];
  }
  get officialName(): string {
    return `FlowBlock(start=${this.start}, down)`;
  }
  protected condition(levels: Pyramid): Tensor {
    return levelOf(levels, this.start);
  }
}

/** Target s+1, parameters from levels s and s+2, resized to level s+1 and concatenated. */
export class MiddleBlock extends CouplingBlock {
  static readonly sourceCount = 2;
  get kind(): BlockKind {
    return 'middle';
  }
  get target(): number {
    return this.start + 1;
  }
  get sources(): number[] {
    return [this.start, this.start + 2];
  }
  get officialName(): string {
    return `FlowBlock2(start=${this.start})`;
  }
  protected condition(levels: Pyramid): Tensor {
    const tgt = levelOf(levels, this.target),
      h = tgt.dim(2),
      w = tgt.dim(3);
    return concatChannels([nearest(levelOf(levels, this.start), h, w), nearest(levelOf(levels, this.start + 2), h, w)]);
  }
}

const KINDS = { up: UpBlock, down: DownBlock, middle: MiddleBlock } as const satisfies Record<BlockKind, { sourceCount: number }>;

/** The block of a spec's kind. */
export function couplingBlock(spec: BlockSpec, affine: AffineParams, conv: InvConv1x1): CouplingBlock {
  return new KINDS[spec.kind](spec.start, affine, conv);
}

/** Channels of a block's affine input: C per source level. */
export function conditionChannels(spec: BlockSpec, channels: number): number {
  return KINDS[spec.kind].sourceCount * channels;
}
