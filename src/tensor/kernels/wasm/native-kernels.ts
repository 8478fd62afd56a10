/**
 * The optional native kernels (native/): the FFT convolutions' two product loops (products.c),
 * their 2D transforms (fft.c) and the tile moves around them (tiles.c: gathering tiles from the
 * planes, storing outputs back, with the prefetches wasm lacks) in AVX2 + FMA code, which the
 * relaxed-SIMD kernels call through imports (assembly/native.ts) instead of running their own
 * 128-bit loops.
 * Bit-identical to that build; Node.js on x86-64 only (the browser and other hosts pass `null`
 * and get stubs that are never called).
 */

/** The kernels' imports that native code provides (assembly/native.ts). */
export type NativeImport = 'convProducts' | 'convProductsPair' | 'gradWProducts' | 'fwd2d' | 'inv2d' | 'gatherFwd2d' | 'inv2dScatter' | 'storeQuads';

/**
 * The version of the imports the kernels expect (native/addon.c's KERNELS_VERSION): an addon
 * built from other sources (a stale build/ file) is not used.
 */
export const NATIVE_KERNELS_VERSION = 4;

/** The addon (build/native-kernels-<platform>-<arch>.node). */
export interface NativeKernels {
  /** Its imports' version (NATIVE_KERNELS_VERSION). */
  version: number;
  /** Whether this processor has AVX2 and FMA. */
  supported(): boolean;
  /** How many threads of this process have run a product function so far (tests). */
  threadsUsed(): number;
  /** The imports, over the shared memory `view` is on (its address is kept: shared memories never move). */
  bind(view: Uint8Array): Record<NativeImport, (...args: number[]) => void>;
}

/**
 * The imports of one kernel instance: the shared memory and the native functions (native,
 * or stubs that throw). worker-source.ts embeds the text of this function and of the stub, so
 * that workers build their imports with the same code: neither may use names from outside.
 */
export function kernelImports(memory: WebAssembly.Memory, native: NativeKernels | null): WebAssembly.ModuleImports {
  const env: WebAssembly.ModuleImports = native
    ? native.bind(new Uint8Array(memory.buffer))
    : {
        convProducts: missingNativeKernel,
        convProductsPair: missingNativeKernel,
        gradWProducts: missingNativeKernel,
        fwd2d: missingNativeKernel,
        inv2d: missingNativeKernel,
        gatherFwd2d: missingNativeKernel,
        inv2dScatter: missingNativeKernel,
        storeQuads: missingNativeKernel,
      };
  env.memory = memory;
  return env;
}

/** The imports without native code: the kernels call them only when the pool's switch is on (pool.ts), which needs native code. */
export function missingNativeKernel(): never {
  throw new Error('native kernels called, but none are loaded');
}
