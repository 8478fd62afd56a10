/**
 * Checkpoints of the official PyTorch implementation (gasharper/PyramidFlow) into this program's
 * network: which file it is (the `.npz` of its train.py, a `torch.save` state dict, a safetensors
 * file), its state dict under the official names, and the configuration: from the file where it
 * says it, from the weights' shapes where they tell, else from the options given (named in the
 * error when missing). Models with a ResNet encoder (resnetX != 0) are refused: only the official
 * code's `--encoder none` models have this program's network.
 */
import { blockOrder, CONFIG_LIMITS, validateConfig } from '../flow/config.js';
import { conditionChannels } from '../flow/coupling.js';
import type { NamedArray, StateDict } from '../flow/state.js';
import type { ModelConfig, VolumeNorm } from '../flow/types.js';
import { PyramidFlowError } from '../util/errors.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import { type NpArray, readLegacyTorch, readNpz, readTorchZip, readZip, stateDictOf } from './tensors.js';

function fail(message: string): never {
  throw new PyramidFlowError(message, 'E_INPUT');
}

/** The kinds of checkpoint read: the official train.py's `.npz`, `torch.save` (zip or legacy), safetensors. */
export type CheckpointFormat = 'npz' | 'torch' | 'torch-legacy' | 'safetensors';
/** Which state dict of the official `.npz` to take: the best by pixel AUROC or by PRO. */
export type OfficialState = 'pixel' | 'pro';

/** What a checkpoint says about the network besides its weights. */
export interface CheckpointMeta {
  channels?: number;
  kernel?: number;
  levels?: number;
  stacks?: number;
  volumeNorm?: VolumeNorm;
  resnetX?: number;
  height?: number;
  width?: number;
  downsample?: ModelConfig['downsample'];
  batch?: number;
  category?: string;
}

export interface Checkpoint {
  format: CheckpointFormat;
  /** Every entry of the state dict, by its official name. */
  state: StateDict;
  meta: CheckpointMeta;
  /** The `.npz` state dict taken (state_dict_pixel or state_dict_pro). */
  entry?: string;
}

const isZip = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
const isLegacyTorch = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x80 && b[2] === 0x8a && b[3] === 0x0a;

function scalar(a: NpArray | undefined, name: string, what: string): number | undefined {
  if (!a) return undefined;
  if (a.values?.length !== 1) fail(`${what}: ${name} is not a number`);
  return a.values![0];
}

/** The configuration entries of the official train.py's `.npz`. */
function npzMeta(arrays: Record<string, NpArray>, what: string): CheckpointMeta {
  const meta: CheckpointMeta = {};
  const set = <K extends keyof CheckpointMeta>(key: K, v: CheckpointMeta[K] | undefined): void => {
    if (v !== undefined) meta[key] = v;
  };
  set('resnetX', scalar(arrays.resnetX, 'resnetX', what));
  set('levels', scalar(arrays.num_layer, 'num_layer', what));
  set('kernel', scalar(arrays.ksize, 'ksize', what));
  set('channels', scalar(arrays.channel, 'channel', what));
  set('stacks', scalar(arrays.num_stack, 'num_stack', what));
  set('batch', scalar(arrays.batch_size, 'batch_size', what));
  const vn = arrays.vn_dims?.values;
  if (vn) {
    const dims = [...vn].join(',');
    if (dims === '0,1') meta.volumeNorm = 'cvn';
    else if (dims === '0,2,3') meta.volumeNorm = 'svn';
    else fail(`${what}: vn_dims (${dims}) is neither (0, 1) (CVN) nor (0, 2, 3) (SVN)`);
  }
  const cls = arrays.cls_name?.objects?.[0];
  if (typeof cls === 'string') meta.category = cls;
  return meta;
}

function safetensorsMeta(m: Record<string, string>, what: string): CheckpointMeta {
  const meta: CheckpointMeta = {};
  const num = (key: string): number | undefined => {
    if (m[key] === undefined) return undefined;
    const v = Number(m[key]);
    if (!Number.isFinite(v)) fail(`${what}: __metadata__ ${key} (${m[key]}) is not a number`);
    return v;
  };
  const pairs: [keyof CheckpointMeta, string][] = [
    ['channels', 'channel'],
    ['kernel', 'ksize'],
    ['levels', 'num_layer'],
    ['stacks', 'num_stack'],
    ['resnetX', 'resnetX'],
    ['height', 'height'],
    ['width', 'width'],
  ];
  for (const [key, name] of pairs) {
    const v = num(name);
    if (v !== undefined) (meta as Record<string, number>)[key] = v;
  }
  if (m.vn_dims !== undefined) {
    const dims = m.vn_dims.replace(/[^0-9,]/g, '');
    if (dims === '0,1') meta.volumeNorm = 'cvn';
    else if (dims === '0,2,3') meta.volumeNorm = 'svn';
    else fail(`${what}: __metadata__ vn_dims (${m.vn_dims}) is neither [0, 1] (CVN) nor [0, 2, 3] (SVN)`);
  }
  if (m.downsample === 'maxpool' || m.downsample === 'nearest') meta.downsample = m.downsample;
  return meta;
}

/**
 * Reads a checkpoint of the official code: the `.npz` of its train.py (`state` picks
 * state_dict_pixel or state_dict_pro), a `torch.save` state dict (zip or legacy format) or a
 * safetensors file. `what` (the file) starts every error.
 */
export function readCheckpoint(bytes: Uint8Array, what: string, state: OfficialState = 'pixel'): Checkpoint {
  try {
    return readAnyCheckpoint(bytes, what, state);
  } catch (e) {
    // A corrupted file can trip anything (a range, a length): one message naming the file.
    if (e instanceof PyramidFlowError) throw e;
    fail(`${what}: not a readable checkpoint (${(e as Error).message})`);
  }
}

function readAnyCheckpoint(bytes: Uint8Array, what: string, state: OfficialState): Checkpoint {
  if (isZip(bytes)) {
    const entries = readZip(bytes, what);
    const names = Object.keys(entries);
    if (names.some((n) => n.endsWith('/data.pkl'))) return { format: 'torch', state: stateDictOf(readTorchZip(entries, what), what), meta: {} };
    if (names.some((n) => n.endsWith('.npy'))) {
      const arrays = readNpz(bytes, what);
      const meta = npzMeta(arrays, what);
      if (meta.resnetX !== undefined && meta.resnetX !== 0) refuseEncoder(what, `resnetX ${meta.resnetX}`);
      const entry = `state_dict_${state}`;
      const held = arrays[entry];
      if (!held) {
        const has = Object.keys(arrays).filter((k) => k.startsWith('state_dict_'));
        fail(
          `${what}: has no ${entry}${has.length ? ` (it has ${has.join(', ')}: choose with --state)` : ' (not a checkpoint of the official train.py: it saves state_dict_pixel and state_dict_pro)'}`,
        );
      }
      const dict = held.objects?.length === 1 ? held.objects[0] : undefined;
      return { format: 'npz', state: stateDictOf(dict, `${what} (${entry})`), meta, entry };
    }
    fail(`${what}: a zip archive that is neither a numpy .npz nor a torch.save file`);
  }
  if (isLegacyTorch(bytes)) return { format: 'torch-legacy', state: stateDictOf(readLegacyTorch(bytes, what), what), meta: {} };
  if (looksLikeSafetensors(bytes)) {
    const { tensors, metadata } = readSafetensors(bytes, what);
    const meta = safetensorsMeta(metadata, what);
    if (meta.resnetX !== undefined && meta.resnetX !== 0) refuseEncoder(what, `resnetX ${meta.resnetX}`);
    return { format: 'safetensors', state: tensors, meta };
  }
  fail(`${what}: not a checkpoint this program reads (the official train.py's .npz, a torch.save state dict, or safetensors)`);
}

function refuseEncoder(what: string, why: string): never {
  fail(
    `${what}: a model with a ResNet encoder (${why}); this program implements the official code's --encoder none (resnetX 0) only: retrain with the official train.py --encoder none, or train here`,
  );
}

const NAME =
  /^nf\.moduleslst\.(\d+)\.(affineParams\.conv\.[02]\.weight|affineParams\.norm\.running_mean|conv1x1\.(?:w_p|w_l|w_s|w_u|s_sign|u_mask|l_mask|l_eye))$/;

/** Options for what a checkpoint does not say. */
export interface OfficialOptions {
  height?: number;
  width?: number;
  levels?: number;
  volumeNorm?: VolumeNorm;
}

export interface OfficialModel {
  config: ModelConfig;
  params: StateDict;
  buffers: StateDict;
}

/** The pyramid level at which block `i`'s affine parameters (and running mean) live. */
function affineLevel(kind: string, start: number): number {
  return kind === 'middle' ? start + 1 : start;
}

/**
 * The network of a checkpoint: configuration, parameters and buffers under the official names.
 * Options fill in what the file does not say; where the weights say something else, the
 * mismatch is an error naming the option.
 */
export function officialModel(ck: Checkpoint, opts: OfficialOptions, what: string): OfficialModel {
  const s = ck.state;
  const unknown = Object.keys(s).filter((k) => k !== 'inconv.weight' && !NAME.test(k));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 3).join(', ') + (unknown.length > 3 ? ` and ${unknown.length - 3} more` : '');
    if (unknown.some((k) => /encoder|resnet|layer\d|feat|bn\d|downsample/i.test(k))) refuseEncoder(what, `it holds ${shown}`);
    fail(`${what}: holds ${shown}, which the official PyramidFlow without encoder (resnetX 0) does not have`);
  }
  const inconv = s['inconv.weight'];
  if (!inconv) fail(`${what}: has no inconv.weight (not a state dict of the official PyramidFlow with resnetX 0)`);
  if (inconv.shape.length !== 4 || inconv.shape[1] !== 3 || inconv.shape[2] !== 1 || inconv.shape[3] !== 1)
    fail(`${what}: inconv.weight has shape [${inconv.shape.join(', ')}], not [C, 3, 1, 1]`);
  const C = inconv.shape[0]!;
  const count = new Set(Object.keys(s).flatMap((k) => NAME.exec(k)?.[1] ?? [])).size;
  const conv0 = (i: number): NamedArray => {
    const t = s[`nf.moduleslst.${i}.affineParams.conv.0.weight`];
    if (!t) fail(`${what}: has no nf.moduleslst.${i}.affineParams.conv.0.weight`);
    return t;
  };
  if (count === 0) fail(`${what}: has no flow blocks (nf.moduleslst.*)`);
  const k = conv0(0).shape[3]!;
  const inChannels = Array.from({ length: count }, (_, i) => conv0(i).shape[1]!);
  const agree = (name: string, flag: string, given: number | undefined, own: number | undefined): void => {
    if (given !== undefined && own !== undefined && given !== own) fail(`${what}: --${flag} ${given} differs from the checkpoint's ${name} ${own}`);
  };
  if (ck.meta.channels !== undefined && ck.meta.channels !== C) fail(`${what}: channel ${ck.meta.channels} differs from inconv.weight's ${C} channels`);
  if (ck.meta.kernel !== undefined && ck.meta.kernel !== k) fail(`${what}: ksize ${ck.meta.kernel} differs from the convolutions' kernel ${k}`);

  // Levels: said by the file or the options, else the one block pattern that fits the weights.
  agree('num_layer', 'levels', opts.levels, ck.meta.levels);
  const fits = (L: number): boolean =>
    count % L === 0 && blockOrder({ levels: L, stacks: count / L }).every((spec, i) => conditionChannels(spec, C) === inChannels[i]);
  let levels = opts.levels ?? ck.meta.levels;
  if (levels === undefined) {
    const candidates: number[] = [];
    for (let L = CONFIG_LIMITS.levels.min; L <= Math.min(count, CONFIG_LIMITS.levels.max); L++) if (fits(L)) candidates.push(L);
    if (candidates.length !== 1)
      fail(`${what}: does not say its pyramid levels${candidates.length ? ` (${candidates.join(' or ')} fit its weights)` : ''}: give --levels`);
    levels = candidates[0]!;
  } else if (!fits(levels)) {
    fail(`${what}: its ${count} flow blocks do not fit ${levels} pyramid levels${ck.meta.levels === undefined ? ' (--levels)' : ' (num_layer)'}`);
  }
  const stacks = count / levels;
  if (ck.meta.stacks !== undefined && ck.meta.stacks !== stacks)
    fail(`${what}: num_stack ${ck.meta.stacks} differs from its ${count} blocks of ${levels} levels`);
  const order = blockOrder({ levels, stacks });

  // Volume normalisation: said, or seen in a trained running mean's shape.
  const means = order.map((_, i) => s[`nf.moduleslst.${i}.affineParams.norm.running_mean`]);
  let seen: VolumeNorm | undefined;
  for (const m of means) {
    if (m?.shape.length !== 4) continue;
    if (m.shape[1] === 1 && m.shape[2]! * m.shape[3]! > 1) seen = 'cvn';
    else if (m.shape[1]! > 1 && m.shape[2] === 1 && m.shape[3] === 1) seen = 'svn';
  }
  const saidVn = opts.volumeNorm ?? ck.meta.volumeNorm;
  if (saidVn && seen && saidVn !== seen)
    fail(`${what}: its running means are ${seen.toUpperCase()}'s, not ${saidVn.toUpperCase()} (${opts.volumeNorm ? '--volume-norm' : 'vn_dims'})`);
  const volumeNorm = saidVn ?? seen;
  if (!volumeNorm) fail(`${what}: does not say its volume normalisation (its running means are untrained): give --volume-norm cvn or svn`);

  // Image size: given, said, or (CVN) read off the running means' resolution.
  let height = opts.height ?? ck.meta.height;
  let width = opts.width ?? ck.meta.width;
  for (const [i, m] of means.entries()) {
    if (m?.shape.length !== 4 || m.shape[1] !== 1 || m.shape[2]! * m.shape[3]! <= 1) continue;
    const f = 2 ** affineLevel(order[i]!.kind, order[i]!.start);
    const h = m.shape[2]! * f;
    const w = m.shape[3]! * f;
    if ((height !== undefined && height !== h) || (width !== undefined && width !== w))
      fail(`${what}: its running means were computed at ${w}x${h} pixels, not the ${width ?? '?'}x${height ?? '?'} given (--size, --height, --width)`);
    height = h;
    width = w;
  }
  if (height === undefined || width === undefined)
    fail(
      `${what}: does not say the image size the model was trained at: give --size (or --height and --width); the official train.py trains --encoder none models at 256`,
    );

  const config: ModelConfig = { channels: C, kernel: k, levels, stacks, volumeNorm, height, width, downsample: ck.meta.downsample ?? 'maxpool' };
  try {
    validateConfig(config);
  } catch (e) {
    fail(`${what}: ${(e as Error).message}`);
  }
  const params: StateDict = { 'inconv.weight': inconv };
  const buffers: StateDict = {};
  const take = (name: string, shape: number[], into: StateDict): void => {
    const t = s[name];
    if (!t) fail(`${what}: has no ${name}`);
    if (t.shape.join(',') !== shape.join(',')) fail(`${what}: ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    into[name] = t;
  };
  order.forEach((spec, i) => {
    const p = `nf.moduleslst.${i}`;
    const inC = conditionChannels(spec, C);
    take(`${p}.affineParams.conv.0.weight`, [2 * C, inC, k, k], params);
    take(`${p}.affineParams.conv.2.weight`, [2 * C, 2 * C, k, k], params);
    take(`${p}.conv1x1.w_l`, [C, C], params);
    take(`${p}.conv1x1.w_s`, [C], params);
    take(`${p}.conv1x1.w_u`, [C, C], params);
    take(`${p}.conv1x1.w_p`, [C, C], buffers);
    take(`${p}.conv1x1.s_sign`, [C], buffers);
    // The 1x1 convolution's constants: a permutation matrix and a sign vector, or the file is not what it says.
    const perm = buffers[`${p}.conv1x1.w_p`]!.data;
    const permutation =
      perm.every((x) => x === 0 || x === 1) &&
      Array.from({ length: C }, (_, r) => perm.subarray(r * C, r * C + C).reduce((a, b) => a + b, 0)).every((n) => n === 1) &&
      Array.from({ length: C }, (_, c) => Array.from({ length: C }, (_, r) => perm[r * C + c]!).reduce((a, b) => a + b, 0)).every((n) => n === 1);
    if (!permutation) fail(`${what}: ${p}.conv1x1.w_p is not a permutation matrix`);
    if (!buffers[`${p}.conv1x1.s_sign`]!.data.every((x) => x === 1 || x === -1)) fail(`${what}: ${p}.conv1x1.s_sign holds values other than 1 and -1`);
    const rm = s[`${p}.affineParams.norm.running_mean`];
    if (rm) buffers[`${p}.affineParams.norm.running_mean`] = rm;
    else buffers[`${p}.affineParams.norm.running_mean`] = { shape: [1, 1, 1, 1], data: new Float32Array(1) };
  });
  return { config, params, buffers };
}
