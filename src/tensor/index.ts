export {
  Tensor,
  Tape,
  withTape,
  noGrad,
  isRecording,
  keepingOnly,
  markLeaf,
  recordOp,
  accumulateGrad,
  addGradInto,
  keepTensors,
  releaseTensor,
  shapeSize,
  sameShape,
  assertShape,
} from './tensor.js';
export type { HostValues } from './tensor.js';
export { add, sub, mul, div, scale, exp, atan, square, abs, leakyRelu, softClamp, movingAverage } from './ops/elementwise.js';
export { meanOver, meanAll, meanAbsDiffOverChannels, pairSquaredDiffMean } from './ops/reduce.js';
export { fusedAffine, fusedAffineInverse, fusedAffineKnown } from './ops/affine.js';
export type { FusedAffineOptions } from './ops/affine.js';
export { reshape, concatChannels, sliceChannels, concatBatch, pairSquaredDiff } from './ops/shape.js';
export { blur, maxPool2, nearest, nearestIndex } from './ops/resample.js';
export { conv2d, conv2dLeaky, channelMix } from './ops/conv.js';
export { fftAbsMean, fft2InPlace } from './ops/fft.js';
export { backend, setBackend, initBackend, cacheFilters } from './kernels/index.js';
export type { BackendOptions } from './kernels/index.js';
export type { ConvShape, KernelBackend } from './kernels/backend.js';
export { setProfiling, timed, profileTotals } from './profile.js';
export {
  allocFloats,
  allocFloatsOutermost,
  adoptFloats,
  copyFloats,
  release,
  keep,
  toHeap,
  isResident,
  inResidentScope,
  withResidentScope,
  setFloatAllocator,
  poisonFreedArrays,
} from './storage.js';
export type { FloatAllocator } from './storage.js';
