// The native kernels (products.c, fft.c), called by addon.c. Offsets are bytes into the
// kernels' shared memory `mem`, checked by addon.c; the layouts are assembly/'s (fftconv.ts,
// fftgrad.ts, fft.ts).
#pragma once
#include <stddef.h>
#include <stdint.h>

/** convProducts (fftconv.ts): Ys[o - o0][f] = sum_r X[r][f] * Ws[f][o][r]. */
void convProducts(uint8_t *mem, uint32_t x0, uint32_t Ws, uint32_t Ys, int F, int R, int Lq, int o0, int o1);
/** convProducts of two tile groups (x at xa0 and xb0, outputs at Ya and Yb): AVX-512 when the CPU has it. */
void convProductsPair(uint8_t *mem, uint32_t xa0, uint32_t xb0, uint32_t Ws, uint32_t Ya, uint32_t Yb, int F, int R, int Lq, int o0, int o1);
/** fftGradWTask's products (fftgrad.ts): Racc[fq][o*C + c] (+)= sum over tiles of conj(DY) * X. */
void gradWProducts(uint8_t *mem, uint32_t Xs, uint32_t DYs, uint32_t Racc, int C, int O, int Tn, int TnS, size_t txB, size_t tdB, int q0,
                   int q1, int acc);
/** fwd2d and inv2d (fft.ts), T = 16, 32 or 64. */
void nativeFwd2d(uint8_t *mem, uint32_t B, uint32_t P, uint32_t S, int T, int mAct);
void nativeInv2d(uint8_t *mem, uint32_t S, uint32_t B, uint32_t P, int T, int mOut);
/** Frequency slots of a T x T real transform (slotCount in fft.ts). */
int nativeFftSlots(int T);
/**
 * gatherClip (fftconv.ts) of 4 tiles into B, then nativeFwd2d; -1 (nothing transformed) when a
 * row it would read lies outside the memory's memBytes.
 */
int nativeGatherFwd2d(uint8_t *mem, size_t memBytes, uint32_t B, uint32_t P, uint32_t S, int T, int mAct, uint32_t lanes, uint32_t masks,
                      int W, uint32_t zeroRow, uint32_t ahead, uint32_t leakyDelta, float slope);
/**
 * nativeInv2d of spectra S into B's (V + 1) / 2 row pairs, then inverseOutputs' stores
 * (fftconv.ts) of 4 tiles to y[n][o]; -1 (nothing stored) when a row lies outside the memory.
 */
int nativeInv2dScatter(uint8_t *mem, size_t memBytes, uint32_t S, uint32_t B, uint32_t P, int T, int V, uint32_t lanes, uint32_t y, int L,
                       int o, int H, int W, int leakyOn, float slope);
/** storeQuads (fftconv.ts): n spectra of 4 tiles at sp (F slots each) as frequency quads at out. */
void nativeStoreQuads(uint8_t *mem, uint32_t sp, int F, int n, uint32_t out, uint64_t strideF, uint64_t strideT);
