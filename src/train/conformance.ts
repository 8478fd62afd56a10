/**
 * Conformance with the official implementation: loads a vector file (weights, buffers, input
 * and every intermediate the official code computed), replays the same computation and
 * reports the largest error of each quantity against the tolerances of SPEC.md.
 */
import { readFileSync } from 'node:fs';
import { Tensor, Tape, withTape, channelMix } from '../tensor/index.js';
import type { ModelConfig } from '../flow/types.js';
import type { ConformanceCheck, ConformanceReport } from './types.js';
import { PyramidFlowError } from '../util/errors.js';
import { blockOrder } from '../flow/config.js';
import { composePyramid, buildPyramid } from '../flow/pyramid.js';
import { pairDifference, pyramidLoss } from '../flow/loss.js';
import { modelFromState, officialModuleName, type StateDict } from '../flow/state.js';
import type { PyramidFlow } from '../flow/model.js';
import { Adam, clipGradNorm, OFFICIAL_ADAM } from './optim.js';
import { lossGradients } from './gradients.js';

interface JsonTensor {
  shape: number[];
  data: number[];
}
type JsonDict = Record<string, JsonTensor>;
interface VectorFile {
  meta: { channel: number; ksize: number; num_level: number; num_stack: number; vn: string; H: number; W: number; module_order: string[] };
  params: JsonDict;
  buffers: JsonDict;
  input: JsonTensor;
  f32: Record<string, unknown>;
}

/** What the official implementation computed (a vector file's f32 section), as replayed below. */
interface VectorOutputs {
  feat: JsonTensor;
  pyramid_in: JsonTensor[];
  blocks: JsonTensor[][];
  pyramid_out: JsonTensor[];
  diff_pixel: JsonTensor;
  loss: JsonTensor | number;
  grads: JsonDict;
  running_mean_after_forward: JsonDict;
  inverse_train_max_abs_err: number;
  savemem_grad_max_abs_diff: number;
  eval_pyramid_out: JsonTensor[];
  inverse_eval_max_abs_err: number;
  grad_total_norm_before_clip: JsonTensor | number;
  params_after_one_adam_step: JsonDict;
  /** Files with several Adam steps: the parameters, losses, gradients and norms of each. */
  params_after_adam_steps?: JsonDict[];
  losses_per_step: (JsonTensor | number)[];
  grads_later_steps: JsonDict[];
  grad_total_norm_per_step: (JsonTensor | number)[];
  loss_after_adam_steps?: JsonTensor | number;
}

const OUTPUT_REL = 1e-5;
const ADAM_ABS = 1e-6;

const f32 = (t: JsonTensor): Float32Array => Float32Array.from(t.data, Math.fround);
const toDict = (d: JsonDict): StateDict => Object.fromEntries(Object.entries(d).map(([k, t]) => [k, { shape: t.shape, data: f32(t) }]));

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

class Checks {
  list: ConformanceCheck[] = [];
  add(name: string, maxError: number, tolerance: number): void {
    this.list.push({ name, maxError, tolerance, ok: maxError <= tolerance });
  }
  /** Outputs: error relative to the largest magnitude of the expected tensor. */
  output(name: string, got: ArrayLike<number>, want: JsonTensor | number): void {
    const w = typeof want === 'number' ? [Math.fround(want)] : f32(want);
    this.add(name, maxDiff(got, w), OUTPUT_REL * Math.max(maxAbs(w), 1e-30));
  }
  pyramid(name: string, got: readonly Tensor[], want: JsonTensor[]): void {
    let err = 0,
      mag = 0;
    got.forEach((t, k) => {
      const w = f32(want[k]!);
      err = Math.max(err, maxDiff(t.values(), w));
      mag = Math.max(mag, maxAbs(w));
    });
    this.add(name, err, OUTPUT_REL * mag);
  }
  /** Gradients, per tensor: |err| <= 1e-4 max|g of that tensor| + 1e-5 max|g over all|. */
  grads(name: string, model: PyramidFlow, want: JsonDict): void {
    const all = Math.max(
      ...Object.values(want)
        .filter(Boolean)
        .map((t) => maxAbs(t.data)),
    );
    let worstRatio = -1,
      worst: ConformanceCheck = { name, maxError: 0, tolerance: 0, ok: true };
    for (const [pname, p] of model.namedParameters()) {
      const w = want[pname];
      if (!w) throw new PyramidFlowError(`conformance: no gradient for ${pname} in the file`);
      const err = maxDiff(p.grad ?? new Float32Array(p.size), f32(w));
      const tol = 1e-4 * maxAbs(w.data) + 1e-5 * all;
      if (err / tol > worstRatio) {
        worstRatio = err / tol;
        worst = { name: `${name} (worst: ${pname})`, maxError: err, tolerance: tol, ok: err <= tol };
      }
    }
    this.list.push(worst);
  }
  params(name: string, model: PyramidFlow, want: JsonDict): void {
    let err = 0;
    for (const [pname, p] of model.namedParameters()) err = Math.max(err, maxDiff(p.values(), f32(want[pname]!)));
    this.add(name, err, ADAM_ABS);
  }
}

export function configFromMeta(meta: VectorFile['meta']): ModelConfig {
  return {
    channels: meta.channel,
    kernel: meta.ksize,
    levels: meta.num_level,
    stacks: meta.num_stack,
    volumeNorm: meta.vn.toLowerCase() === 'svn' ? 'svn' : 'cvn',
    height: meta.H,
    width: meta.W,
    downsample: 'maxpool',
  };
}

export function loadVectorFile(file: string): VectorFile {
  let v: VectorFile;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as VectorFile;
  } catch (e) {
    throw new PyramidFlowError(`${file}: cannot read a conformance vector file (${(e as Error).message})`);
  }
  if (!v.meta || !v.params || !v.buffers || !v.input || !v.f32)
    throw new PyramidFlowError(`${file}: not a conformance vector file (needs meta, params, buffers, input, f32)`);
  return v;
}

export function runConformance(file: string): ConformanceReport {
  const v = loadVectorFile(file);
  const cfg = configFromMeta(v.meta);
  const order = blockOrder(cfg);
  const c = new Checks();
  const fresh = (): PyramidFlow => modelFromState(cfg, toDict(v.params), toDict(v.buffers));
  const model = fresh();
  const names = order.map((_, i) => officialModuleName(model, i));
  if (names.join() !== v.meta.module_order.join()) {
    throw new PyramidFlowError(`${file}: block order ${v.meta.module_order.join(', ')} differs from ours ${names.join(', ')}`);
  }
  const x = Tensor.fromHost(v.input.shape, f32(v.input));
  const out = v.f32 as unknown as VectorOutputs;

  // Forward in training mode, block by block, under one tape.
  const tape = new Tape();
  const feat = channelMix(x, model.inConv);
  c.output('feat', feat.values(), out.feat);
  const pyrIn = buildPyramid(feat, cfg.levels, cfg.downsample);
  c.pyramid('pyramid_in', pyrIn, out.pyramid_in);
  c.output('compose(pyramid_in)', composePyramid(pyrIn).values(), out.feat);
  const { latents, loss, diff } = withTape(tape, () => {
    let z = pyrIn;
    for (let i = 0; i < model.blocks.length; i++) {
      z = model.runBlocks(z, i, i + 1);
      c.pyramid(`block ${i} ${names[i]}`, z, out.blocks[i]);
    }
    const diff = pairDifference(z);
    return { latents: z, loss: pyramidLoss(z), diff };
  });
  c.pyramid('pyramid_out', latents, out.pyramid_out);
  c.output('diff_pixel', diff.values(), out.diff_pixel);
  c.output('loss', loss.values(), out.loss);
  tape.backward(loss);
  c.grads('gradients', model, out.grads);
  model.blocks.forEach((b, i) => {
    const name = `nf.moduleslst.${i}.affineParams.norm.running_mean`;
    c.output(`running_mean ${i}`, b.affine.runningMean.values(), out.running_mean_after_forward[name]!);
  });

  // The training-mode inverse rebuilds the input pyramid from the output.
  const rebuilt = model.inverse(latents);
  c.add('inverse (train) -> image', maxDiff(rebuilt.values(), x.values()), Math.max(out.inverse_train_max_abs_err, OUTPUT_REL * maxAbs(x.values())));

  // Memory saving: same gradients from a fresh copy.
  const saver = fresh();
  lossGradients(saver, x, true);
  let saveErr = 0;
  saver.parameters().forEach((p, i) => {
    saveErr = Math.max(saveErr, maxDiff(p.grad!, model.parameters()[i]!.grad!));
  });
  const gmax = Math.max(...model.parameters().map((p) => maxAbs(p.grad!)));
  c.add('memory-saving gradients vs plain', saveErr, Math.max(out.savemem_grad_max_abs_diff, 1e-5 * gmax));

  // Evaluation mode after one training forward.
  model.training = false;
  const evalOut = model.forward(x);
  c.pyramid('eval_pyramid_out', evalOut, out.eval_pyramid_out);
  c.add(
    'inverse (eval) -> image',
    maxDiff(model.inverse(evalOut).values(), x.values()),
    Math.max(out.inverse_eval_max_abs_err, OUTPUT_REL * maxAbs(x.values())),
  );
  model.training = true;

  // Clipped Adam steps.
  const opt = new Adam(model.parameters(), OFFICIAL_ADAM);
  const norm = clipGradNorm(model.parameters());
  c.output('grad_total_norm_before_clip', [norm], out.grad_total_norm_before_clip);
  opt.step();
  c.params('params after Adam step 1', model, out.params_after_adam_steps?.[0] ?? out.params_after_one_adam_step);
  const steps: number = out.params_after_adam_steps?.length ?? 1;
  for (let s = 1; s < steps; s++) {
    opt.zeroGrad();
    const { loss: l } = lossGradients(model, x, false);
    c.output(`loss before step ${s + 1}`, [l], out.losses_per_step[s]!);
    c.grads(`gradients at step ${s + 1}`, model, out.grads_later_steps[s - 1]!);
    c.output(`grad norm at step ${s + 1}`, [clipGradNorm(model.parameters())], out.grad_total_norm_per_step[s]!);
    opt.step();
    c.params(`params after Adam step ${s + 1}`, model, out.params_after_adam_steps![s]!);
  }
  if (out.loss_after_adam_steps !== undefined) {
    opt.zeroGrad();
    c.output(`loss after ${steps} Adam steps`, [lossGradients(model, x, false).loss], out.loss_after_adam_steps);
  }
  return { file, ok: c.list.every((k) => k.ok), checks: c.list };
}
