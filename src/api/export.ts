/**
 * `export`: a finished model file to a file another runtime reads. ONNX (src/export/onnx.ts):
 * one graph from image to anomaly map and score; safetensors (src/export/safetensors.ts): the
 * weights and buffers under the official PyTorch code's names, for its `load_state_dict`. The output file follows the rule of every file
 * the program writes (src/util/output-file.ts): an existing file of the format is replaced only with
 * `force`, anything else never.
 */
import { PyramidFlowError } from '../util/errors.js';
import { checkOutputFile } from '../util/output-file.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { Detector } from '../detect/detector.js';
import { DEFAULT_OPSET, exportOnnx, INPUT_LAYOUTS, isOnnxHead, ONNX_OUTPUTS, type InputLayout, type OnnxOutputs } from '../export/onnx.js';
import { exportSafetensors, isSafetensorsHead, safetensorsMetadata, safetensorsTensors } from '../export/safetensors.js';
import { readModelFile } from './model-files.js';
import { optionError } from './options.js';
import { checkApiOptions } from './option-values.js';

export type { InputLayout, OnnxOutputs };

/** The formats `export` writes. */
export const EXPORT_FORMATS = ['onnx', 'safetensors'] as const;
/** A format `export` writes. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What `export` (and `pyramidflow export`) is given. */
export interface ExportOptions {
  /** The finished model file to export. */
  model: string;
  /** 'onnx' or 'safetensors'. */
  format: string;
  /** The file to write. */
  out: string;
  /** ONNX: the image input, uint8 RGB NHWC pixels (default; normalised in the graph) or normalised float32 NCHW. */
  input?: InputLayout;
  /** ONNX: 'map' (default: anomaly map and score) or 'latents' (also the latent pyramid). */
  outputs?: OnnxOutputs;
  /** ONNX: the opset (default 17). */
  opset?: number;
  /** Replace an existing file of the format at `out`. */
  force?: boolean;
}

/** What `export` wrote. */
export interface ExportSummary {
  /** The file written. */
  file: string;
  /** The format written. */
  format: ExportFormat;
  /** Its size in bytes. */
  bytes: number;
  /** ONNX: the input layout. */
  input?: InputLayout;
  /** ONNX: the graph's outputs, by name; safetensors: the tensors' names. */
  outputs: string[];
  /** ONNX: the operator set. */
  opset?: number;
  /** ONNX: nodes per operator type. */
  ops?: Record<string, number>;
  /** The metadata written with it. */
  metadata: Record<string, string>;
}

/** Writes the model at `opts.model` to `opts.out` in `opts.format`. */
export async function exportModel(opts: ExportOptions): Promise<ExportSummary> {
  const values = checkApiOptions('export', opts);
  const format = String(values.format).trim().toLowerCase();
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw optionError(`--format: unknown export format '${values.format}'; choose one of ${EXPORT_FORMATS.join(', ')}`);
  }
  const out = opts.out;
  if (format === 'safetensors') return writeSafetensors(opts.model, out, opts.force === true);
  // Before any work: the folder, a foreign file at `out` (never replaced), an ONNX file (only with force).
  checkOutputFile(out, { kind: 'ONNX model', recognise: isOnnxHead, force: opts.force === true });
  // No kernels run: the weights are read on the host, so the process's backend is left as it is.
  const saved = readModelFile(opts.model);
  const detector = Detector.fromSavedModel(saved, opts.model);
  const input = (values.input as InputLayout | undefined) ?? INPUT_LAYOUTS[0]!;
  const outputs = (values.outputs as OnnxOutputs | undefined) ?? ONNX_OUTPUTS[0]!;
  const opset = (values.opset as number | undefined) ?? DEFAULT_OPSET;
  const result = exportOnnx(detector, { input, outputs, opset });
  try {
    writeFileAtomic(out, result.bytes);
  } catch (err) {
    if (err instanceof PyramidFlowError) throw err;
    throw new PyramidFlowError(`${out}: cannot write the ONNX model (${(err as Error).message})`, 'E_OUTPUT');
  }
  const names = ['anomaly_map', 'score', ...(outputs === 'latents' ? Array.from({ length: detector.config.levels }, (_, k) => `latent_${k}`) : [])];
  return { file: out, format: 'onnx', bytes: result.bytes.length, input, outputs: names, opset, ops: result.ops, metadata: result.metadata };
}

/** The safetensors export: the same output rule, then the official state dict and the configuration as metadata. */
function writeSafetensors(model: string, out: string, force: boolean): ExportSummary {
  checkOutputFile(out, { kind: 'safetensors file', recognise: isSafetensorsHead, force });
  const saved = readModelFile(model);
  const bytes = exportSafetensors(saved);
  writeFileAtomic(out, bytes);
  return {
    file: out,
    format: 'safetensors',
    bytes: bytes.length,
    outputs: Object.keys(safetensorsTensors(saved)).sort(),
    metadata: safetensorsMetadata(saved),
  };
}
