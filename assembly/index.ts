// Entry point of the kernel module. Every parallel kernel is a "job": a block of 32-bit
// parameters in shared memory, whose first word names the kernel, split into numbered
// tasks. Each thread (the main one and the workers) calls runTask(job, task, thread) for the
// tasks it claims. Nothing here allocates: all buffers are laid out by the caller.
// The ids are src/tensor/kernels/wasm/kernel-ids.ts's, written out by the build (kernel-ids.ts).
import { padTask, cropTask, weightsDirectTask } from './layout';
import { convDirectTask, gradWeightDirectTask, channelMixGradTask } from './direct';
import { fftInputTask, fftFilterTask, fftConvTask, fftConvFusedTask } from './fftconv';
import { fftGradWTask, fftGradWInverseTask, fftBackwardTask } from './fftgrad';
import { mapTask, affineForwardTask, affineBackwardTask, fmaLoopTask } from './elementwise';
import { blurTask, nearestTask, nearestGradTask, maxPool2Task } from './resample';
import { adamTask, sumSquaresTask } from './optim';
import { channelDiffMeanTask, pairSquaredDiffGradTask } from './channel-diff';
import { fftLossTask } from './fftloss';
import {
  K_PAD, K_CROP, K_WEIGHTS_DIRECT, K_CONV_DIRECT, K_GRADW_DIRECT, K_FFT_INPUT, K_FFT_FILTER, K_FFT_CONV, K_FFT_GRADW,
  K_FFT_GRADW_INV, K_FFT_FUSED, K_MAP, K_AFFINE, K_AFFINE_BACK, K_BLUR, K_NEAREST, K_NEAREST_GRAD, K_MAX_POOL,
  K_FFT_BACKWARD, K_FMA_LOOP, K_ADAM, K_CHANNEL_DIFF, K_PAIR_DIFF_GRAD, K_FFT_LOSS, K_SUM_SQUARES, K_CHANNEL_MIX_GRAD,
} from './kernel-ids';
export { initTables } from './fft';
export { kernelProtocol } from './kernel-ids';


export function runTask(job: usize, t: i32, thread: i32): void {
  const kind = load<i32>(job);
  switch (kind) {
    case K_PAD: padTask(job, t); break;
    case K_CROP: cropTask(job, t); break;
    case K_WEIGHTS_DIRECT: weightsDirectTask(job, t); break;
    case K_CONV_DIRECT: convDirectTask(job, t); break;
    case K_GRADW_DIRECT: gradWeightDirectTask(job, t); break;
    case K_FFT_INPUT: fftInputTask(job, t, thread); break;
    case K_FFT_FILTER: fftFilterTask(job, t, thread); break;
    case K_FFT_CONV: fftConvTask(job, t, thread); break;
    case K_FFT_GRADW: fftGradWTask(job, t, thread); break;
    case K_FFT_GRADW_INV: fftGradWInverseTask(job, t, thread); break;
    case K_FFT_FUSED: fftConvFusedTask(job, t, thread); break;
    case K_MAP: mapTask(job, t); break;
    case K_AFFINE: affineForwardTask(job, t); break;
    case K_AFFINE_BACK: affineBackwardTask(job, t); break;
    case K_BLUR: blurTask(job, t, thread); break;
    case K_NEAREST: nearestTask(job, t); break;
    case K_NEAREST_GRAD: nearestGradTask(job, t); break;
    case K_MAX_POOL: maxPool2Task(job, t); break;
    case K_FFT_BACKWARD: fftBackwardTask(job, t, thread); break;
    case K_FMA_LOOP: fmaLoopTask(job, t); break;
    case K_ADAM: adamTask(job, t); break;
    case K_CHANNEL_DIFF: channelDiffMeanTask(job, t, thread); break;
    case K_PAIR_DIFF_GRAD: pairSquaredDiffGradTask(job, t); break;
    case K_FFT_LOSS: fftLossTask(job, t, thread); break;
    case K_SUM_SQUARES: sumSquaresTask(job, t); break;
    case K_CHANNEL_MIX_GRAD: channelMixGradTask(job, t); break;
    default: unreachable();
  }
}

/** Runs tasks [t0, t1) of a job; lets a caller avoid one call per task. */
export function runTasks(job: usize, t0: i32, t1: i32, thread: i32): void {
  for (let t = t0; t < t1; t++) runTask(job, t, thread);
}

/** 1 in the relaxed-SIMD build, 0 in the plain one. */
export function relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
