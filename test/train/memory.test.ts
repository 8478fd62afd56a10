import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/flow/config.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { trainLoop } from '../../src/train/trainer.js';
import {
  availableMemory,
  cgroupMemoryLimit,
  checkTrainingFits,
  estimateTrainingMemory,
  formatBytes,
  WASM_MEMORY_LIMIT,
  type AvailableMemory,
} from '../../src/train/memory.js';
import { trainingRecord } from '../flow/helpers.js';

const MB = 2 ** 20;

/**
 * Measured on a 2-core machine, Node 20, wasm backend (relaxed SIMD, 2 threads), with
 *   npm run bench -- train --size S [--save-memory | --no-save-memory] --steps 1 --json
 * peak_rss_mb (the process's peak, VmHWM) and wasm_memory.capacity_mb (what the kernels' memory
 * grew to). 1024 with memory saving is README's "peak 3.4 GB".
 */
const MEASURED = [
  { size: 256, saveMemory: false, rssMb: 637, kernelMb: 480 },
  { size: 256, saveMemory: true, rssMb: 430, kernelMb: 265 },
  { size: 1024, saveMemory: true, rssMb: 3439, kernelMb: 3242 },
];

test('the estimate is within 30% of measured peaks (default model, batch 2)', () => {
  for (const m of MEASURED) {
    const e = estimateTrainingMemory(resolveConfig({ size: m.size }), { batch: 2, saveMemory: m.saveMemory, threads: 2 });
    const what = `${m.size} ${m.saveMemory ? 'saving' : 'plain'}`;
    assert.ok(Math.abs(e.total / MB / m.rssMb - 1) < 0.3, `${what}: total ${Math.round(e.total / MB)} MB, measured ${m.rssMb}`);
    assert.ok(Math.abs(e.kernel / MB / m.kernelMb - 1) < 0.3, `${what}: kernel ${Math.round(e.kernel / MB)} MB, measured ${m.kernelMb}`);
    const parts = e.activations + e.workspace + e.modelState + e.optimizer + e.images + e.runtime;
    assert.equal(Math.round(parts), Math.round(e.total));
  }
  // Memory saving needs less; more images, a bigger batch, more threads need more.
  const c = resolveConfig({});
  const plain = estimateTrainingMemory(c, { batch: 2, saveMemory: false, threads: 2 });
  assert.ok(estimateTrainingMemory(c, { batch: 2, saveMemory: true, threads: 2 }).total < plain.total);
  assert.ok(estimateTrainingMemory(c, { batch: 4, saveMemory: false, threads: 2 }).total > plain.total);
  assert.equal(estimateTrainingMemory(c, { batch: 2, saveMemory: false, threads: 2, images: 100 }).images - plain.images, 100 * 3 * 256 * 256);
});

const machine = (gb: number): AvailableMemory => ({ bytes: gb * 1e9, source: "this machine's memory", kernelBytes: WASM_MEMORY_LIMIT });

test('16384 x 16384 is refused at once with what it needs, what there is and what reduces it; the default at 256 is accepted', async () => {
  const big = resolveConfig({ size: 16384 });
  const e = estimateTrainingMemory(big, { batch: 2, saveMemory: true, threads: 2 });
  assert.throws(
    () => checkTrainingFits(e, machine(64)),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_MEMORY');
      assert.match(
        err.message,
        /^not enough memory to train at 16384x16384, batch 2, memory saving on: it needs about [\d.]+ [GT]B \([\d.]+ GB of it WebAssembly memory, which holds at most 4 GiB\), and this machine's memory is 64 GB; reduce it with a smaller --size \(\d+ fits\)$/,
      );
      assert.ok(!err.message.includes('\n'));
      return true;
    },
  );
  const plain = estimateTrainingMemory(big, { batch: 4, saveMemory: false, threads: 2 });
  assert.throws(
    () => checkTrainingFits(plain, machine(64)),
    /memory saving off: .* reduce it with --save-memory, a smaller --batch, a smaller --size \(\d+ fits\)$/,
  );

  // The default model at 256, batch 2, in either mode: accepted here, and on a machine of 2 GB.
  for (const saveMemory of [false, true]) {
    const d = estimateTrainingMemory(resolveConfig({}), { batch: 2, saveMemory, images: 300 });
    checkTrainingFits(d, await availableMemory());
    checkTrainingFits(d, machine(2));
  }
  // On a 1 GB cgroup the default plain run does not fit, memory saving does.
  const cgroup: AvailableMemory = { bytes: 2 ** 30, source: 'the cgroup limit (/sys/fs/cgroup/memory.max)', kernelBytes: WASM_MEMORY_LIMIT };
  assert.throws(
    () => checkTrainingFits(estimateTrainingMemory(resolveConfig({}), { batch: 8, saveMemory: false, threads: 2 }), cgroup),
    /and the cgroup limit \(\/sys\/fs\/cgroup\/memory\.max\) is 1 GiB; reduce it with --save-memory, a smaller --batch/,
  );
});

test('a suggested size fits', () => {
  const e = estimateTrainingMemory(resolveConfig({ size: 4096 }), { batch: 2, saveMemory: true, threads: 2 });
  let message = '';
  try {
    checkTrainingFits(e, machine(16));
  } catch (err) {
    message = (err as Error).message;
  }
  const size = Number(/--size \((\d+) fits\)/.exec(message)?.[1]);
  assert.ok(size >= 512 && size % 8 === 0, message);
  checkTrainingFits(estimateTrainingMemory(resolveConfig({ size }), { batch: 2, saveMemory: true, threads: 2 }), machine(16));
});

test('trainLoop refuses before it allocates anything', async () => {
  const config = resolveConfig({ size: 16384 });
  let created = 0;
  const create = PyramidFlow.create;
  PyramidFlow.create = (...args) => {
    created++;
    return create(...args);
  };
  const record = trainingRecord({ saveMemory: true });
  const tiny = { width: 1, height: 1, rgb: new Uint8Array(3) };
  const t0 = Date.now();
  try {
    await assert.rejects(
      trainLoop({ config, images: [tiny, tiny], record, checkpoints: { name: 'x.pflow', save: () => assert.fail('no checkpoint') } }),
      (err: Error & { code?: string }) =>
        err.code === 'E_MEMORY' && /^not enough memory to train at 16384x16384, batch 2, memory saving on: it needs about [\d.]+ [GT]B/.test(err.message),
    );
  } finally {
    PyramidFlow.create = create;
  }
  assert.equal(created, 0);
  assert.ok(Date.now() - t0 < 1000);
});

test('the cgroup limit: v2 and v1, the tightest of the own group, its parents and the root; none when unlimited', () => {
  const files =
    (map: Record<string, string>) =>
    (path: string): string | undefined =>
      map[path];
  assert.deepEqual(
    cgroupMemoryLimit(
      files({
        '/proc/self/cgroup': '0::/user.slice/job\n',
        '/sys/fs/cgroup/user.slice/job/memory.max': 'max\n',
        '/sys/fs/cgroup/user.slice/memory.max': '8589934592\n',
      }),
    ),
    { bytes: 8589934592, file: '/sys/fs/cgroup/user.slice/memory.max' },
  );
  assert.deepEqual(
    cgroupMemoryLimit(
      files({
        '/proc/self/cgroup': '9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n',
        '/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes': '2147483648\n',
        '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      }),
    ),
    { bytes: 2147483648, file: '/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes' },
  );
  assert.deepEqual(cgroupMemoryLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': '1073741824\n' })), {
    bytes: 1073741824,
    file: '/sys/fs/cgroup/memory.max',
  });
  assert.equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': 'max\n' })), undefined);
  assert.equal(cgroupMemoryLimit(files({})), undefined);
});

test('available memory on this machine, and byte counts in words', async () => {
  const a = await availableMemory({ kernelBytes: WASM_MEMORY_LIMIT });
  assert.ok(a.bytes > 0 && Number.isFinite(a.bytes));
  assert.match(a.source, /^(this machine's memory|the cgroup limit \(.*\))$/);
  assert.equal(a.kernelBytes, WASM_MEMORY_LIMIT);
  assert.equal(formatBytes(WASM_MEMORY_LIMIT), '4 GiB');
  assert.equal(formatBytes(650e6), '650 MB');
  assert.equal(formatBytes(1.234e12), '1.2 TB');
  assert.equal(formatBytes(Infinity), 'unlimited');
});
