/**
 * `npm run bench -- kernels [--runs N] [--threads N] [--no-relaxed] [--no-native] [--algorithm direct|fft|auto] [--profile] [--copies]`
 *
 * Effective GFLOP/s (2*N*H*W*Cin*Cout*k*k per pass, whatever the algorithm really does) of the
 * wasm convolution kernels on the default model's 7x7 shapes (batch 2): one thread and all
 * threads (the two alternating run by run), medians after warm-up; the FLOP-weighted
 * one-thread average over the 7x7 passes of one training step; and a comparison with the
 * plain JS reference on a small shape. "cpu" columns divide by the process CPU time instead
 * of wall time: on a shared machine they show what the kernels do when they get the core (for
 * short calls they also count the spinning of the other backend's idle worker, so they read
 * low there). --profile adds the one-thread time split by kernel (ms per call). "backward" is
 * both gradients in one call, as training runs them (counted as two passes' FLOPs). The
 * machine's own ceiling for the thread ratio (a register-only multiply-add loop on 1 and on all
 * threads) is printed before and after: on a shared machine it moves between 1 and 2. A last
 * line checks the run against the compute core's targets (issue 3 of the project).
 */
import os from 'node:os';
import type { ConvShape, KernelBackend } from '../src/tensor/kernels/backend.js';
import { JsBackend } from '../src/tensor/kernels/js/conv.js';
import { createWasmBackend, KERNEL_NAMES, type ConvPass, type WasmBackend } from '../src/tensor/kernels/wasm/backend.js';
import { countOption, median, peakRssMb, UsageError } from './_util.js';

export const usage = 'npm run bench -- kernels [--runs N] [--threads N] [--no-relaxed] [--no-native] [--algorithm direct|fft|auto] [--profile] [--copies]';

interface Options {
  runs: number;
  threads: number;
  relaxed: boolean;
  native: boolean;
  algorithm: 'auto' | 'direct' | 'fft';
  profile: boolean;
  /** Arrays on the JS heap, copied in and out by every call (as before resident tensors). */
  copies: boolean;
}

function parse(args: string[]): Options {
  const o: Options = {
    runs: 7,
    threads: os.availableParallelism(),
    relaxed: true,
    native: process.env.PYRAMIDFLOW_NATIVE !== '0',
    algorithm: 'auto',
    profile: false,
    copies: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--runs') o.runs = countOption('--runs', args[++i]);
    else if (a === '--threads') o.threads = countOption('--threads', args[++i]);
    else if (a === '--no-relaxed') o.relaxed = false;
    else if (a === '--no-native') o.native = false;
    else if (a === '--algorithm') {
      const v = args[++i];
      if (v !== 'direct' && v !== 'fft' && v !== 'auto') throw new UsageError(`--algorithm must be direct, fft or auto, got '${v ?? ''}'`);
      o.algorithm = v;
    } else if (a === '--profile') o.profile = true;
    else if (a === '--copies') o.copies = true;
    else throw new UsageError(`unknown option '${a}'`);
  }
  return o;
}

const flopsOf = (s: ConvShape): number => 2 * s.batch * s.height * s.width * s.inChannels * s.outChannels * s.kernel * s.kernel;

const shape = (inChannels: number, outChannels: number, size: number, kernel = 7, batch = 2): ConvShape => ({
  batch,
  inChannels,
  outChannels,
  height: size,
  width: size,
  kernel,
});

/**
 * The default model's 7x7 shapes and how many of each one training step runs (per stack, 4
 * stacks); 16->32 at 128 completes the table of both channel counts at the three sizes but is
 * not part of the default model's step (weight 0 in the step figures).
 */
const STACKS = 4;
const SHAPES: { s: ConvShape; perStep: number }[] = [
  { s: shape(16, 32, 256), perStep: STACKS },
  { s: shape(32, 32, 256), perStep: STACKS },
  { s: shape(16, 32, 128), perStep: 0 },
  { s: shape(32, 32, 128), perStep: 2 * STACKS },
  { s: shape(16, 32, 64), perStep: STACKS },
  { s: shape(32, 32, 64), perStep: 3 * STACKS },
];
/** The three passes, and the two gradients at once as a training step runs them (dy transformed once). */
type BenchPass = ConvPass | 'backward';
const PASSES: BenchPass[] = ['forward', 'gradInput', 'gradWeight', 'backward'];

/** Medians of the register-only FMA loop on 1 thread and on all threads, taking turns. */
function machineCeiling(b: WasmBackend): { one: number; all: number; ratio: number } {
  b.fmaRate(1);
  b.fmaRate(b.threads);
  const one: number[] = [],
    all: number[] = [];
  for (let i = 0; i < 5; i++) {
    one.push(b.fmaRate(1));
    all.push(b.fmaRate(b.threads));
  }
  const o = median(one),
    a = median(all);
  return { one: o, all: a, ratio: a / o };
}

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    a[i] = x / 2147483648 - 1;
  }
  return a;
}

interface Buffers {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
}

/** The arrays of one shape: on the JS heap, or resident in `b`'s memory (as a training step's tensors). */
function buffers(s: ConvShape, b?: WasmBackend): Buffers {
  const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
  const place = (a: Float32Array): Float32Array => {
    const r = b?.floatAllocator.alloc(a.length);
    if (!r) return a;
    r.set(a);
    return r;
  };
  return {
    x: place(random(N * C * H * W)),
    w: place(random(O * C * K * K)),
    dy: place(random(N * O * H * W)),
    y: place(new Float32Array(N * O * H * W)),
    dx: place(new Float32Array(N * C * H * W)),
    dw: place(new Float32Array(O * C * K * K)),
  };
}

function freeBuffers(d: Buffers, b?: WasmBackend): void {
  if (b) for (const a of Object.values(d)) if (b.floatAllocator.owns(a)) b.floatAllocator.free(a);
}

function call(b: KernelBackend, pass: BenchPass, s: ConvShape, d: Buffers): void {
  if (pass === 'forward') b.conv2d(d.x, d.w, s, d.y);
  else if (pass === 'gradInput') b.conv2dGradInput(d.dy, d.w, s, d.dx);
  else if (pass === 'gradWeight') b.conv2dGradWeight(d.x, d.dy, s, d.dw);
  else if (b.conv2dBackward) b.conv2dBackward(d.x, d.dy, d.w, s, d.dx, d.dw);
  else {
    b.conv2dGradInput(d.dy, d.w, s, d.dx);
    b.conv2dGradWeight(d.x, d.dy, s, d.dw);
  }
}

interface Timing {
  wall: number;
  cpu: number;
}

/**
 * Median wall and CPU seconds of `runs` calls of each function after 2 warm-up calls, the
 * functions taking turns so that they see the same machine (other processes come and go).
 */
function measure(fns: (() => void)[], runs: number): Timing[] {
  for (const fn of fns) {
    fn();
    fn();
  }
  const walls: number[][] = fns.map(() => []),
    cpus: number[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) {
    fns.forEach((fn, k) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fn();
      walls[k]!.push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpus[k]!.push((c.user + c.system) / 1e6);
    });
  }
  return fns.map((_, k) => ({ wall: median(walls[k]!), cpu: median(cpus[k]!) }));
}

const pad = (v: string | number, n: number): string => String(v).padStart(n);
const label = (s: ConvShape): string => `${s.inChannels}->${s.outChannels} @${s.height}`;

export async function run(args: string[]): Promise<void> {
  const o = parse(args);
  const algorithm = o.algorithm;
  const one = await createWasmBackend({ threads: 1, relaxedSimd: o.relaxed, nativeKernels: o.native, algorithm });
  const many = o.threads > 1 ? await createWasmBackend({ threads: o.threads, relaxedSimd: o.relaxed, nativeKernels: o.native, algorithm }) : undefined;
  try {
    console.log(
      `wasm kernels: ${one.name}${many ? ` / ${many.name}` : ''}; k 7, batch 2; effective GFLOP/s = 2*N*H*W*Cin*Cout*k*k / time; median of ${o.runs} runs after 2 warm-up`,
    );
    console.log(
      o.copies
        ? 'arrays on the JS heap, copied in and out by each call (--copies)'
        : "arrays resident in the wasm memory, as a training step's tensors (--copies: on the JS heap)",
    );
    console.log('algo: direct, or fftT = FFT with T x T tiles');
    console.log(
      `cpu: ${os.cpus()[0]?.model ?? '?'} x${os.availableParallelism()}, load average ${os
        .loadavg()
        .map((v) => v.toFixed(1))
        .join(' ')}`,
    );
    console.log('');
    const head =
      `${'shape'.padEnd(14)} ${'pass'.padEnd(10)} ${'algo'.padEnd(6)} ${pad('ms x1', 8)} ${pad('GF/s x1', 8)} ${pad('cpu GF/s', 9)}` +
      (many ? ` ${pad(`ms x${many.threads}`, 8)} ${pad(`GF/s x${many.threads}`, 9)} ${pad('ratio', 6)}` : '');
    console.log(head);
    console.log('-'.repeat(head.length));
    const ceilingBefore = many ? machineCeiling(many) : undefined;
    // 7x7 work of one training step: the three passes one by one, and as training runs them
    let stepFlops = 0,
      stepWall = 0,
      stepCpu = 0,
      stepWallMany = 0;
    let runWall = 0,
      runWallMany = 0;
    // the slowest single passes (one thread): at 256 x 256, and of all shapes
    const lowest = { at256: { gf: Infinity, what: '' }, all: { gf: Infinity, what: '' } };
    for (const { s, perStep } of SHAPES) {
      const d1 = buffers(s, o.copies ? undefined : one);
      const dn = buffers(s, o.copies ? undefined : many);
      const f = flopsOf(s);
      // every pass on both backends, taking turns run by run: they all see the same machine
      const profiles = PASSES.map(() => new Map<number, number>());
      const fns: (() => void)[] = [];
      PASSES.forEach((pass, i) => {
        fns.push(() => {
          if (o.profile) one.profile = profiles[i];
          call(one, pass, s, d1);
          one.profile = undefined;
        });
        if (many) fns.push(() => call(many, pass, s, dn));
      });
      const timings = measure(fns, o.runs);
      const per = many ? 2 : 1;
      for (const [i, pass] of PASSES.entries()) {
        const r1 = timings[i * per]!,
          rn = many ? timings[i * per + 1] : undefined;
        const prof = o.profile ? profiles[i] : undefined;
        const pf = pass === 'backward' ? 2 * f : f;
        if (pass !== 'backward') {
          stepFlops += perStep * f;
          stepWall += perStep * r1.wall;
          stepCpu += perStep * r1.cpu;
          if (rn) stepWallMany += perStep * rn.wall;
        }
        if (pass !== 'backward') {
          const gf = pf / r1.wall / 1e9,
            what = `${label(s)} ${pass}`;
          if (gf < lowest.all.gf) lowest.all = { gf, what };
          if (s.height === 256 && gf < lowest.at256.gf) lowest.at256 = { gf, what };
        }
        if (pass === 'forward' || pass === 'backward') {
          runWall += perStep * r1.wall;
          if (rn) runWallMany += perStep * rn.wall;
        }
        const passAlgo = pass === 'backward' ? 'gradWeight' : pass;
        const algo = one.algorithm(passAlgo, s) === 'fft' ? `fft${one.fftTile(passAlgo, s)}` : 'direct';
        let line =
          `${(label(s) + (perStep === 0 ? '*' : '')).padEnd(14)} ${pass.padEnd(10)} ${algo.padEnd(6)} ${pad((r1.wall * 1e3).toFixed(1), 8)} ` +
          `${pad((pf / r1.wall / 1e9).toFixed(1), 8)} ${pad((pf / r1.cpu / 1e9).toFixed(1), 9)}`;
        if (many && rn) {
          line += ` ${pad((rn.wall * 1e3).toFixed(1), 8)} ${pad((pf / rn.wall / 1e9).toFixed(1), 9)} ${pad((r1.wall / rn.wall).toFixed(2), 6)}`;
        }
        console.log(line);
        if (prof) {
          const calls = o.runs + 2;
          console.log(`${''.padEnd(14)}   ${[...prof].map(([k, v]) => `${KERNEL_NAMES[k] ?? k} ${(v / calls).toFixed(2)}`).join(', ')} ms/call`);
        }
      }
      freeBuffers(d1, one);
      freeBuffers(dn, many);
    }
    console.log('* not a shape of the default model: left out of the training-step figures below');
    console.log('');
    const oneGf = stepFlops / stepWall / 1e9;
    const ratio = many ? stepWall / stepWallMany : NaN;
    console.log(
      `one training step, all 7x7 passes (${(stepFlops / 1e9).toFixed(1)} GFLOP): ` +
        `1 thread ${(stepWall * 1e3).toFixed(0)} ms = ${oneGf.toFixed(1)} GFLOP/s (FLOP-weighted; cpu ${(stepFlops / stepCpu / 1e9).toFixed(1)})` +
        (many
          ? `; ${many.threads} threads ${(stepWallMany * 1e3).toFixed(0)} ms = ${(stepFlops / stepWallMany / 1e9).toFixed(1)} GFLOP/s, ratio ${ratio.toFixed(2)}`
          : ''),
    );
    if (many && ceilingBefore) {
      const after = machineCeiling(many);
      console.log(
        `the machine's own ceiling (a register-only multiply-add loop, ${many.threads} threads / 1): ` +
          `${ceilingBefore.ratio.toFixed(2)} before the passes, ${after.ratio.toFixed(2)} after ` +
          `(1 thread ${(ceilingBefore.one / 1e9).toFixed(2)} / ${(after.one / 1e9).toFixed(2)} G vector FMA/s): a shared machine's second core is not always all there`,
      );
    }
    console.log(
      `the same as training runs them (forward, then backward: both gradients at once): ` +
        `1 thread ${(runWall * 1e3).toFixed(0)} ms = ${(stepFlops / runWall / 1e9).toFixed(1)} GFLOP/s` +
        (many
          ? `; ${many.threads} threads ${(runWallMany * 1e3).toFixed(0)} ms = ${(stepFlops / runWallMany / 1e9).toFixed(1)} GFLOP/s, ratio ${(runWall / runWallMany).toFixed(2)}`
          : ''),
    );
    const verdict = (ok: boolean): string => (ok ? 'met' : 'missed');
    console.log(
      `against the targets: 1 thread FLOP-weighted ${oneGf.toFixed(1)} (>= 185: ${verdict(oneGf >= 185)}); ` +
        `slowest pass at 256x256 ${lowest.at256.gf.toFixed(1)}, ${lowest.at256.what} (>= 185: ${verdict(lowest.at256.gf >= 185)}); ` +
        `slowest pass ${lowest.all.gf.toFixed(1)}, ${lowest.all.what} (>= 40: ${verdict(lowest.all.gf >= 40)})` +
        (many ? `; ${many.threads} threads / 1 ${ratio.toFixed(2)} (>= 1.8: ${verdict(ratio >= 1.8)})` : ''),
    );

    // Against the plain JS reference, once, on a small shape.
    const small = shape(8, 8, 32);
    const d = buffers(small);
    const js = new JsBackend();
    const [tj] = measure([() => call(js, 'forward', small, d)], 3) as [Timing];
    const [tw] = measure([() => call(one, 'forward', small, d)], 7) as [Timing];
    const smallAlgo = one.algorithm('forward', small) === 'fft' ? `fft${one.fftTile('forward', small)}` : 'direct';
    console.log(
      `JS reference on ${label(small)} k7 forward: ${(tj.wall * 1e3).toFixed(1)} ms vs wasm x1 (${smallAlgo}) ` +
        `${(tw.wall * 1e3).toFixed(2)} ms: ${(tj.wall / tw.wall).toFixed(0)}x faster`,
    );
    console.log(`peak RSS ${peakRssMb().toFixed(0)} MB`);
  } finally {
    one.dispose();
    many?.dispose();
  }
}
