// The native 2D real FFTs (fft.c), called by products.c's Node-API glue. Offsets are bytes
// into the kernels' memory `mem`; T is 16, 32 or 64.
#pragma once
#include <stdint.h>

void nativeFwd2d(uint8_t *mem, uint32_t B, uint32_t P, uint32_t S, int T, int mAct);
void nativeInv2d(uint8_t *mem, uint32_t S, uint32_t B, uint32_t P, int T, int mOut);
int nativeFftSlots(int T);
