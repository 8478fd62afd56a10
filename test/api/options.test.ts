/** The option table (src/api/options.ts) and what is derived from it: the library's checks, the benchmarks' flags. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, CONFIG_COMMANDS, defaultOf, helpOf, OPTIONS, optionOf, optionsOf, type CommandName } from '../../src/api/options.js';
import { checkApiOptions, parseOptionText, resolvedTrainOptions } from '../../src/api/option-values.js';
import { train } from '../../src/api/index.js';
import { CONFIG_LIMITS, DEFAULT_CONFIG } from '../../src/flow/config.js';
import { DEFAULT_FPR } from '../../src/detect/thresholds.js';
import { runCli } from '../../src/cli/program.js';
import { PyramidFlowError } from '../../src/util/errors.js';
import { argv, fakeContext } from '../cli/fake-context.js';
import { modelOptionsFrom, tableArgs, tableValues } from '../../bench/_model-args.js';
import { usage as trainBenchUsage, help as trainBenchHelp } from '../../bench/train.js';

const usageError =
  (message: RegExp) =>
  (err: unknown): boolean => {
    assert.ok(err instanceof PyramidFlowError, String(err));
    assert.equal(err.code, 'E_USAGE');
    assert.match(err.message, message);
    return true;
  };

test('the table: one row per flag and command, a type, help, and a resume rule for every option train records', () => {
  for (const command of COMMANDS) {
    const flags = optionsOf(command).map((o) => o.flag);
    assert.deepEqual(flags, [...new Set(flags)], `${command}: a flag twice`);
    const names = optionsOf(command).map((o) => o.name);
    assert.deepEqual(names, [...new Set(names)], `${command}: a name twice`);
  }
  for (const o of OPTIONS) {
    assert.ok(o.help.length > 0 && o.commands.length > 0, o.flag);
    assert.ok(o.kind !== 'choice' || (o.choices?.length ?? 0) > 1, `${o.flag}: a choice needs choices`);
    assert.ok(!o.required || o.required.every((c) => o.commands.includes(c)), `${o.flag}: required by a command that does not take it`);
    if (o.commands.includes('train')) assert.ok(o.resume !== undefined, `--${o.flag}: what may --resume do with it?`);
    if (o.network) assert.equal(o.resume, 'refused', `--${o.flag} defines the network`);
  }
  for (const command of CONFIG_COMMANDS)
    assert.ok(
      optionsOf(command).some((o) => o.flag === 'config'),
      command,
    );
});

test('the table refers to the facts of lower layers instead of restating them', () => {
  assert.deepEqual(optionOf('train', 'channels').range, CONFIG_LIMITS.channels);
  assert.equal(defaultOf('train', 'channels'), DEFAULT_CONFIG.channels);
  assert.equal(defaultOf('train', 'stacks'), DEFAULT_CONFIG.stacks);
  assert.equal(defaultOf('train', 'fpr'), DEFAULT_FPR.image);
  assert.equal(defaultOf('train', 'pixelFpr'), DEFAULT_FPR.pixel);
  // calibrate keeps the model's own targets when left out: no value to restate
  assert.equal(defaultOf('calibrate', 'fpr'), undefined);
  assert.match(helpOf(optionOf('calibrate', 'fpr'), 'calibrate'), /\(default: kept from the model\)$/);
  assert.match(helpOf(optionOf('train', 'fpr'), 'train'), /\(default 0\.01\)$/);
});

test("the serve defaults of the table are the server's", async () => {
  const server = (await import('../../src/server/index.js')) as { DEFAULTS?: { port?: number; host?: string; maxQueue?: number } };
  if (!server.DEFAULTS) return;
  assert.equal(defaultOf('serve', 'port'), server.DEFAULTS.port);
  assert.equal(defaultOf('serve', 'host'), server.DEFAULTS.host);
  assert.equal(defaultOf('serve', 'maxQueue'), server.DEFAULTS.maxQueue);
});

test('values: text of a flag, typed values of a config file or the library, one message for one mistake', () => {
  const batch = optionOf('train', 'batch');
  assert.equal(parseOptionText(batch, '4'), 4);
  assert.throws(() => parseOptionText(batch, '1'), usageError(/^--batch must be >= 2 \(got 1\)$/));
  assert.throws(() => checkApiOptions('train', { data: 'd', out: 'm', batch: 1 }), usageError(/^--batch must be >= 2 \(got 1\)$/));
  assert.throws(() => checkApiOptions('train', { data: 'd', out: 'm', batch: 2.5 }), usageError(/^--batch must be a whole number \(got 2\.5\)$/));
  assert.throws(() => checkApiOptions('train', { data: 'd', out: 'm', levels: 'many' }), usageError(/^--levels must be a whole number or auto/));
  assert.throws(() => checkApiOptions('train', { data: 'd', out: 'm', fpr: { pixel: 2 } }), usageError(/^--pixel-fpr must be < 1 \(got 2\)$/));
  assert.throws(() => checkApiOptions('train', { out: 'm' }), usageError(/^--data is required$/));
  assert.deepEqual(checkApiOptions('train', { data: 'd', out: 'm', levels: 'auto', fpr: { image: 0.05 } }), { data: 'd', out: 'm', levels: 'auto', fpr: 0.05 });
  const save = optionOf('train', 'saveMemory');
  assert.equal(parseOptionText(save, false), false);
  assert.equal(parseOptionText(save, 'auto'), 'auto');
});

test("train({ batch: 1 }) from the library: the command line's message, before any work", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-options-'));
  try {
    const out = join(dir, 'm.pflow');
    await assert.rejects(train({ data: join(dir, 'missing'), out, batch: 1 }), usageError(/^--batch must be >= 2 \(got 1\)$/));
    await assert.rejects(train({ data: join(dir, 'missing'), out, stacks: 1.5 }), usageError(/^--stack must be a whole number \(got 1\.5\)$/));
    await assert.rejects(train({ data: join(dir, 'missing'), out, holdout: 0.95 }), usageError(/^--holdout must be <= 0\.9/));
    assert.equal(existsSync(out), false);
    const ctx = fakeContext();
    assert.equal(await runCli(argv('train', '--data', 'd', '--out', 'm', '--batch', '1'), ctx), 2);
    assert.equal(ctx.stderr.text, 'pyramidflow: --batch must be >= 2 (got 1)\n', 'the same message on the command line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the benchmarks parse the model and train options with the table: --stack 1.5 is refused', () => {
  assert.throws(() => modelOptionsFrom({ stack: '1.5' }), usageError(/^--stack must be a whole number \(got '1\.5'\)$/));
  assert.throws(() => modelOptionsFrom({ channels: '0' }), usageError(/^--channels must be >= 1 \(got 0\)$/));
  assert.throws(() => modelOptionsFrom({ 'volume-norm': 'bn' }), usageError(/--volume-norm must be one of cvn, svn, auto/));
  assert.deepEqual(modelOptionsFrom({ size: '64', stack: '2', levels: 'auto', 'volume-norm': 'SVN' }), {
    size: 64,
    stacks: 2,
    levels: 'auto',
    volumeNorm: 'svn',
  });
  const names = ['batch', 'saveMemory', 'threads'];
  assert.deepEqual(Object.keys(tableArgs('train', names)), ['batch', 'save-memory', 'no-save-memory', 'threads']);
  assert.deepEqual(tableValues('train', names, { batch: '4', 'no-save-memory': true }), { batch: 4, saveMemory: false });
  assert.throws(() => tableValues('train', names, { batch: '1' }), usageError(/^--batch must be >= 2 \(got 1\)$/));
  assert.match(trainBenchUsage, /\[--stack n\].*\[--batch n\] \[--save-memory\] \[--threads n\]/);
  assert.match(trainBenchHelp, /--batch <n>\s+batch size .*\(default 2\)/);
});

test('resolved train options: from a training record, in table order, for every recorded option', () => {
  const record = {
    data: 'd',
    category: 'c',
    format: 'mvtec',
    augment: 'none' as const,
    seed: 1,
    batch: 2,
    lr: 1e-3,
    epochs: 3,
    epochsDone: 3,
    steps: 9,
    threads: 0,
    saveMemory: false,
    holdout: 0.1,
    fpr: { image: 0.02, pixel: 0.002 },
    checkpointEvery: 0,
    trainFiles: [],
    holdoutFiles: [],
    lossPerEpoch: [],
    seconds: 1,
  };
  const config = { ...DEFAULT_CONFIG, height: 64, width: 128 };
  const values = resolvedTrainOptions(record, config, { out: 'm.pflow', maxImages: 5 });
  assert.deepEqual(Object.keys(values), [
    'data',
    'category',
    'format',
    'out',
    'height',
    'width',
    'channels',
    'kernel',
    'levels',
    'stacks',
    'volumeNorm',
    'downsample',
    'batch',
    'epochs',
    'lr',
    'seed',
    'saveMemory',
    'augment',
    'holdout',
    'fpr',
    'pixelFpr',
    'checkpointEvery',
    'maxImages',
  ]);
  assert.equal(values.pixelFpr, 0.002);
  // every option train takes is recorded, or says why not
  const recorded = new Set(Object.keys(resolvedTrainOptions(record, DEFAULT_CONFIG, { out: 'o', maxImages: 2, threads: 1 })));
  for (const o of optionsOf('train' as CommandName)) {
    const why = o.cliOnly || o.unrecorded || ['height', 'width', 'from', 'threads', 'maxPixels'].includes(o.name);
    assert.ok(recorded.has(o.name) || why, `--${o.flag} is not recorded`);
  }
});
