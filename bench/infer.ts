/**
 * `npm run bench -- infer [model options] [--threads N] [--images 16] [--batch n|auto]
 * [--rounds 3] [--json]`: inference through the path of `pyramidflow predict` (predictFiles:
 * PNG files read and decoded, resized, normalised, the flow in evaluation mode, maps composed,
 * resized back, regions found), timed from reading the first file to the last result, with the
 * model loaded and the kernels started beforehand (start-up is the command's, not the images').
 * It prints the latency of one image alone, and a folder of `--images` files judged one at a
 * time (`--batch 1`, today's path) and in batches of `--batch`, the two alternating round by
 * round so that their ratio is measured on the same machine, plus where one image's time goes.
 * `--command`: the same folder also through the whole `pyramidflow predict` command (a new
 * process each time, start-up included: the built CLI of dist/, else the sources through tsx,
 * whose compilation then counts too), `--batch 1` and `--batch` alternating.
 */
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/flow/config.js';
import { PyramidFlow } from '../src/flow/model.js';
import { saveModelFile } from '../src/api/model-files.js';
import { finishModel } from '../src/detect/finish.js';
import { inferenceBatchSize, readDetector } from '../src/api/image-detector.js';
import { predictFiles } from '../src/api/predict.js';
import { ensureBackend } from '../src/api/runtime.js';
import { setProfiling, profileTotals } from '../src/tensor/index.js';
import { encodePng, type DecodedImage } from '../src/data/image.js';
import { planarToInterleaved } from '../src/data/pixels.js';
import { Random } from '../src/util/random.js';
import { countOption, median, peakRssMb } from './_util.js';
import { benchRecord, MODEL_OPTIONS, modelOptionsFrom, printBreakdown, tableArgs, tableHelp, tableUsage, tableValues } from './_model-args.js';
import { describe, medianBreakdown } from './train.js';

/** The options of `pyramidflow train` / `predict` this benchmark takes (the option table's). */
const OPTIONS = [...MODEL_OPTIONS, 'threads'];
const PREDICT_OPTIONS = ['inferenceBatch'];

export const usage = `npm run bench -- infer ${tableUsage('train', OPTIONS)} ${tableUsage('predict', PREDICT_OPTIONS)} [--images N] [--rounds N] [--command [--source]] [--json]`;
export const help = [
  tableHelp('train', OPTIONS),
  tableHelp('predict', PREDICT_OPTIONS, [
    ['--images <n>', 'PNG files in the folder judged each round (default 16)'],
    ['--rounds <n>', 'rounds, each timing one image alone, the folder one at a time and in batches (default 3)'],
    ['--command', 'also time the whole `pyramidflow predict` command on the folder (start-up included)'],
    ['--source', 'with --command: run the sources through tsx even if dist/ is built'],
    ['--json', 'print one JSON object'],
  ]),
].join('\n');

/** The predict command: the built CLI if there is one (and `source` is not asked for), else the sources through tsx. */
function predictCommand(source: boolean): { argv: string[]; built: boolean } {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const built = !source && existsSync(join(root, 'dist', 'src', 'cli', 'main.js'));
  return { argv: built ? [join(root, 'bin', 'pyramidflow.js')] : ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts')], built };
}

/** Seconds the whole command takes (a new process; it must judge every image). */
function timeCommand(argv: string[]): number {
  const t0 = performance.now();
  const done = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (done.status !== 0) throw new Error(`${argv.join(' ')} failed (exit ${done.status}): ${done.stderr.slice(-500)}`);
  return seconds;
}

/** Seconds from the call to the last result, and to the first. */
async function timeFolder(run: (onResult: () => void) => Promise<unknown>): Promise<{ seconds: number; first: number }> {
  const t0 = performance.now();
  let first = 0;
  await run(() => {
    first ||= performance.now() - t0;
  });
  return { seconds: (performance.now() - t0) / 1000, first: first / 1000 };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...tableArgs('train', OPTIONS),
      ...tableArgs('predict', PREDICT_OPTIONS),
      images: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '3' },
      command: { type: 'boolean', default: false },
      source: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const config = resolveConfig(modelOptionsFrom(values));
  const backendName = await ensureBackend(tableValues('train', OPTIONS, values).threads as number | undefined);
  const given = tableValues('predict', PREDICT_OPTIONS, values).inferenceBatch as number | 'auto' | undefined;
  const batch = inferenceBatchSize(given ?? 'auto', config);
  const count = countOption('--images', values.images);
  const rounds = countOption('--rounds', values.rounds);
  const rng = new Random(2);
  const image = (): DecodedImage => ({
    width: config.width,
    height: config.height,
    rgb: Uint8Array.from({ length: 3 * config.width * config.height }, () => rng.int(256)),
  });
  // A model file like a trained one (untrained weights): finished as `train` finishes one, the
  // template and thresholds from a few images; a folder of distinct noise images at its size.
  const dir = mkdtempSync(join(tmpdir(), 'pf-bench-'));
  try {
    const file = join(dir, 'bench.pf');
    saveModelFile(file, finishModel({ model: PyramidFlow.create(config, 0), record: benchRecord(), trainImages: [image(), image()], holdoutImages: [] }).saved);
    const files: string[] = [];
    for (let i = 0; i < count; i++) {
      const img = image();
      files.push(join(dir, `${String(i).padStart(4, '0')}.png`));
      writeFileSync(files[i]!, await encodePng({ width: img.width, height: img.height, channels: 3, data: planarToInterleaved(img) }));
    }
    const detector = readDetector(file);
    const folder = (b: number) => (onResult: () => void) => predictFiles(detector, files, { inferenceBatch: b }, undefined, onResult);
    const one = (onResult: () => void) => predictFiles(detector, files.slice(0, 1), { inferenceBatch: 1 }, undefined, onResult);
    await predictFiles(detector, files.slice(0, Math.min(count, batch)), { inferenceBatch: batch }); // warm-up: JIT, filter spectra, memory
    await one(() => {});

    const single: number[] = [];
    const byOne: number[] = [];
    const batched: number[] = [];
    const firstResult: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      single.push((await timeFolder(one)).seconds);
      // alternate which goes first, so that a drift of the machine's speed favours neither
      const order = r % 2 === 0 ? [1, batch] : [batch, 1];
      const rates: Record<number, number> = {};
      for (const b of order) {
        const t = await timeFolder(folder(b));
        rates[b] = count / t.seconds;
        if (b === batch) firstResult.push(t.first);
      }
      byOne.push(rates[1]!);
      batched.push(rates[batch]!);
      ratios.push(rates[batch]! / rates[1]!);
    }
    const commandRates: Record<string, number[]> = { one: [], batched: [] };
    const cli = predictCommand(values.source);
    if (values.command) {
      const threads = tableValues('train', OPTIONS, values).threads;
      const common = ['predict', '--model', file, dir, ...(threads !== undefined ? ['--threads', String(threads)] : [])];
      for (let r = 0; r < rounds; r++) {
        for (const b of r % 2 === 0 ? [1, batch] : [batch, 1]) {
          commandRates[b === 1 ? 'one' : 'batched']!.push(count / timeCommand([...cli.argv, ...common, '--batch', String(b)]));
        }
      }
    }
    // The breakdown of profiled runs of one image, each against its own time (the rounds above
    // are other runs: their median differs from a profiled run's time by the machine's noise).
    const profiled: Record<string, number>[] = [];
    const profiledMs: number[] = [];
    setProfiling(true);
    for (let r = 0; r < Math.max(3, rounds); r++) {
      profileTotals(true);
      profiledMs.push((await timeFolder(one)).seconds * 1000);
      profiled.push(profileTotals(true));
    }
    const breakdown = medianBreakdown(profiled, median(profiledMs));
    setProfiling(false);

    const result = {
      bench: 'infer',
      backend: backendName,
      config,
      images: count,
      rounds,
      batch,
      single_image_seconds_median: median(single),
      single_image_seconds: single,
      batch1_images_per_second_median: median(byOne),
      batch1_images_per_second: byOne,
      batched_images_per_second_median: median(batched),
      batched_images_per_second: batched,
      batched_first_result_seconds_median: median(firstResult),
      speedup_median: median(ratios),
      speedups: ratios,
      ...(values.command
        ? {
            command: cli.built ? 'bin/pyramidflow.js (dist)' : 'src/cli/main.ts through tsx (not built: compilation counts)',
            command_batch1_images_per_second_median: median(commandRates.one!),
            command_batched_images_per_second_median: median(commandRates.batched!),
            command_batch1_images_per_second: commandRates.one,
            command_batched_images_per_second: commandRates.batched,
          }
        : {}),
      peak_rss_mb: Math.round(peakRssMb()),
      breakdown_ms: breakdown,
    };
    if (values.json) console.log(JSON.stringify(result));
    else {
      const list = (v: number[], d: number): string => v.map((x) => x.toFixed(d)).join(' ');
      console.log(`inference, ${describe(config)}, ${backendName}; from reading a PNG file to its result; ${rounds} rounds`);
      console.log(`  one image alone (--batch 1)     median ${result.single_image_seconds_median.toFixed(3)} s   (${list(single, 3)})`);
      console.log(`  ${count} images, --batch 1       median ${result.batch1_images_per_second_median.toFixed(2)} images/s   (${list(byOne, 2)})`);
      console.log(
        `  ${count} images, --batch ${batch}       median ${result.batched_images_per_second_median.toFixed(2)} images/s   (${list(batched, 2)}); first result after ${result.batched_first_result_seconds_median.toFixed(2)} s`,
      );
      console.log(
        `  batched / one at a time         median ${result.speedup_median.toFixed(3)}x   (rounds: ${list(ratios, 3)}); peak RSS ${result.peak_rss_mb} MB`,
      );
      if (values.command) {
        console.log(`  whole command (${result.command}), start-up included:`);
        console.log(`    ${count} images, --batch 1       median ${median(commandRates.one!).toFixed(2)} images/s   (${list(commandRates.one!, 2)})`);
        console.log(
          `    ${count} images, --batch ${batch}       median ${median(commandRates.batched!).toFixed(2)} images/s   (${list(commandRates.batched!, 2)})`,
        );
      }
      console.log('  one image, by operation:');
      printBreakdown(result.breakdown_ms);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
