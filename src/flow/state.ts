/**
 * Named weights and buffers in and out of a model, with the official code's names
 * (`nf.moduleslst.{i}.affineParams.conv.0.weight`, `...conv1x1.w_p`, `inconv.weight`...).
 * Used by the conformance check (vectors from the official code) and by checkpoints.
 */
import { Tensor } from '../tensor/index.js';
import type { ModelConfig } from './types.js';
import { blockOrder } from './config.js';
import { AffineParams } from './affine.js';
import { InvConv1x1 } from './invconv.js';
import { couplingBlock, conditionChannels } from './coupling.js';
import { PyramidFlow } from './model.js';

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}
export type StateDict = Record<string, NamedArray>;

function take(dict: StateDict, name: string, shape: number[]): Float32Array {
  const t = dict[name];
  if (!t) throw new Error(`model state: missing ${name}`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) throw new Error(`model state: ${name} has ${t.data.length} values, expected shape [${shape.join(', ')}]`);
  return Float32Array.from(t.data);
}

/** Builds a model from parameters and buffers. */
export function modelFromState(config: ModelConfig, params: StateDict, buffers: StateDict): PyramidFlow {
  const C = config.channels,
    k = config.kernel;
  const inConv = Tensor.fromHost([C, 3], take(params, 'inconv.weight', [C, 3, 1, 1]));
  const blocks = blockOrder(config).map((spec, i) => {
    const p = `nf.moduleslst.${i}`;
    const inC = conditionChannels(spec, C);
    const conv0 = Tensor.param([2 * C, inC, k, k], take(params, `${p}.affineParams.conv.0.weight`, [2 * C, inC, k, k]));
    const conv2 = Tensor.param([2 * C, 2 * C, k, k], take(params, `${p}.affineParams.conv.2.weight`, [2 * C, 2 * C, k, k]));
    const affine = new AffineParams(conv0, conv2, config.volumeNorm);
    const rm = buffers[`${p}.affineParams.norm.running_mean`];
    if (rm) affine.runningMean = Tensor.fromHost(rm.shape, Float32Array.from(rm.data));
    const conv = new InvConv1x1(
      Tensor.param([C, C], take(params, `${p}.conv1x1.w_l`, [C, C])),
      Tensor.param([C], take(params, `${p}.conv1x1.w_s`, [C])),
      Tensor.param([C, C], take(params, `${p}.conv1x1.w_u`, [C, C])),
      Float64Array.from(take(buffers, `${p}.conv1x1.w_p`, [C, C])),
      Float64Array.from(take(buffers, `${p}.conv1x1.s_sign`, [C])),
    );
    return couplingBlock(spec, affine, conv);
  });
  return new PyramidFlow(config, inConv, blocks);
}

/** The parameters by their official names: host copies (the model may go on training). */
export function modelParams(model: PyramidFlow): StateDict {
  const out: StateDict = {};
  for (const [name, t] of model.namedParameters()) out[name] = { shape: [...t.shape], data: t.toHost() };
  const C = model.config.channels;
  out['inconv.weight'] = { shape: [C, 3, 1, 1], data: model.inConv.toHost() };
  return out;
}

/** The buffers (running means, the 1x1 convolutions' permutations and signs) by their official names: host copies. */
export function modelBuffers(model: PyramidFlow): StateDict {
  const out: StateDict = {};
  const C = model.config.channels;
  model.blocks.forEach((b, i) => {
    const p = `nf.moduleslst.${i}`;
    out[`${p}.affineParams.norm.running_mean`] = { shape: [...b.affine.runningMean.shape], data: b.affine.runningMean.toHost() };
    out[`${p}.conv1x1.w_p`] = { shape: [C, C], data: Float32Array.from(b.conv.perm) };
    out[`${p}.conv1x1.s_sign`] = { shape: [C], data: Float32Array.from(b.conv.sign) };
  });
  return out;
}

/** The official module name of block i (as in the vectors' meta.module_order). */
export function officialModuleName(model: PyramidFlow, i: number): string {
  const b = model.blocks[i];
  if (!b) throw new Error(`model state: no block ${i} (the model has ${model.blocks.length})`);
  return b.officialName;
}
