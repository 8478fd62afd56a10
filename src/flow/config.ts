/** The model configuration: defaults, the official per-category defaults, validation, block order. */
import type { ModelConfig, ModelOptions, VolumeNorm } from './types.js';
import { PyramidFlowError } from '../util/errors.js';

export type { ModelConfig, ModelOptions } from './types.js';

export const DEFAULT_CONFIG: ModelConfig = {
  channels: 16,
  kernel: 7,
  levels: 4,
  stacks: 4,
  volumeNorm: 'cvn',
  height: 256,
  width: 256,
  downsample: 'maxpool',
};

/** The official code's per-category choices (MVTec AD names). */
export function officialLevels(category: string): number {
  if (['metal_nut', 'carpet', 'transistor'].includes(category)) return 8;
  if (category === 'screw') return 2;
  return 4;
}

export function officialVolumeNorm(category: string): VolumeNorm {
  return ['carpet', 'grid', 'bottle', 'transistor'].includes(category) ? 'svn' : 'cvn';
}

/** Resolves user options (with `auto` values) into a complete, validated configuration. */
export function resolveConfig(opts: ModelOptions = {}, category = ''): ModelConfig {
  const size = opts.size ?? DEFAULT_CONFIG.height;
  const cfg: ModelConfig = {
    channels: opts.channels ?? DEFAULT_CONFIG.channels,
    kernel: opts.kernel ?? DEFAULT_CONFIG.kernel,
    levels: opts.levels === undefined || opts.levels === 'auto' ? officialLevels(category) : opts.levels,
    stacks: opts.stacks ?? DEFAULT_CONFIG.stacks,
    volumeNorm: opts.volumeNorm === undefined || opts.volumeNorm === 'auto' ? officialVolumeNorm(category) : opts.volumeNorm,
    height: opts.height ?? size,
    width: opts.width ?? size,
    downsample: opts.downsample ?? 'maxpool',
  };
  validateConfig(cfg);
  return cfg;
}

/**
 * The integer ranges of the configuration (inclusive): validateConfig checks them, and the option
 * table (src/api/options.ts) states them for the flags, the config files and the library.
 */
export const CONFIG_LIMITS = {
  channels: { min: 1, max: 1024 },
  kernel: { min: 1, max: 31 }, // and odd
  levels: { min: 2, max: 8 },
  stacks: { min: 1, max: 64 },
  height: { min: 1, max: 16384 },
  width: { min: 1, max: 16384 },
} as const satisfies Record<string, { min: number; max: number }>;

export function validateConfig(cfg: ModelConfig): void {
  const int = (v: number, name: keyof typeof CONFIG_LIMITS): void => {
    const { min, max } = CONFIG_LIMITS[name];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new PyramidFlowError(`${name} must be an integer in [${min}, ${max}], got ${v}`, 'E_CONFIG');
    }
  };
  int(cfg.channels, 'channels');
  int(cfg.kernel, 'kernel');
  if (cfg.kernel % 2 === 0) throw new PyramidFlowError(`kernel must be odd, got ${cfg.kernel}`, 'E_CONFIG');
  int(cfg.levels, 'levels');
  int(cfg.stacks, 'stacks');
  int(cfg.height, 'height');
  int(cfg.width, 'width');
  const f = 2 ** (cfg.levels - 1);
  if (cfg.height % f || cfg.width % f) {
    throw new PyramidFlowError(
      `image size ${cfg.height}x${cfg.width} is not divisible by 2^(levels-1) = ${f} (levels ${cfg.levels}); ` +
        `choose a size that is a multiple of ${f}, e.g. ${Math.max(f, Math.round(cfg.height / f) * f)}`,
      'E_CONFIG',
    );
  }
  if (cfg.volumeNorm !== 'cvn' && cfg.volumeNorm !== 'svn') throw new PyramidFlowError(`volume norm must be cvn or svn, got ${cfg.volumeNorm}`, 'E_CONFIG');
  if (cfg.downsample !== 'maxpool' && cfg.downsample !== 'nearest')
    throw new PyramidFlowError(`downsample must be maxpool or nearest, got ${cfg.downsample}`, 'E_CONFIG');
}

export type BlockKind = 'up' | 'down' | 'middle';
export interface BlockSpec {
  kind: BlockKind;
  start: number;
}

/** The official block order of one stack (repeated S times). */
export function stackOrder(levels: number): BlockSpec[] {
  const order: BlockSpec[] = [];
  for (const r of [0, 1]) {
    if (r === 1) order.push({ kind: 'up', start: 0 });
    for (let s = r; s < levels; s += 2) {
      if (s + 2 < levels) order.push({ kind: 'middle', start: s });
      else if (s + 1 < levels) order.push({ kind: 'down', start: s });
    }
  }
  return order;
}

export function blockOrder(cfg: Pick<ModelConfig, 'levels' | 'stacks'>): BlockSpec[] {
  const one = stackOrder(cfg.levels);
  return Array.from({ length: cfg.stacks }, () => one).flat();
}
