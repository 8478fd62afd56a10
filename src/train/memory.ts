/**
 * How much memory a training run needs, and a refusal, before anything is allocated, of a
 * configuration that cannot fit: in the memory the process may use (the cgroup limit where there
 * is one, else the machine's), or, for the kernels' memory, in WebAssembly's 4 GiB.
 *
 * The estimate (bytes; n_l = H W / 4^l the pixels of pyramid level l, A = the sum over blocks of
 * the pixels of the level each block's convolutions run at, pyr = the sum of n_l, pairs =
 * B (B - 1) / 2, P = trainable parameters):
 *   kernel memory (tensors of a step and the kernels' scratch, WebAssembly memory as grown):
 *     plain:          4 (5 B C A + 21 B C pyr + 50 pairs H W) + workspace
 *     memory saving:  4 (26 B C H W + 11 pairs H W) + workspace + filter cache
 *     workspace 4 * 2.5 P (weights and their gradients in kernel memory, spectra of a call),
 *     filter cache min(128 MiB, 4 * 5.5 P) (filter spectra kept between the two forwards)
 *   heap: model 4 (2 P + A) (weights, gradients, running means), Adam moments 4 * 2 P, the last
 *     healthy and the current state kept against divergence 2 * 4 (3 P + A) (src/train/kept-state.ts),
 *     a checkpoint being written 4 * 7 P (copies and the encoded file), the batch being built
 *     3 * 4 * 3 B H W, the training images 3 H W each (as decoded)
 *   runtime: 150 MB + 8 MB per kernel thread (Node, the kernel module, the workers, the image decoder).
 * The kernel memory's coefficients are least-squares fits to `npm run bench -- train --json
 * --steps 1` (WebAssembly memory grown) over 24 configurations, 32 to 1024 pixels, C 4-32, k 3-7,
 * L 2-8, S 1-4, batch 2-8, both modes: within 10% of 20 of them, 28% of all (the largest errors
 * on the smallest). The heap and runtime terms were checked against the peak RSS of the loop
 * itself (synthetic images, 2 threads, tsx): 762 MB measured / 737 estimated for the default
 * model at 256, 548 / 522 with memory saving, 823 / 814 for C 32 at 128, 298 / 300 at 64 (the
 * bench's own peaks are lower: it holds no images, kept states or checkpoints).
 * test/train/memory.test.ts holds bench measurements.
 */
import type { ModelConfig } from '../flow/types.js';
import { blockOrder } from '../flow/config.js';
import { backend } from '../tensor/index.js';
import { PyramidFlowError } from '../util/errors.js';

/** WebAssembly's 32-bit memory: 65536 pages of 64 KiB (src/tensor/kernels/wasm/load-kernels.ts). */
export const WASM_MEMORY_LIMIT = 4 * 2 ** 30;
/** The filter spectra kept through a memory-saving step (src/train/gradients.ts). */
const FILTER_CACHE_BYTES = 128 * 2 ** 20;
const MB = 2 ** 20;
/** Sizes suggested in a refusal fit with this factor to spare. */
const SUGGESTION_MARGIN = 1.15;

/** What a training run holds besides its model configuration. */
export interface TrainingMemoryOptions {
  /** Images per step (`--batch`). */
  batch: number;
  /** Memory-saving backpropagation (`--save-memory`). */
  saveMemory: boolean;
  /** Kernel threads (default: the machine's processors where known, else 4). */
  threads?: number;
  /** Training images held at the model size (default 0: the images are not counted). */
  images?: number;
}

/** Bytes, by what they hold; `total` is the process's peak, `kernel` the part in WebAssembly memory. */
export interface TrainingMemoryEstimate {
  /** The configuration estimated. */
  config: ModelConfig;
  /** Images per step. */
  batch: number;
  /** Whether memory saving is on. */
  saveMemory: boolean;
  /** The training images and kernel threads counted. */
  imageCount: number;
  threads: number;
  /** A step's tensors: activations, their gradients, the loss maps. */
  activations: number;
  /** The kernels' scratch: weights and spectra of a call, the filter cache when memory saving. */
  workspace: number;
  /** Weights, gradients and running means on the heap, and the states kept against divergence. */
  modelState: number;
  /** Adam's two moments. */
  optimizer: number;
  /** The batch being built and the training images. */
  images: number;
  /** Node.js, the kernel module, the worker threads, the image decoder. */
  runtime: number;
  /** What lives in the kernels' (WebAssembly) memory: activations + workspace. */
  kernel: number;
  /** All of it: the process's peak. */
  total: number;
}

/** Trainable parameters and block pixel sums of a configuration (per image). */
function shape(config: ModelConfig): { params: number; blockPixels: number; pyramidPixels: number } {
  const { channels: C, kernel: k, levels: L, height: H, width: W } = config;
  const n = Array.from({ length: L }, (_, l) => (H * W) / 4 ** l);
  let params = 0,
    blockPixels = 0;
  for (const b of blockOrder(config)) {
    const work = b.kind === 'middle' ? b.start + 1 : b.start; // down blocks compute at their source level
    blockPixels += n[work]!;
    const inC = b.kind === 'middle' ? 2 * C : C;
    params += 2 * C * inC * k * k + 2 * C * 2 * C * k * k + 2 * C * C + C;
  }
  return { params, blockPixels, pyramidPixels: n.reduce((a, b) => a + b, 0) };
}

function defaultThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n > 0 ? n : 4;
}

/**
 * Bytes a training run of `config` needs at its peak, by part (the formula is in this module's
 * comment). Cheap: call it before loading anything.
 */
export function estimateTrainingMemory(config: ModelConfig, opts: TrainingMemoryOptions): TrainingMemoryEstimate {
  const { batch: B, saveMemory } = opts;
  const threads = opts.threads ?? defaultThreads(),
    imageCount = opts.images ?? 0;
  const C = config.channels,
    HW = config.height * config.width;
  const { params: P, blockPixels: A, pyramidPixels: pyr } = shape(config);
  const pairs = (B * (B - 1)) / 2;
  const activations = 4 * (saveMemory ? 26 * B * C * HW + 11 * pairs * HW : 5 * B * C * A + 21 * B * C * pyr + 50 * pairs * HW);
  const workspace = 4 * 2.5 * P + (saveMemory ? Math.min(FILTER_CACHE_BYTES, 4 * 5.5 * P) : 0);
  const modelState = 4 * (2 * P + A) + 2 * 4 * (3 * P + A) + 4 * 7 * P;
  const optimizer = 4 * 2 * P;
  const images = 3 * 4 * 3 * B * HW + 3 * HW * imageCount;
  const runtime = (150 + 8 * threads) * MB;
  const kernel = activations + workspace;
  return {
    config,
    batch: B,
    saveMemory,
    imageCount,
    threads,
    activations,
    workspace,
    modelState,
    optimizer,
    images,
    runtime,
    kernel,
    total: kernel + modelState + optimizer + images + runtime,
  };
}

/** The memory a training may use. */
export interface AvailableMemory {
  /** Bytes of memory for the whole process (Infinity: unknown). */
  bytes: number;
  /** Where `bytes` comes from, the subject of 'is 8 GB' in messages: 'the cgroup limit (/sys/fs/cgroup/memory.max)', "this machine's memory". */
  source: string;
  /** Bytes the kernels' memory may grow to (Infinity when tensors live on the JS heap). */
  kernelBytes: number;
}

/** Parses a cgroup memory limit file: bytes, or undefined for 'max' / no limit. */
function parseLimit(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (!t || !/^\d+$/.test(t)) return undefined; // 'max' (v2), or unreadable
  const v = Number(t);
  return v > 0 && v < 2 ** 60 ? v : undefined; // v1 writes about 2^63 for none
}

/**
 * The tightest cgroup memory limit of this process, v2 (memory.max) or v1
 * (memory.limit_in_bytes), its own cgroup and each above it (limits nest), and the mount's root
 * (inside a container's namespace the container's own). `read` returns a file's text or undefined.
 */
export function cgroupMemoryLimit(read: (path: string) => string | undefined): { bytes: number; file: string } | undefined {
  const files: string[] = [];
  const ancestors = (dir: string): string[] => {
    const parts = dir.split('/').filter(Boolean);
    return parts.map((_, i) => `/${parts.slice(0, parts.length - i).join('/')}`);
  };
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line.trim());
    if (!m) continue;
    const [, controllers, dir] = m as unknown as [string, string, string];
    if (controllers === '') for (const d of ancestors(dir)) files.push(`/sys/fs/cgroup${d}/memory.max`);
    else if (controllers.split(',').includes('memory')) for (const d of ancestors(dir)) files.push(`/sys/fs/cgroup/memory${d}/memory.limit_in_bytes`);
  }
  files.push('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes');
  let best: { bytes: number; file: string } | undefined;
  for (const file of files) {
    const bytes = parseLimit(read(file));
    if (bytes !== undefined && (!best || bytes < best.bytes)) best = { bytes, file };
  }
  return best;
}

/**
 * The memory this process may use: on Node the cgroup limit where there is one below the
 * machine's memory, else the machine's total memory (os.totalmem, not os.freemem: what is free
 * now changes from moment to moment, counts reclaimable cache as used on some systems, and
 * would refuse runs that fit once the cache is dropped; the total is a bound no run can exceed,
 * so a refusal is certain); elsewhere unknown. The kernels' limit: `kernelBytes`, by default
 * WebAssembly's 4 GiB when the backend in use keeps tensors in its memory (the wasm backend:
 * call this after it is initialised, or pass WASM_MEMORY_LIMIT), else none.
 */
export async function availableMemory(
  options: {
    /** The kernels' limit in bytes, instead of the backend's. */
    kernelBytes?: number;
  } = {},
): Promise<AvailableMemory> {
  const kernelBytes = options.kernelBytes ?? (backend().floatAllocator ? WASM_MEMORY_LIMIT : Infinity);
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) return { bytes: Infinity, source: 'the memory available', kernelBytes };
  const [fs, os] = await Promise.all([import('node:fs'), import('node:os')]);
  const read = (path: string): string | undefined => {
    try {
      return fs.readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  };
  const total = os.totalmem();
  const cgroup = cgroupMemoryLimit(read);
  if (cgroup && cgroup.bytes < total) return { bytes: cgroup.bytes, source: `the cgroup limit (${cgroup.file})`, kernelBytes };
  return { bytes: total, source: "this machine's memory", kernelBytes };
}

/** Bytes in words: '1.4 GB', '650 MB' (decimal units), '4 GiB' for a whole number of GiB (limits). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unlimited';
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`; // a limit set in binary units
  const units: [number, string][] = [
    [1e12, 'TB'],
    [1e9, 'GB'],
    [1e6, 'MB'],
    [1e3, 'kB'],
  ];
  for (const [u, name] of units) if (bytes >= u) return `${Number((bytes / u).toPrecision(bytes / u >= 100 ? 3 : 2))} ${name}`;
  return `${bytes} B`;
}

function fits(e: TrainingMemoryEstimate, available: AvailableMemory): boolean {
  return e.total <= available.bytes && e.kernel <= available.kernelBytes;
}

/**
 * The largest size (both sides scaled alike, multiples of 2^(levels-1)) that fits with
 * SUGGESTION_MARGIN to spare (the estimate is within about 10% of measurements, and memory
 * fragments: a suggestion should work), or undefined.
 */
function largestFittingSize(e: TrainingMemoryEstimate, available: AvailableMemory): ModelConfig | undefined {
  const f = 2 ** (e.config.levels - 1);
  const at = (s: number): ModelConfig => ({
    ...e.config,
    height: Math.max(f, Math.floor((e.config.height * s) / f) * f),
    width: Math.max(f, Math.floor((e.config.width * s) / f) * f),
  });
  const ok = (s: number): boolean => {
    const t = estimateTrainingMemory(at(s), { batch: e.batch, saveMemory: e.saveMemory, images: e.imageCount, threads: e.threads });
    return fits({ ...t, total: t.total * SUGGESTION_MARGIN, kernel: t.kernel * SUGGESTION_MARGIN }, available);
  };
  if (!ok(0)) return undefined;
  let lo = 0,
    hi = 1;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return at(lo);
}

/**
 * Refuses, in one line (a PyramidFlowError, code 'E_MEMORY'), a training that cannot fit: what
 * it needs, what there is, and the options that reduce it (--save-memory when off, --batch when
 * above 2, --size with the largest that fits).
 */
export function checkTrainingFits(estimate: TrainingMemoryEstimate, available: AvailableMemory): void {
  if (fits(estimate, available)) return;
  const { config: c, batch, saveMemory } = estimate;
  const what = `${c.height}x${c.width}, batch ${batch}, ${saveMemory ? 'memory saving on' : 'memory saving off'}`;
  const wasm = Number.isFinite(available.kernelBytes);
  const needs = `about ${formatBytes(estimate.total)}${wasm ? ` (${formatBytes(estimate.kernel)} of it WebAssembly memory, which holds at most ${formatBytes(available.kernelBytes)})` : ''}`;
  const has = `${available.source} is ${formatBytes(available.bytes)}`;
  const ways: string[] = [];
  if (!saveMemory) ways.push('--save-memory');
  if (batch > 2) ways.push('a smaller --batch');
  const size = largestFittingSize(estimate, available);
  const square = c.height === c.width;
  if (size) ways.push(square ? `a smaller --size (${size.height} fits)` : `a smaller --height/--width (${size.height}x${size.width} fits)`);
  else ways.push(square ? 'a smaller --size' : 'a smaller --height/--width');
  throw new PyramidFlowError(`not enough memory to train at ${what}: it needs ${needs}, and ${has}; reduce it with ${ways.join(', ')}`, 'E_MEMORY');
}
