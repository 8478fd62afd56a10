// Entry point of the kernel module. Every parallel kernel is a "job": a block of 32-bit
// parameters in shared memory, whose first word names the kernel, split into numbered
// tasks. Each thread (the main one and the workers) calls runTask(job, task, thread) for the
// tasks it claims. Nothing here allocates: all buffers are laid out by the caller.
import { padTask, cropTask, weightsDirectTask } from './layout';
import { convDirectTask, gradWeightDirectTask } from './direct';
import { fftInputTask, fftFilterTask, fftConvTask, fftConvFusedTask } from './fftconv';
import { fftGradWTask, fftGradWInverseTask, fftBackwardTask } from './fftgrad';
import { mapTask, affineForwardTask, affineBackwardTask, fmaLoopTask } from './elementwise';
import { blurTask, nearestTask, nearestGradTask, maxPool2Task } from './resample';
export { initTables } from './fft';


export function runTask(job: usize, t: i32, thread: i32): void {
  const kind = load<i32>(job);
  switch (kind) {
    case 1: padTask(job, t); break;
    case 2: cropTask(job, t); break;
    case 3: weightsDirectTask(job, t); break;
    case 4: convDirectTask(job, t); break;
    case 5: gradWeightDirectTask(job, t); break;
    case 6: fftInputTask(job, t, thread); break;
    case 7: fftFilterTask(job, t, thread); break;
    case 8: fftConvTask(job, t, thread); break;
    case 9: fftGradWTask(job, t, thread); break;
    case 10: fftGradWInverseTask(job, t, thread); break;
    case 11: fftConvFusedTask(job, t, thread); break;
    case 12: mapTask(job, t); break;
    case 13: affineForwardTask(job, t); break;
    case 14: affineBackwardTask(job, t); break;
    case 15: blurTask(job, t, thread); break;
    case 16: nearestTask(job, t); break;
    case 17: nearestGradTask(job, t); break;
    case 18: maxPool2Task(job, t); break;
    case 19: fftBackwardTask(job, t, thread); break;
    case 20: fmaLoopTask(job, t); break;
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
