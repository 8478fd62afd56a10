/**
 * A finished model as one ONNX graph from image to answer: the image in (uint8 RGB NHWC,
 * normalised in the graph, or normalised float32 NCHW), the anomaly map at the model size
 * [N, 1, H, W] (what Detector.modelMaps computes, before any resize) and the image score [N] (its
 * maximum) out, optionally the latent pyramid. The batch is dynamic, the size fixed; the weights,
 * running means and latent template are initializers. metadata_props say what a consumer needs
 * to reach the same verdicts: the configuration, the input, the thresholds and their rates.
 */
import type { Detector } from '../detect/detector.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/pixels.js';
import { PROGRAM } from '../util/version.js';
import { FLOAT, GraphBuilder, type Value } from './onnx-graph.js';
import { flowBlocks, imageInput, inputPyramid } from './onnx-flow.js';
import { composePyramid } from './onnx-pyramid.js';

import { DEFAULT_OPSET, INPUT_LAYOUTS, IR_VERSION, ONNX_OUTPUTS, OPSET_RANGE, type InputLayout, type OnnxOutputs } from './onnx-options.js';

export { DEFAULT_OPSET, INPUT_LAYOUTS, IR_VERSION, ONNX_OUTPUTS, OPSET_RANGE, type InputLayout, type OnnxOutputs };

export interface OnnxExportOptions {
  /** Default 'uint8-nhwc'. */
  input?: InputLayout;
  /** Default 'map'. */
  outputs?: OnnxOutputs;
  /** Default 17. */
  opset?: number;
}

export interface OnnxExport {
  bytes: Uint8Array;
  /** Nodes per operator type. */
  ops: Record<string, number>;
  nodes: number;
  initializers: number;
  /** The metadata_props written. */
  metadata: Record<string, string>;
}

/** The graph of a detector's model (a finished one: it has its template). */
export function exportOnnx(detector: Detector, opts: OnnxExportOptions = {}): OnnxExport {
  const layout = opts.input ?? 'uint8-nhwc';
  const outputs = opts.outputs ?? 'map';
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!INPUT_LAYOUTS.includes(layout)) throw new Error(`onnx export: unknown input layout ${layout}`);
  if (!ONNX_OUTPUTS.includes(outputs)) throw new Error(`onnx export: unknown outputs ${outputs}`);
  if (!Number.isInteger(opset) || opset < OPSET_RANGE.min || opset > OPSET_RANGE.max) {
    throw new Error(`onnx export: opset must be ${OPSET_RANGE.min}..${OPSET_RANGE.max} (IR version ${IR_VERSION}), got ${opset}`);
  }
  const { model, template } = detector;
  const { height, width, channels } = detector.config;
  const g = new GraphBuilder(opset);
  const image = imageInput(g, layout, height, width);
  const latents = flowBlocks(g, model, inputPyramid(g, model, image));
  const map = anomalyMap(
    g,
    latents,
    template.map((t, k) => g.floats(`template_${k}`, [...t.shape], Float32Array.from(t.values()))),
  );
  g.rename(map.name, 'anomaly_map');
  g.output('anomaly_map', FLOAT, ['N', 1, height, width]);
  g.rename(reduce(g, 'ReduceMax', map.name, [1, 2, 3], false, 'score_max'), 'score');
  g.output('score', FLOAT, ['N']);
  if (outputs === 'latents') {
    latents.forEach((z, k) => {
      g.rename(z.name, `latent_${k}`);
      g.output(`latent_${k}`, FLOAT, ['N', channels, z.h, z.w]);
    });
  }
  const metadata = metadataOf(detector, layout, outputs);
  const bytes = g.encode({
    irVersion: IR_VERSION,
    producerName: PROGRAM.name,
    producerVersion: PROGRAM.version,
    graphName: 'pyramidflow',
    docString: `PyramidFlow anomaly detector ${detector.name}: image -> anomaly map at ${width}x${height} and image score`,
    props: metadata,
  });
  const ops = g.opCounts();
  return { bytes, ops, nodes: Object.values(ops).reduce((a, b) => a + b, 0), initializers: g.initializerCount, metadata };
}

/** ReduceMean / ReduceMax over `axes`: an attribute up to opset 17, an input from 18. */
function reduce(g: GraphBuilder, op: 'ReduceMean' | 'ReduceMax', x: string, axes: number[], keepdims: boolean, hint: string): string {
  const keep = { keepdims: { int: keepdims ? 1 : 0 } };
  if (g.opset >= 18) return g.op(op, [x, g.int64s(axes)], keep, hint);
  return g.op(op, [x], { ...keep, axes: { ints: axes } }, hint);
}

/** compose(|z_k - T_k|) averaged over channels, in the order of src/detect/anomaly-map.ts: the channel mean first. */
function anomalyMap(g: GraphBuilder, latents: readonly Value[], template: readonly string[]): Value {
  const perLevel = latents.map((z, k): Value => {
    const diff = g.op('Abs', [g.op('Sub', [z.name, template[k]!], {}, `latent_diff_${k}`)], {}, `latent_abs_${k}`);
    return { c: 1, h: z.h, w: z.w, name: reduce(g, 'ReduceMean', diff, [1], true, `map_level_${k}`) };
  });
  return composePyramid(g, perLevel);
}

/** The metadata_props: keys under `pyramidflow.`, values text (JSON where structured). */
function metadataOf(detector: Detector, layout: InputLayout, outputs: OnnxOutputs): Record<string, string> {
  const { height, width } = detector.config;
  const t = detector.saved.thresholds;
  const input =
    layout === 'uint8-nhwc'
      ? `image: uint8 RGB [N, ${height}, ${width}, 3] (NHWC), already resized to ${width}x${height} (bilinear, as Pillow); the graph normalises it`
      : `image: float32 [N, 3, ${height}, ${width}] (NCHW), RGB resized to ${width}x${height} (bilinear, as Pillow) and normalised as pyramidflow.normalization says`;
  const meta: Record<string, string> = {
    'pyramidflow.program': PROGRAM.name,
    'pyramidflow.version': PROGRAM.version,
    'pyramidflow.model': detector.name,
    'pyramidflow.created': detector.saved.createdAt,
    'pyramidflow.config': JSON.stringify(detector.config),
    'pyramidflow.input_layout': layout,
    'pyramidflow.input': input,
    'pyramidflow.normalization': JSON.stringify({ scale: 1 / 255, order: '((v / 255) - mean) / std, float32', mean: IMAGENET_MEAN, std: IMAGENET_STD }),
    'pyramidflow.outputs': JSON.stringify({
      anomaly_map: `float32 [N, 1, ${height}, ${width}]: the anomaly map at the model size`,
      score: 'float32 [N]: the image score, the maximum of the map',
      ...(outputs === 'latents' ? { latent_k: 'float32 [N, C, h_k, w_k]: the latent pyramid, level 0 finest' } : {}),
    }),
    'pyramidflow.verdict':
      'defect when score > thresholds.image; defect pixels: anomaly_map > thresholds.pixel (after resizing the map to the image, bilinear)',
    'pyramidflow.thresholds': JSON.stringify(t ?? null),
  };
  if (t) {
    meta['pyramidflow.threshold.image'] = String(t.image);
    meta['pyramidflow.threshold.image_fpr'] = String(t.imageFpr);
    meta['pyramidflow.threshold.pixel'] = String(t.pixel);
    meta['pyramidflow.threshold.pixel_fpr'] = String(t.pixelFpr);
  }
  return meta;
}

/** True when the first bytes look like an ONNX ModelProto (field 1, ir_version, then another ModelProto field). */
export function isOnnxHead(head: Uint8Array): boolean {
  if (head.length < 3 || head[0] !== 0x08) return false;
  let i = 1,
    ir = 0,
    shift = 0;
  while (i < head.length && i < 6) {
    const b = head[i++]!;
    ir |= (b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) break;
  }
  if (ir < 1 || ir > 64 || i >= head.length) return false;
  // producer_name .. graph (fields 2-7), opset_import (8), metadata_props (14)
  return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(head[i]!);
}
