import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { buildServer, parseModelSpec } from '../src/server/index.js';
import { countOption, median, peakRssMb, positiveOption, UsageError } from './_util.js';
import { tableArgs, tableHelp, tableUsage, tableValues } from './_model-args.js';
import { numberDefault } from '../src/api/options.js';
import { type AutocannonResult, autocannon } from './_autocannon.js';

/** The options of `pyramidflow serve` this benchmark takes (the option table's). */
const SERVE_OPTIONS = ['threads', 'maxQueue', 'inferenceBatch'];

export const usage = `npm run bench -- serve --model FILE [--seconds 60] [--connections 4] [--image FILE] [--concurrency 1] ${tableUsage('serve', SERVE_OPTIONS)} [--compare] [--rounds 3] [--json]`;
export const help = tableHelp('serve', SERVE_OPTIONS, [
  ['--compare', 'alternate runs of --batch 1 and --batch, and print their medians and ratios'],
  ['--rounds <n>', 'with --compare: runs of each (default 3)'],
]);

const rssMb = (): number => process.memoryUsage().rss / 1048576;

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
  spec: ReturnType<typeof parseModelSpec>;
  image?: string;
  seconds: number;
  connections: number;
  concurrency: number;
  threads?: number;
  maxQueue: number;
  batch: number | 'auto';
  json: boolean;
}

/** One server, warmed up, under autocannon for `seconds`; prints its lines (unless JSON) and returns its summary. */
async function measure(o: RunSettings): Promise<Record<string, unknown> & { requests_per_second: number; latency_ms: { p50: number; p99: number } }> {
  const { spec, seconds, connections } = o;
  const app = await buildServer({ models: [spec], threads: o.threads, concurrency: o.concurrency, maxQueue: o.maxQueue, inferenceBatch: o.batch });
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const model = (await (await fetch(`${base}/v1/models/${spec.name}`)).json()) as { config: { width: number; height: number } };
    const image = o.image ? readFileSync(o.image) : await noisePng(model.config.width, model.config.height);
    const url = `${base}/v1/models/${spec.name}/predict`;
    const headers = { 'content-type': 'application/octet-stream' };

    // One request first: it must succeed, and it warms the kernels up.
    const warm = await fetch(url, { method: 'POST', headers, body: new Uint8Array(image) });
    if (warm.status !== 200) throw new Error(`the warm-up request failed: HTTP ${warm.status} ${await warm.text()}`);
    await warm.arrayBuffer().catch(() => undefined);

    const samples: number[] = [];
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
      model: spec.file,
      image_bytes: image.length,
      connections,
      batch: o.batch,
      seconds,
      requests_per_second: result.requests.average,
      requests_total: result.requests.total,
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
    };
    if (!o.json) {
      const fmt = (n: number): string => n.toFixed(1);
      console.log(
        `serve: ${spec.name} (${spec.file}), ${model.config.width}x${model.config.height}, image ${image.length} bytes, ${connections} connections, --batch ${o.batch}, ${seconds} s`,
      );
      console.log(`  requests/s  ${fmt(summary.requests_per_second)} (${summary.requests_total} in all)`);
      console.log(`  latency     p50 ${fmt(result.latency.p50)} ms, p99 ${fmt(result.latency.p99)} ms, max ${fmt(result.latency.max)} ms`);
      console.log(
        `  statuses    ${
          Object.entries(statuses)
            .map(([c, n]) => `${c}: ${n}`)
            .join(', ') || 'none'
        }; non-2xx ${result.non2xx} (503 = deliberate back-pressure)`,
      );
      console.log(`  errors      ${result.errors} (timeouts ${result.timeouts})`);
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
    await app.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
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
  if (!values.model) throw new UsageError('--model FILE is required (a model trained by `pyramidflow train`)');
  const given = tableValues('serve', SERVE_OPTIONS, values);
  const settings: RunSettings = {
    spec: parseModelSpec(values.model),
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
      runs[which].push(await measure({ ...settings, batch: which === 'one' ? 1 : settings.batch }));
    }
  }
  const med = (which: 'one' | 'batched', pick: (s: (typeof runs)['one'][number]) => number): number => median(runs[which].map(pick));
  const ratios = runs.batched.map((b, k) => b.requests_per_second / runs.one[k]!.requests_per_second);
  const comparison = {
    bench: 'serve-compare',
    connections: settings.connections,
    batch: settings.batch,
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
  console.log(
    `\nserve, ${settings.connections} connections: --batch 1 against --batch ${settings.batch}, ${rounds} rounds of ${settings.seconds} s each, medians`,
  );
  console.log(
    `  requests/s   ${c.requests_per_second_median.batch1.toFixed(2)} -> ${c.requests_per_second_median.batched.toFixed(2)}   ratio ${c.requests_per_second_ratio_median.toFixed(3)}x (rounds: ${ratios.map((x) => x.toFixed(3)).join(' ')})`,
  );
  console.log(`  latency p50  ${c.p50_ms_median.batch1.toFixed(1)} -> ${c.p50_ms_median.batched.toFixed(1)} ms`);
  console.log(`  latency p99  ${c.p99_ms_median.batch1.toFixed(1)} -> ${c.p99_ms_median.batched.toFixed(1)} ms`);
}
