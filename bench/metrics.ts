/**
 * `npm run bench -- metrics [--sizes 256,1024] [--images 100] [--runs-small 3] [--runs-large 1]`
 * Times `evaluate` (all metrics, pixel and image level) on synthetic test sets: half the images
 * carry a few elliptic defects with raised scores, maps are smooth noise with distinct float32
 * values (the hardest case for the sort). Prints the median time per size and the peak RSS.
 */
import { parseArgs } from 'node:util';
import { evaluate } from '../src/metrics/index.js';
import { Random } from '../src/util/random.js';
import { countOption, median, peakRssMb, timeIt } from './_util.js';

export const usage = 'npm run bench -- metrics [--sizes 256,1024] [--images 100] [--runs-small 3] [--runs-large 1]';

interface SyntheticSet {
  maps: Float32Array[];
  masks: (Uint8Array | null)[];
  widths: number[];
  heights: number[];
}

function syntheticSet(images: number, size: number, seed: number): SyntheticSet {
  const random = new Random(seed);
  const set: SyntheticSet = { maps: [], masks: [], widths: [], heights: [] };
  for (let image = 0; image < images; image++) {
    const map = new Float32Array(size * size);
    // Row-wise smoothed noise: neighbouring pixels correlate, as real anomaly maps do.
    let previous = 0;
    for (let p = 0; p < map.length; p++) {
      previous = 0.8 * previous + 0.2 * random.next();
      map[p] = previous;
    }
    let mask: Uint8Array | null = null;
    if (image % 2 === 1) {
      mask = new Uint8Array(size * size);
      const defects = 1 + random.int(3);
      for (let d = 0; d < defects; d++) {
        const cx = random.next() * size;
        const cy = random.next() * size;
        const rx = (0.02 + 0.08 * random.next()) * size;
        const ry = (0.02 + 0.08 * random.next()) * size;
        const lift = 0.1 + 0.4 * random.next();
        for (let y = Math.max(0, Math.floor(cy - ry)); y < Math.min(size, Math.ceil(cy + ry)); y++) {
          for (let x = Math.max(0, Math.floor(cx - rx)); x < Math.min(size, Math.ceil(cx + rx)); x++) {
            if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 > 1) continue;
            const p = y * size + x;
            mask[p] = 1;
            map[p] = map[p]! + lift;
          }
        }
      }
    }
    set.maps.push(map);
    set.masks.push(mask);
    set.widths.push(size);
    set.heights.push(size);
  }
  return set;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '256,1024' },
      images: { type: 'string', default: '100' },
      'runs-small': { type: 'string', default: '3' },
      'runs-large': { type: 'string', default: '1' },
    },
  });
  const sizes = values.sizes.split(',').map((v) => countOption('--sizes', v));
  const images = countOption('--images', values.images);
  const runsSmall = countOption('--runs-small', values['runs-small']);
  const runsLarge = countOption('--runs-large', values['runs-large']);
  for (const size of sizes) {
    const set = syntheticSet(images, size, 7);
    const runs = size <= 256 ? runsSmall : runsLarge;
    const times: number[] = [];
    const cpuTimes: number[] = [];
    let result: ReturnType<typeof evaluate> | undefined;
    for (let r = 0; r < runs; r++) {
      // CPU time next to wall time: on a shared machine the wall clock also counts waiting.
      const cpuBefore = process.cpuUsage();
      times.push(timeIt(() => (result = evaluate(set))));
      const cpu = process.cpuUsage(cpuBefore);
      cpuTimes.push((cpu.user + cpu.system) / 1e6);
    }
    const megapixels = (images * size * size) / 1e6;
    console.log(
      `metrics evaluate ${images} maps ${size}x${size} (${megapixels.toFixed(1)} Mpx): ` +
        `median ${median(times).toFixed(3)} s over ${runs} run(s) [${times.map((t) => t.toFixed(3)).join(', ')}], ` +
        `${((median(times) * 1e9) / (megapixels * 1e6)).toFixed(1)} ns/px; CPU median ${median(cpuTimes).toFixed(3)} s; ` +
        `peak RSS so far ${peakRssMb().toFixed(0)} MB`,
    );
    if (result) {
      const { curves, ...metrics } = result;
      void curves;
      console.log(`  ${JSON.stringify(metrics)}`);
    }
  }
}
