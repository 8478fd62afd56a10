import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChoice, parseInteger, parseIntegerOrAuto, parseList, parseNumber } from '../../src/cli/options.js';
import { toTrainOptions } from '../../src/cli/train.js';
import { toTestOptions } from '../../src/cli/test-command.js';
import { toPredictOptions } from '../../src/cli/predict.js';
import { toCalibrateOptions } from '../../src/cli/model.js';
import { toSynthOptions } from '../../src/cli/synth.js';
import { toServeSettings } from '../../src/cli/serve.js';
import { toDemoPlan } from '../../src/cli/demo.js';
import { PyramidFlowError } from '../../src/util/errors.js';

/** Asserts a usage error (exit code 2) whose message matches. */
function assertUsageError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PyramidFlowError, 'a PyramidFlowError');
    assert.equal(err.code, 'E_USAGE');
    assert.match(err.message, message);
    return true;
  });
}

test('number parsers: whole numbers, decimals, ranges, clear messages', () => {
  assert.equal(parseInteger('--epochs', '15', { min: 1 }), 15);
  assert.equal(parseInteger('--epochs', undefined), undefined);
  assert.equal(parseNumber('--lr', '2e-4', { above: 0 }), 2e-4);
  assert.equal(parseNumber('--fpr', '.5', { above: 0, below: 1 }), 0.5);
  assertUsageError(() => parseInteger('--epochs', '1.5'), /--epochs must be a whole number \(got '1.5'\)/);
  assertUsageError(() => parseInteger('--epochs', 'ten'), /whole number/);
  assertUsageError(() => parseNumber('--lr', 'fast'), /--lr must be a number/);
  assertUsageError(() => parseNumber('--lr', ''), /--lr must be a number/);
  assertUsageError(() => parseNumber('--lr', '0', { above: 0 }), /--lr must be > 0/);
  assertUsageError(() => parseNumber('--fpr', '1', { above: 0, below: 1 }), /--fpr must be < 1/);
  assertUsageError(() => parseInteger('--port', '70000', { max: 65535 }), /--port must be <= 65535/);
});

test('choices, auto and lists', () => {
  assert.equal(parseChoice('--format', 'MVTec', ['mvtec', 'btad', 'folder'] as const), 'mvtec');
  assertUsageError(() => parseChoice('--format', 'coco', ['mvtec', 'btad'] as const), /--format must be one of mvtec, btad \(got 'coco'\)/);
  assert.equal(parseIntegerOrAuto('--levels', 'auto', { min: 2 }), 'auto');
  assert.equal(parseIntegerOrAuto('--levels', '5', { min: 2 }), 5);
  assertUsageError(() => parseIntegerOrAuto('--levels', '1', { min: 2 }), /--levels must be >= 2/);
  assert.deepEqual(parseList('--categories', 'a, b,,c'), ['a', 'b', 'c']);
  assertUsageError(() => parseList('--categories', ' , '), /at least one/);
});

test('toTrainOptions maps every option to TrainOptions', () => {
  const opts = toTrainOptions({
    data: 'mvtec',
    category: 'carpet',
    format: 'mvtec',
    out: 'carpet.pflow',
    size: '250',
    channels: '8',
    kernel: '5',
    levels: 'auto',
    stack: '2',
    volumeNorm: 'svn',
    downsample: 'nearest',
    batch: '4',
    epochs: '3',
    lr: '1e-3',
    seed: '7',
    threads: '2',
    saveMemory: false,
    augment: 'none',
    holdout: '0.2',
    fpr: '0.05',
    pixelFpr: '0.002',
    checkpointEvery: '100',
    resume: true,
    from: 'old.pflow',
    maxImages: '10',
    json: true,
  });
  assert.deepEqual(opts, {
    data: 'mvtec',
    category: 'carpet',
    format: 'mvtec',
    out: 'carpet.pflow',
    size: 250,
    channels: 8,
    kernel: 5,
    levels: 'auto',
    stacks: 2,
    volumeNorm: 'svn',
    downsample: 'nearest',
    batch: 4,
    epochs: 3,
    lr: 1e-3,
    seed: 7,
    threads: 2,
    saveMemory: false,
    augment: 'none',
    holdout: 0.2,
    fpr: { image: 0.05, pixel: 0.002 },
    checkpointEvery: 100,
    resume: true,
    from: 'old.pflow',
    maxImages: 10,
  });
  // Only what was given: the API's defaults apply to the rest.
  assert.deepEqual(toTrainOptions({ data: 'd', out: 'm' }), { data: 'd', out: 'm' });
  assert.deepEqual(toTrainOptions({ data: 'd', out: 'm', pixelFpr: '0.01' }).fpr, { pixel: 0.01 });
});

test('toTrainOptions rejects bad values with the option named', () => {
  assertUsageError(() => toTrainOptions({ data: 'd', out: 'm', batch: '1' }), /batch must be >= 2/);
  assertUsageError(() => toTrainOptions({ data: 'd', out: 'm', levels: '1' }), /--levels must be >= 2/);
  assertUsageError(() => toTrainOptions({ data: 'd', out: 'm', volumeNorm: 'bn' }), /--volume-norm must be one of cvn, svn, auto/);
  assertUsageError(() => toTrainOptions({ data: 'd', out: 'm', holdout: '1' }), /--holdout must be <= 0\.9 \(got 1\)/); // the library's limit: one range now
  assertUsageError(() => toTrainOptions({ data: 'd', out: 'm', epochs: '-1' }), /--epochs must be >= 0/);
  assertUsageError(() => toTrainOptions({ out: 'm' }), /--data is required/);
});

test('toTestOptions: report keeps the gallery, no report keeps none', () => {
  assert.deepEqual(toTestOptions({ model: 'm', data: 'd', report: 'r', evalSize: 'original', fprLimit: '0.3', threads: '2' }), {
    model: 'm',
    data: 'd',
    report: 'r',
    evalSize: 'original',
    fprLimit: 0.3,
    threads: 2,
  });
  assert.equal(toTestOptions({ model: 'm', data: 'd' }).galleryCount, 0);
  assert.equal(toTestOptions({ model: 'm', data: 'd', report: 'r', galleryCount: '5' }).galleryCount, 5);
  assertUsageError(() => toTestOptions({ model: 'm', data: 'd', fprLimit: '0' }), /--fpr-limit must be > 0/);
  assertUsageError(() => toTestOptions({ model: 'm', data: 'd', evalSize: 'big' }), /--eval-size must be one of model, original/);
});

test('predict, calibrate, synth, serve and demo options', () => {
  assert.deepEqual(toPredictOptions(['a.png', 'dir'], { model: 'm', out: 'o', threshold: '0.5', pixelThreshold: '-1.5', minArea: '0' }), {
    model: 'm',
    inputs: ['a.png', 'dir'],
    out: 'o',
    threshold: 0.5,
    pixelThreshold: -1.5,
    minArea: 0,
  });
  assertUsageError(() => toPredictOptions([], { model: 'm' }), /at least one image/);
  assert.deepEqual(toCalibrateOptions({ model: 'm', good: 'g', fpr: '0.02' }), { model: 'm', good: 'g', fpr: { image: 0.02 } });
  assert.deepEqual(toSynthOptions({ out: 'o', categories: 'a,b', size: '64', train: '5', testGood: '0', testDefect: '2', seed: '1' }), {
    out: 'o',
    categories: ['a', 'b'],
    size: 64,
    train: 5,
    testGood: 0,
    testDefect: 2,
    seed: 1,
  });
  assert.deepEqual(toServeSettings({ model: ['a=x.pflow', 'y.pflow'], port: '0', host: '0.0.0.0', maxQueue: '4' }), {
    modelSpecs: ['a=x.pflow', 'y.pflow'],
    port: 0,
    host: '0.0.0.0',
    maxQueue: 4,
  });
  assertUsageError(() => toServeSettings({}), /at least one --model/);
  const plan = toDemoPlan({ out: '/tmp/demo', minutes: '100' });
  assert.equal(plan.modelFile, '/tmp/demo/model.pflow');
  assert.ok(plan.epochs >= 2 && plan.epochs <= 60);
  assertUsageError(() => toDemoPlan({ minutes: '-1' }), /--minutes must be > 0/);
});
