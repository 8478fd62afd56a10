/**
 * The body of a kernel worker, as source text: run with `eval` by worker_threads (the same
 * text works from tsx and from compiled dist/, with no file to locate), or by a browser
 * Worker from a Blob. It defines workerMain(data, ready, native): instantiate the kernels over the
 * shared memory (with the native kernels where the host loaded them, native-kernels.ts), then
 * loop: sleep on the job counter, claim tasks, report completion.
 *
 * Control words (Int32 at data.ctrl): 0 job sequence, 1 workers still busy, 2 next task,
 * 3 task count, 4 shutdown, 5 a task failed in a worker. See pool.ts for the other side.
 */
import { kernelImports, missingNativeKernel } from './native-kernels.js';

// biome-ignore lint/complexity/noUselessStringRaw: the worker's source is kept raw so that a backslash added later stays literal
export const WORKER_MAIN = String.raw`
function workerMain(data, ready, native) {
  const inst = new WebAssembly.Instance(data.module, { env: kernelImports(data.memory, native || null) });
  const runTask = inst.exports.runTask;
  const ctrl = new Int32Array(data.memory.buffer, data.ctrl, 16);
  const job = data.job, id = data.id, spin = data.spin;
  let seen = Atomics.load(ctrl, 0);
  ready();
  for (;;) {
    let s = Atomics.load(ctrl, 0);
    for (let i = 0; s === seen && i < spin; i++) s = Atomics.load(ctrl, 0);
    if (s === seen) {
      Atomics.wait(ctrl, 0, seen);
      continue;
    }
    seen = s;
    if (Atomics.load(ctrl, 4) !== 0) break;
    const n = Atomics.load(ctrl, 3);
    for (;;) {
      const t = Atomics.add(ctrl, 2, 1);
      if (t >= n) break;
      try {
        runTask(job, t, id);
      } catch (e) {
        Atomics.store(ctrl, 5, 1);
      }
    }
    if (Atomics.sub(ctrl, 1, 1) === 1) Atomics.notify(ctrl, 1);
  }
}
${kernelImports.toString()}
${missingNativeKernel.toString()}
`;
