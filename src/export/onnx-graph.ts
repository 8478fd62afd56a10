/**
 * A small builder of ONNX graphs over the generated protobuf classes of onnx.proto (the
 * `onnx-proto` package, protobufjs): named values, nodes, initializers (raw little-endian data)
 * and the model around them. It knows nothing of PyramidFlow; the network's parts are built
 * with it in the other onnx-*.ts modules.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const UINT8 = 2;
export const INT64 = 7;

/** An attribute value, tagged with its type. */
export type Attr = { int: number } | { ints: readonly number[] } | { float: number } | { str: string };

/** A dimension: a fixed size, or a name for a size given at run time (the batch). */
export type Dim = number | string;

/** A value of the graph: its name and, where the builder tracks it, its shape [N, C, H, W]. */
export interface Value {
  name: string;
  /** Channels. */
  c: number;
  /** Height. */
  h: number;
  /** Width. */
  w: number;
}

export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  constructor(readonly opset: number) {}

  /** A fresh name starting with `hint`. */
  fresh(hint: string): string {
    let name = hint;
    for (let k = 1; this.used.has(name); k++) name = `${hint}_${k}`;
    this.used.add(name);
    return name;
  }

  input(name: string, elemType: number, dims: readonly Dim[]): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 initializer (weights, template, running means). */
  floats(hint: string, dims: readonly number[], data: Float32Array): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`onnx: initializer ${hint} has ${data.length} values for shape [${dims.join(', ')}]`);
    const name = this.fresh(hint);
    const raw = new Uint8Array(data.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
    this.initializers.push({ name, dims: [...dims], dataType: FLOAT, rawData: raw });
    return name;
  }

  /** A float32 initializer shared by every use of the same content under the same key. */
  sharedFloats(key: string, dims: readonly number[], data: () => Float32Array): string {
    const k = `f:${key}`;
    let name = this.constants.get(k);
    if (!name) {
      name = this.floats(key, dims, data());
      this.constants.set(k, name);
    }
    return name;
  }

  /** A float32 scalar constant (shared). */
  scalar(value: number): string {
    const v = Math.fround(value);
    return this.sharedFloats(`c_${String(v).replace(/[^0-9a-zA-Z]/g, '_')}`, [], () => Float32Array.of(v));
  }

  /** A 1-D int64 constant (shared): Slice bounds, axes. */
  int64s(values: readonly number[]): string {
    const k = `i:${values.join(',')}`;
    let name = this.constants.get(k);
    if (!name) {
      name = this.fresh(`i64_${values.join('_').replace(/-/g, 'm')}`);
      const raw = new Uint8Array(values.length * 8);
      const view = new DataView(raw.buffer);
      values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
      this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: raw });
      this.constants.set(k, name);
    }
    return name;
  }

  /** A node with one output; returns the output's name. Empty input names are optional inputs left out. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, hint = opType.toLowerCase()): string {
    const out = this.fresh(hint);
    this.nodes.push({
      name: `${opType}_${this.nodes.length}`,
      opType,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attrs).map(([name, a]) => attribute(name, a)),
    });
    return out;
  }

  /** Gives an existing value a graph-output name (an Identity node). */
  rename(value: string, name: string): void {
    this.used.add(name);
    this.nodes.push({ name: `Identity_${this.nodes.length}`, opType: 'Identity', input: [value], output: [name] });
  }

  /** How many nodes of each operator type the graph holds. */
  opCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const n of this.nodes) counts[n.opType!] = (counts[n.opType!] ?? 0) + 1;
    return counts;
  }

  get initializerCount(): number {
    return this.initializers.length;
  }

  /** The serialised ModelProto. */
  encode(meta: {
    irVersion: number;
    producerName: string;
    producerVersion: string;
    graphName: string;
    docString: string;
    props: Record<string, string>;
  }): Uint8Array {
    const model: OnnxTypes.IModelProto = {
      irVersion: meta.irVersion,
      opsetImport: [{ domain: '', version: this.opset }],
      producerName: meta.producerName,
      producerVersion: meta.producerVersion,
      docString: meta.docString,
      graph: {
        name: meta.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.entries(meta.props).map(([key, value]) => ({ key, value })),
    };
    const err = onnx.ModelProto.verify(model);
    if (err) throw new Error(`onnx: invalid model: ${err}`);
    return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
  }
}

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

const TYPES = onnx.AttributeProto.AttributeType;

function attribute(name: string, a: Attr): OnnxTypes.IAttributeProto {
  if ('int' in a) return { name, type: TYPES.INT, i: a.int };
  if ('ints' in a) return { name, type: TYPES.INTS, ints: [...a.ints] };
  if ('float' in a) return { name, type: TYPES.FLOAT, f: a.float };
  return { name, type: TYPES.STRING, s: new TextEncoder().encode(a.str) };
}

/** The ModelProto of ONNX bytes (for tests and tools that read an exported file back). */
export function decodeOnnx(bytes: Uint8Array): OnnxTypes.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
