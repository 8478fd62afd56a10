/**
 * `npm run bench -- onnx [model options] [--images N] [--threads N] [--json]`: seconds per image
 * of the exported ONNX graph in ONNX Runtime (onnxruntime-node, CPU) next to our own predict path
 * (Detector.modelMaps: normalise, flow, anomaly map) on the same images in one run, and the
 * largest difference of their maps. Both get the same thread count (default 2). The weights are
 * random (the last convolutions too, so that every coupling does something), finished as
 * `train` finishes a model.
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { resolveConfig } from '../src/flow/config.js';
import { PyramidFlow } from '../src/flow/model.js';
import { finishModel } from '../src/detect/finish.js';
import { Detector } from '../src/detect/detector.js';
import { exportOnnx } from '../src/export/onnx.js';
import { ensureBackend } from '../src/api/runtime.js';
import type { DecodedImage } from '../src/data/pixels.js';
import { Random } from '../src/util/random.js';
import { countOption, median, peakRssMb } from './_util.js';
import { benchRecord, MODEL_OPTIONS, modelOptionsFrom, tableArgs, tableHelp, tableUsage } from './_model-args.js';
import { describe } from './train.js';

export const usage = `npm run bench -- onnx ${tableUsage('train', MODEL_OPTIONS)} [--threads n] [--images N] [--json]`;
export const help = tableHelp('train', MODEL_OPTIONS, [
  ['--threads <n>', 'threads of both runtimes: ours and ONNX Runtime intra-op (default 2)'],
  ['--images <n>', 'timed images, one at a time, after a warm-up (default 4)'],
  ['--json', 'print one JSON object'],
]);

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...tableArgs('train', MODEL_OPTIONS),
      threads: { type: 'string', default: '2' },
      images: { type: 'string', default: '4' },
      json: { type: 'boolean', default: false },
    },
  });
  const config = resolveConfig(modelOptionsFrom(values));
  const threads = countOption('--threads', values.threads);
  const count = countOption('--images', values.images);
  const backendName = await ensureBackend(threads);
  const rng = new Random(2);
  const image = (): DecodedImage => ({
    width: config.width,
    height: config.height,
    rgb: Uint8Array.from({ length: 3 * config.width * config.height }, () => 64 + rng.int(128)),
  });
  const model = PyramidFlow.create(config, 0);
  for (const block of model.blocks) {
    const w = block.affine.conv2;
    const b = 0.5 / Math.sqrt(w.dim(1) * w.dim(2) * w.dim(3));
    w.updateHost((v) => {
      for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-b, b);
    });
  }
  model.training = false;
  const record = benchRecord();
  const { saved } = finishModel({ model, record, trainImages: [image(), image()], holdoutImages: [] });
  const detector = Detector.fromSavedModel(saved, 'bench');
  const t0 = performance.now();
  const exported = exportOnnx(detector);
  const exportSeconds = (performance.now() - t0) / 1000;
  const session = await ort.InferenceSession.create(exported.bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const { height: H, width: W } = config;
  const nhwc = (img: DecodedImage): ort.Tensor => {
    const n = H * W;
    const data = new Uint8Array(3 * n);
    for (let c = 0; c < 3; c++) for (let p = 0; p < n; p++) data[p * 3 + c] = img.rgb[c * n + p]!;
    return new ort.Tensor('uint8', data, [1, H, W, 3]);
  };
  const images = Array.from({ length: count + 1 }, image);
  const oursTimes: number[] = [],
    ortTimes: number[] = [];
  let mapDiff = 0,
    scoreDiff = 0;
  for (const [i, img] of images.entries()) {
    const a = performance.now();
    const ours = detector.modelMaps([img])[0]!;
    const b = performance.now();
    const out = await session.run({ image: nhwc(img) });
    const c = performance.now();
    if (i > 0) {
      oursTimes.push((b - a) / 1000);
      ortTimes.push((c - b) / 1000);
    }
    const theirs = out.anomaly_map!.data as Float32Array;
    let max = 0,
      err = 0,
      score = -Infinity;
    for (let p = 0; p < ours.length; p++) {
      max = Math.max(max, Math.abs(ours[p]!));
      err = Math.max(err, Math.abs(ours[p]! - theirs[p]!));
      score = Math.max(score, ours[p]!);
    }
    mapDiff = Math.max(mapDiff, err / max);
    scoreDiff = Math.max(scoreDiff, Math.abs(score - (out.score!.data as Float32Array)[0]!) / Math.abs(score));
  }
  const result = {
    bench: 'onnx',
    backend: backendName,
    threads,
    config,
    onnx_bytes: exported.bytes.length,
    onnx_nodes: exported.nodes,
    onnx_ops: exported.ops,
    export_seconds: exportSeconds,
    images: count,
    ours_seconds_median: median(oursTimes),
    ort_node_seconds_median: median(ortTimes),
    ours_over_ort: median(oursTimes) / median(ortTimes),
    max_map_difference_relative: mapDiff,
    max_score_difference_relative: scoreDiff,
    peak_rss_mb: Math.round(peakRssMb()),
  };
  if (values.json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`ONNX export vs our predict path, ${describe(config)}, one image at a time, ${threads} threads each`);
  console.log(`  graph       ${(result.onnx_bytes / 1048576).toFixed(2)} MB, ${result.onnx_nodes} nodes, exported in ${exportSeconds.toFixed(2)} s`);
  console.log(`  ours        ${result.ours_seconds_median.toFixed(3)} s per image (Detector.modelMaps, ${backendName})`);
  console.log(`  ORT node    ${result.ort_node_seconds_median.toFixed(3)} s per image (ours / ORT ${result.ours_over_ort.toFixed(2)}x)`);
  console.log(`  difference  maps ${mapDiff.toExponential(2)} of their maximum, scores ${scoreDiff.toExponential(2)}; peak RSS ${result.peak_rss_mb} MB`);
}
