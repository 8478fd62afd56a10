/**
 * A model file's content checked before anything uses it: a file with a valid checksum can still
 * be crafted or written by another program, and each fault must be refused here in words that
 * name the file, not deep inside as a RangeError.
 */
import { PyramidFlowError } from '../util/errors.js';
import { validateConfig } from './config.js';
import { modelFromState, type StateDict } from './state.js';
import type { ModelConfig } from './types.js';

type Fail = (what: string) => never;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws `NAME: not a usable model file (...)` unless the content is a whole model file's (saved-model.ts). */
export function checkSavedModel(content: unknown, name: string): void {
  const fail: Fail = (what) => {
    throw new PyramidFlowError(`${name}: not a usable model file (${what})`, 'E_MODEL_FILE');
  };
  if (!isObject(content)) fail('its header is not an object');
  const c = content as Record<string, unknown>;
  if (!isObject(c.config)) fail('it has no configuration');
  try {
    validateConfig(c.config as unknown as ModelConfig);
  } catch (e) {
    fail(`invalid configuration: ${(e as Error).message}`);
  }
  const config = c.config as unknown as ModelConfig;
  checkStateDict(c.params, 'parameters', fail);
  checkStateDict(c.buffers, 'buffers', fail);
  let sizes: number[] = [];
  try {
    sizes = modelFromState(config, c.params as StateDict, c.buffers as StateDict)
      .parameters()
      .map((p) => p.size);
  } catch (e) {
    fail((e as Error).message.replace(/^model state: /, ''));
  }
  checkRunningMeans(c.buffers as StateDict, config, fail);
  if (c.template !== null) checkTemplate(c.template, config, fail);
  if (c.thresholds !== null) checkThresholds(c.thresholds, fail);
  checkTraining(c.training, fail);
  if (c.resume !== null && c.resume !== undefined) checkResume(c.resume, sizes, fail);
}

function checkStateDict(v: unknown, what: string, fail: Fail): void {
  if (!isObject(v)) fail(`its ${what} are missing`);
  for (const [key, t] of Object.entries(v as object)) {
    if (!isObject(t) || !(t.data instanceof Float32Array) || !Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`${key} is not an array with a shape`);
    }
    const size = (t.shape as number[]).reduce((a, b) => a * b, 1);
    if (size !== (t.data as Float32Array).length)
      fail(`${key} has ${(t.data as Float32Array).length} values for its shape [${(t.shape as number[]).join(', ')}]`);
  }
}

/** Running means: untrained [1,1,1,1], per pixel of a level (cvn) [1,1,h,w], or per channel (svn) [1,C,1,1]. */
function checkRunningMeans(buffers: StateDict, config: ModelConfig, fail: Fail): void {
  const levels = Array.from({ length: config.levels }, (_, k) => [config.height >> k, config.width >> k]);
  for (const [key, t] of Object.entries(buffers)) {
    if (!key.endsWith('running_mean')) continue;
    const [n, ch, h, w] = t.shape;
    const ok =
      t.shape.length === 4 &&
      n === 1 &&
      ((ch === 1 && h === 1 && w === 1) ||
        (config.volumeNorm === 'cvn' && ch === 1 && levels.some(([lh, lw]) => lh === h && lw === w)) ||
        (config.volumeNorm === 'svn' && ch === config.channels && h === 1 && w === 1));
    if (!ok) fail(`${key} has shape [${t.shape.join(', ')}], which does not fit the configuration`);
  }
}

function checkTemplate(v: unknown, config: ModelConfig, fail: Fail): void {
  if (!Array.isArray(v) || v.length !== config.levels) fail(`the template must have ${config.levels} levels`);
  (v as unknown[]).forEach((t, k) => {
    const want = [1, config.channels, config.height >> k, config.width >> k];
    if (
      !isObject(t) ||
      !(t.data instanceof Float32Array) ||
      !Array.isArray(t.shape) ||
      t.shape.join(',') !== want.join(',') ||
      t.data.length !== want.reduce((a, b) => a * b, 1)
    ) {
      fail(`the template's level ${k} is not an array of shape [${want.join(', ')}]`);
    }
  });
}

function checkThresholds(v: unknown, fail: Fail): void {
  if (!isObject(v)) fail('its thresholds are not an object');
  const t = v as Record<string, unknown>;
  // JSON writes NaN and infinities as null: a missing number here is a non-finite one.
  for (const key of ['image', 'pixel', 'imageFpr', 'pixelFpr', 'images', 'scaleMin', 'scaleMax']) {
    if (typeof t[key] !== 'number') fail(`threshold field ${key} is not a finite number`);
  }
}

function checkTraining(v: unknown, fail: Fail): void {
  if (!isObject(v)) fail('its training record is missing');
  const t = v as Record<string, unknown>;
  for (const key of ['seed', 'batch', 'lr', 'epochs', 'epochsDone', 'steps', 'holdout']) {
    if (typeof t[key] !== 'number') fail(`training field ${key} is not a number`);
  }
  for (const key of ['trainFiles', 'holdoutFiles']) {
    if (!Array.isArray(t[key]) || !(t[key] as unknown[]).every((f) => typeof f === 'string')) fail(`training field ${key} is not a list of file names`);
  }
  if (!Array.isArray(t.lossPerEpoch) || !(t.lossPerEpoch as unknown[]).every((x) => typeof x === 'number' || x === null))
    fail('training field lossPerEpoch is not a list of numbers');
}

function checkResume(v: unknown, sizes: number[], fail: Fail): void {
  if (!isObject(v)) fail('its resume state is not an object');
  const r = v as Record<string, unknown>;
  for (const key of ['epoch', 'stepInEpoch', 'adamStep']) {
    if (!Number.isInteger(r[key]) || (r[key] as number) < 0) fail(`resume field ${key} is not a whole number`);
  }
  for (const key of ['adamM', 'adamV']) {
    const a = r[key];
    if (!Array.isArray(a) || a.length !== sizes.length || !a.every((x, i) => x instanceof Float32Array && x.length === sizes[i])) {
      fail(`resume field ${key} does not hold one array per parameter, of its size`);
    }
  }
}
