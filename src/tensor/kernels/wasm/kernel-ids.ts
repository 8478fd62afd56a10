/**
 * The numbers the backend and its AssemblyScript kernels must agree on: the id that opens every
 * job (assembly/index.ts dispatches on it), the operations of the map kernel and the flag bits of
 * the affine jobs (assembly/elementwise.ts). This table is their one source: the wasm build
 * (scripts/build-wasm.mjs, assembly/gen/kernel-ids.mjs) writes assembly/kernel-ids.ts from it,
 * and the compiled module returns the table's hash (kernelProtocol()), which the backend
 * compares with PROTOCOL_HASH when it loads (load-kernels.ts): a module built from another
 * table is refused, not run with the wrong kernels. test/tensor/kernels/kernel-ids.test.ts
 * checks the rest.
 *
 * No imports: the build transpiles this file on its own.
 */

/** Kernel ids: the first word of a job. Profile names in KERNEL_NAMES. */
export const KERNEL_IDS = {
  K_PAD: 1,
  K_CROP: 2,
  K_WEIGHTS_DIRECT: 3,
  K_CONV_DIRECT: 4,
  K_GRADW_DIRECT: 5,
  K_FFT_INPUT: 6,
  K_FFT_FILTER: 7,
  K_FFT_CONV: 8,
  K_FFT_GRADW: 9,
  K_FFT_GRADW_INV: 10,
  K_FFT_FUSED: 11,
  K_MAP: 12,
  K_AFFINE: 13,
  K_AFFINE_BACK: 14,
  K_BLUR: 15,
  K_NEAREST: 16,
  K_NEAREST_GRAD: 17,
  K_MAX_POOL: 18,
  K_FFT_BACKWARD: 19,
  K_FMA_LOOP: 20,
  K_ADAM: 21,
  K_CHANNEL_DIFF: 22,
  K_PAIR_DIFF_GRAD: 23,
  K_FFT_LOSS: 24,
  K_SUM_SQUARES: 25,
  K_CHANNEL_MIX_GRAD: 26,
} as const;

/** Operations of the map kernel (K_MAP's second word). */
export const MAP_OPS = {
  MAP_EXP: 0,
  MAP_SOFT_CLAMP: 1,
  MAP_LEAKY: 2,
  MAP_LEAKY_GRAD: 3,
  MAP_ADD: 4,
  MAP_SUB: 5,
  MAP_MUL: 6,
} as const;

/**
 * The affine jobs' flags word (K_AFFINE, K_AFFINE_BACK): one bit a flag, and the mean kind
 * (0 scalar, 1 per pixel, 2 per channel, 3 none) in the two bits from A_MEAN_SHIFT.
 */
export const AFFINE_FLAGS = {
  A_SOFT: 1,
  A_CVN: 2,
  A_SVN: 4,
  A_APPLY: 8,
  A_MEAN_SHIFT: 4,
  A_SAME: 64,
  A_HAVE_S: 128,
  A_INVERSE: 256,
} as const;

export const {
  K_PAD,
  K_CROP,
  K_WEIGHTS_DIRECT,
  K_CONV_DIRECT,
  K_GRADW_DIRECT,
  K_FFT_INPUT,
  K_FFT_FILTER,
  K_FFT_CONV,
  K_FFT_GRADW,
  K_FFT_GRADW_INV,
  K_FFT_FUSED,
  K_MAP,
  K_AFFINE,
  K_AFFINE_BACK,
  K_BLUR,
  K_NEAREST,
  K_NEAREST_GRAD,
  K_MAX_POOL,
  K_FFT_BACKWARD,
  K_FMA_LOOP,
  K_ADAM,
  K_CHANNEL_DIFF,
  K_PAIR_DIFF_GRAD,
  K_FFT_LOSS,
  K_SUM_SQUARES,
  K_CHANNEL_MIX_GRAD,
} = KERNEL_IDS;
export const { MAP_EXP, MAP_SOFT_CLAMP, MAP_LEAKY, MAP_LEAKY_GRAD, MAP_ADD, MAP_SUB, MAP_MUL } = MAP_OPS;
export const { A_SOFT, A_CVN, A_SVN, A_APPLY, A_MEAN_SHIFT, A_SAME, A_HAVE_S, A_INVERSE } = AFFINE_FLAGS;

/** Names of the kernel ids, for profiles. */
export const KERNEL_NAMES: Record<number, string> = {
  [K_PAD]: 'pad',
  [K_CROP]: 'crop',
  [K_WEIGHTS_DIRECT]: 'weights',
  [K_CONV_DIRECT]: 'direct',
  [K_GRADW_DIRECT]: 'direct-dw',
  [K_FFT_INPUT]: 'fft-input',
  [K_FFT_FILTER]: 'fft-filters',
  [K_FFT_CONV]: 'fft-products',
  [K_FFT_GRADW]: 'fft-dw-products',
  [K_FFT_GRADW_INV]: 'fft-dw-inverse',
  [K_FFT_FUSED]: 'fft-fused',
  [K_MAP]: 'map',
  [K_AFFINE]: 'affine',
  [K_AFFINE_BACK]: 'affine-backward',
  [K_BLUR]: 'blur',
  [K_NEAREST]: 'nearest',
  [K_NEAREST_GRAD]: 'nearest-grad',
  [K_MAX_POOL]: 'max-pool',
  [K_FFT_BACKWARD]: 'fft-backward',
  [K_FMA_LOOP]: 'fma-loop',
  [K_ADAM]: 'adam',
  [K_CHANNEL_DIFF]: 'channel-diff-mean',
  [K_PAIR_DIFF_GRAD]: 'pair-diff-grad',
  [K_FFT_LOSS]: 'fft-loss',
  [K_SUM_SQUARES]: 'sum-squares',
  [K_CHANNEL_MIX_GRAD]: 'channel-mix-dw',
};

/** Every constant of the protocol, in table order: what the build writes out and hashes. */
export const PROTOCOL: readonly (readonly [string, number])[] = [...Object.entries(KERNEL_IDS), ...Object.entries(MAP_OPS), ...Object.entries(AFFINE_FLAGS)];

/** 32-bit FNV-1a of "NAME=value;" over PROTOCOL, as a signed integer (an i32 on the wasm side). */
export const PROTOCOL_HASH: number = (() => {
  let h = 0x811c9dc5;
  for (const ch of PROTOCOL.map(([n, v]) => `${n}=${v};`).join('')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h | 0;
})();
