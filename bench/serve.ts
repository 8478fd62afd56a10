import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { buildServer, parseModelSpec } from '../src/server/index.js';
import { countOption, median, peakRssMb, positiveOption, UsageError } from './_util.js';
import { tableArgs, tableHelp, tableUsage, tableValues } from './_model-args.js';
import { numberDefault } from '../src/api/options.js';
import { type AutocannonResult, autocannon, completedPerSecond } from './_autocannon.js';

/** The options of `pyramidflow serve` this benchmark takes (the option table's). */
const SERVE_OPTIONS = ['threads', 'maxQueue', 'inferenceBatch'];

export const usage = `npm run bench -- serve (--model FILE | --url URL [--server-pid PID]) [--seconds 60] [--connections 4] [--image FILE] [--concurrency 1] ${tableUsage('serve', SERVE_OPTIONS)} [--compare [--baseline-url URL [--baseline-pid PID]]] [--rounds 3] [--json]`;
export const help = tableHelp('serve', SERVE_OPTIONS, [
  ['--url <url>', 'bench a server already running (its predict URL, e.g. http://127.0.0.1:8080/v1/models/NAME/predict) instead of one built here'],
  ['--compare', 'alternate runs of --batch 1 and --batch, and print their medians and ratios'],
  ['--server-pid <pid>', "with --url: the server's process, so that the CPU time of other work on the machine can be told apart"],
  ['--baseline-url <url>', 'with --compare: the other side is the server running there (e.g. an older build) instead of --batch 1 built here'],
  ['--baseline-pid <pid>', "with --baseline-url: that server's process"],
  ['--rounds <n>', 'with --compare: runs of each (default 3)'],
]);

const rssMb = (): number => process.memoryUsage().rss / 1048576;

/**
 * CPU seconds (Linux /proc; null elsewhere): the whole machine's busy time, and that of the given
 * processes (this one, and a server being benched by its --server-pid). What the machine did
 * besides them is other work on a shared machine, which slows the run measured.
 */
function cpuSeconds(pids: Array<number | 'self'>): { busy: number; ours: number } | null {
  const TICKS = 100; // USER_HZ, 100 on Linux
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
    const busy = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
    let ours = 0;
    for (const pid of pids) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ours += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
    }
    return { busy: busy / TICKS, ours: ours / TICKS };
  } catch {
    return null;
  }
}

/** A deterministic noise image at the model's size: the same work per request as a real photo. */
async function noisePng(width: number, height: number): Promise<Buffer> {
  const rgb = Buffer.alloc(width * height * 3);
  let s = 12345;
  for (let i = 0; i < rgb.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    rgb[i] = 96 + (s >>> 26); // mid grey with a little noise
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** The settings of one measured run. */
interface RunSettings {
  /** The model of a server built here (absent with `url`). */
  spec?: ReturnType<typeof parseModelSpec>;
  /** A server already running: its predict URL (the options below that shape a server do not apply). */
  url?: string;
  /** With `url`: the server's process id, so that its CPU time is told from other work on the machine. */
  serverPid?: number;
  image?: string;
  seconds: number;
  connections: number;
  concurrency: number;
  threads?: number;
  maxQueue: number;
  batch: number | 'auto';
  json: boolean;
}

/** The server a run measures: its predict URL, what to call it, and how to stop it (a no-op for one running elsewhere). */
interface Target {
  url: string;
  label: string;
  close(): Promise<void>;
}

async function openTarget(o: RunSettings): Promise<Target> {
  if (o.url) return { url: o.url, label: `server at ${o.url}`, close: async () => undefined };
  const spec = o.spec!;
  const app = await buildServer({ models: [spec], threads: o.threads, concurrency: o.concurrency, maxQueue: o.maxQueue, inferenceBatch: o.batch });
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `${base}/v1/models/${spec.name}/predict`, label: `${spec.name} (${spec.file}), --batch ${o.batch}`, close: () => app.close() };
  } catch (err) {
    await app.close();
    throw err;
  }
}

/** One server, warmed up, under autocannon for `seconds`; prints its lines (unless JSON) and returns its summary. */
async function measure(o: RunSettings): Promise<Record<string, unknown> & { requests_per_second: number; latency_ms: { p50: number; p99: number } }> {
  const { seconds, connections } = o;
  const target = await openTarget(o);
  try {
    const url = target.url;
    const modelUrl = url.replace(/\/predict(\?.*)?$/, '');
    const model = (await (await fetch(modelUrl)).json()) as { config: { width: number; height: number } };
    const image = o.image ? readFileSync(o.image) : await noisePng(model.config.width, model.config.height);
    const headers = { 'content-type': 'application/octet-stream' };

    // One request first: it must succeed, and it warms the kernels up.
    const warm = await fetch(url, { method: 'POST', headers, body: new Uint8Array(image) });
    if (warm.status !== 200) throw new Error(`the warm-up request failed: HTTP ${warm.status} ${await warm.text()}`);
    await warm.arrayBuffer().catch(() => undefined);

    const samples: number[] = [];
    const pids: Array<number | 'self'> = o.serverPid ? ['self', o.serverPid] : ['self'];
    const cpu0 = cpuSeconds(pids);
    const rss = { start: rssMb(), middle: 0, end: 0 };
    const t0 = performance.now();
    const sampler = setInterval(() => {
      samples.push(rssMb());
      if (!rss.middle && performance.now() - t0 >= (seconds * 1000) / 2) rss.middle = rssMb();
    }, 250);
    let result: AutocannonResult;
    try {
      result = await autocannon({ url, method: 'POST', headers, body: image, connections, duration: seconds, timeout: Math.max(30, seconds) });
    } finally {
      clearInterval(sampler);
    }
    const cpu1 = cpuSeconds(pids);
    rss.end = rssMb();
    rss.middle ||= rss.end;
    const peak = Math.max(rss.start, rss.end, ...samples);

    const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
    const unexpected = Object.entries(statuses).filter(([code]) => !code.startsWith('2') && code !== '503');
    // Start to middle includes warm-up (JIT, pools, autocannon's own buffers in this process);
    // a leak shows as growth from the middle to the end.
    const growth = (rss.end - rss.middle) / rss.middle;
    const summary = {
      bench: 'serve',
      model: o.spec?.file ?? null,
      url: o.url ?? null,
      image_bytes: image.length,
      connections,
      batch: o.url ? null : o.batch,
      seconds,
      // completed 2xx responses / measured duration; autocannon's requests.average is total / ticks (see _autocannon.ts)
      requests_per_second: completedPerSecond(result),
      requests_2xx: result['2xx'],
      requests_total: result.requests.total,
      duration_s: result.duration,
      autocannon_requests_average: result.requests.average,
      autocannon_samples: result.samples,
      latency_ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
      statuses,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      rss_mb: {
        start: Math.round(rss.start),
        middle: Math.round(rss.middle),
        end: Math.round(rss.end),
        peak: Math.round(peak),
        vm_hwm: Math.round(peakRssMb()),
      },
      rss_growth_second_half: Math.round(growth * 1000) / 1000,
      // the machine's 1-minute load average at the end: other work on a shared machine shows here
      load_average_1m: Math.round(loadavg()[0]! * 100) / 100,
      // CPU seconds of the run: the bench (and the server, in-process or by --server-pid), and the
      // machine's other work (unknown for a server at --url without --server-pid: counted as other)
      cpu_s:
        cpu0 && cpu1
          ? { ours: Math.round((cpu1.ours - cpu0.ours) * 10) / 10, other: Math.round((cpu1.busy - cpu0.busy - (cpu1.ours - cpu0.ours)) * 10) / 10 }
          : null,
    };
    if (!o.json) {
      const fmt = (n: number): string => n.toFixed(1);
      console.log(
        `serve: ${target.label}, ${model.config.width}x${model.config.height}, image ${image.length} bytes, ${connections} connections, ${seconds} s`,
      );
      console.log(
        `  requests/s  ${summary.requests_per_second.toFixed(2)} (${summary.requests_2xx} 2xx of ${summary.requests_total} in ${summary.duration_s} s; autocannon's average ${fmt(summary.autocannon_requests_average)} over ${summary.autocannon_samples} ticks)`,
      );
      console.log(`  latency     p50 ${fmt(result.latency.p50)} ms, p99 ${fmt(result.latency.p99)} ms, max ${fmt(result.latency.max)} ms`);
      console.log(
        `  statuses    ${
          Object.entries(statuses)
            .map(([c, n]) => `${c}: ${n}`)
            .join(', ') || 'none'
        }; non-2xx ${result.non2xx} (503 = deliberate back-pressure)`,
      );
      console.log(`  errors      ${result.errors} (timeouts ${result.timeouts})`);
      const cpuLine = summary.cpu_s ? `; CPU s: bench${o.url && !o.serverPid ? '' : ' + server'} ${summary.cpu_s.ours}, other ${summary.cpu_s.other}` : '';
      console.log(`  machine     load average ${summary.load_average_1m} (1 min, at the end)${cpuLine}`);
      console.log(
        `  RSS MB      start ${summary.rss_mb.start}, middle ${summary.rss_mb.middle}, end ${summary.rss_mb.end}, peak ${summary.rss_mb.peak} (VmHWM ${summary.rss_mb.vm_hwm}); second half ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%`,
      );
    }
    if (unexpected.length > 0 || result.errors > 0) {
      console.error(`serve bench: unexpected replies ${JSON.stringify(Object.fromEntries(unexpected))}, ${result.errors} connection errors`);
      process.exitCode = 1;
    }
    if (growth > 0.1) console.error(`serve bench: RSS grew ${(growth * 100).toFixed(0)}% in the second half of the run; memory is not flat`);
    return summary;
  } finally {
    await target.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      url: { type: 'string' },
      'server-pid': { type: 'string' },
      'baseline-url': { type: 'string' },
      'baseline-pid': { type: 'string' },
      image: { type: 'string' },
      seconds: { type: 'string', default: '60' },
      connections: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '1' },
      ...tableArgs('serve', SERVE_OPTIONS),
      compare: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.model && !values.url) throw new UsageError('--model FILE (a model trained by `pyramidflow train`) or --url URL (a running server) is required');
  if (values.model && values.url) throw new UsageError('give --model FILE or --url URL, not both');
  if (values['baseline-url'] && !values.compare) throw new UsageError('--baseline-url goes with --compare');
  const given = tableValues('serve', SERVE_OPTIONS, values);
  const settings: RunSettings = {
    spec: values.model ? parseModelSpec(values.model) : undefined,
    url: values.url,
    serverPid: values['server-pid'] ? countOption('--server-pid', values['server-pid']) : undefined,
    image: values.image,
    seconds: positiveOption('--seconds', values.seconds),
    connections: countOption('--connections', values.connections),
    concurrency: countOption('--concurrency', values.concurrency),
    threads: given.threads as number | undefined,
    maxQueue: (given.maxQueue as number | undefined) ?? numberDefault('serve', 'maxQueue'),
    batch: (given.inferenceBatch as number | 'auto' | undefined) ?? 1,
    json: values.json,
  };
  if (!values.compare) {
    const summary = await measure(settings);
    if (values.json) console.log(JSON.stringify(summary));
    return;
  }
  // --batch 1 and --batch alternating, each round in the other order, so that a drift of the
  // machine's speed favours neither; ratios per round (batched / one at a time)
  const rounds = countOption('--rounds', values.rounds);
  const runs: Record<'one' | 'batched', Array<Awaited<ReturnType<typeof measure>>>> = { one: [], batched: [] };
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? (['one', 'batched'] as const) : (['batched', 'one'] as const)) {
      const baselinePid = values['baseline-pid'] ? countOption('--baseline-pid', values['baseline-pid']) : undefined;
      const one = values['baseline-url'] ? { url: values['baseline-url'], spec: undefined, serverPid: baselinePid } : { batch: 1 };
      runs[which].push(await measure(which === 'one' ? { ...settings, ...one } : settings));
    }
  }
  const med = (which: 'one' | 'batched', pick: (s: (typeof runs)['one'][number]) => number): number => median(runs[which].map(pick));
  const ratios = runs.batched.map((b, k) => b.requests_per_second / runs.one[k]!.requests_per_second);
  const comparison = {
    bench: 'serve-compare',
    connections: settings.connections,
    batch: settings.url ? null : settings.batch,
    url: settings.url ?? null,
    baseline_url: values['baseline-url'] ?? null,
    rounds,
    requests_per_second_median: { batch1: med('one', (s) => s.requests_per_second), batched: med('batched', (s) => s.requests_per_second) },
    p50_ms_median: { batch1: med('one', (s) => s.latency_ms.p50), batched: med('batched', (s) => s.latency_ms.p50) },
    p99_ms_median: { batch1: med('one', (s) => s.latency_ms.p99), batched: med('batched', (s) => s.latency_ms.p99) },
    requests_per_second_ratio_median: median(ratios),
    requests_per_second_ratios: ratios,
    runs,
  };
  if (values.json) {
    console.log(JSON.stringify(comparison));
    return;
  }
  const c = comparison;
  const sideA = values['baseline-url'] ? `the server at ${values['baseline-url']}` : '--batch 1';
  const sideB = settings.url ? `the server at ${settings.url}` : `--batch ${settings.batch}`;
  console.log(`\nserve, ${settings.connections} connections: ${sideA} against ${sideB}, ${rounds} rounds of ${settings.seconds} s each, medians`);
  console.log(
    `  requests/s   ${c.requests_per_second_median.batch1.toFixed(2)} -> ${c.requests_per_second_median.batched.toFixed(2)}   ratio ${c.requests_per_second_ratio_median.toFixed(3)}x (rounds: ${ratios.map((x) => x.toFixed(3)).join(' ')})`,
  );
  console.log(`  latency p50  ${c.p50_ms_median.batch1.toFixed(1)} -> ${c.p50_ms_median.batched.toFixed(1)} ms`);
  console.log(`  latency p99  ${c.p99_ms_median.batch1.toFixed(1)} -> ${c.p99_ms_median.batched.toFixed(1)} ms`);
}
