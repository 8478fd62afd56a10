/**
 * Options of real runs through the whole command line: --config files (and their errors), the
 * round trip train --config -> info --config -> train --config, and what `train --resume` does
 * with options given again. Tiny trainings (32 x 32, 2 channels, 2 levels, 1 stack, 1 epoch) on a
 * synthesised set: a second or so each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultContext, type CliContext } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/program.js';
import { readModelFile, saveModelFile } from '../../src/api/model-files.js';
import { restoreModel, type SavedModel } from '../../src/flow/saved-model.js';
import { argv, fakeContext, textBuffer, type Buffer } from './fake-context.js';

const dir = mkdtempSync(join(tmpdir(), 'pyramidflow-options-'));
const data = join(dir, 'data');
const model = join(dir, 'm.pflow');
const TINY = { data, category: 'fabric', out: model, size: 32, channels: 2, levels: 2, stack: 1, epochs: 1, threads: 1 };

type RealContext = CliContext & { stdout: Buffer; stderr: Buffer };
const realContext = (): RealContext => ({ ...defaultContext(), stdout: textBuffer(), stderr: textBuffer() });

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const ctx = realContext();
  const code = await runCli(argv(...args), ctx);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text };
}

/** A copy of a finished model as a checkpoint at the end of its epochs, as a killed run leaves one. */
function checkpointOf(saved: SavedModel, file: string): void {
  const sizes = restoreModel(saved)
    .parameters()
    .map((p) => p.size);
  const zeros = (): Float32Array[] => sizes.map((n) => new Float32Array(n));
  saveModelFile(file, {
    ...saved,
    template: null,
    thresholds: null,
    resume: { epoch: saved.training.epochsDone, stepInEpoch: 0, adamStep: 0, adamM: zeros(), adamV: zeros(), epochLosses: [] },
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('setup: a tiny synthetic data set', async () => {
  const r = await cli('synth', '--out', data, '--categories', 'fabric', '--size', '32', '--train', '8', '--test-good', '2', '--test-defect', '2');
  assert.equal(r.code, 0, r.stderr);
});

test('train --config YAML, info --config, train --config again: the same options, the same training', async () => {
  const first = join(dir, 'first.yaml');
  // camelCase and kebab-case keys both work; a flag on the command line wins over the file
  writeFileSync(
    first,
    `# a tiny model\n${Object.entries({ ...TINY, epochs: 5 })
      .map(([k, v]) => `${k === 'stack' ? 'stacks' : k}: ${v}`)
      .join('\n')}\nvolume-norm: cvn\n`,
  );
  const trained = await cli('train', '--config', first, '--epochs', '1');
  assert.equal(trained.code, 0, trained.stderr);

  const saved = readModelFile(model);
  const values = saved.training.options?.values;
  assert.ok(values, 'the model file records the resolved options');
  assert.equal(values.epochs, 1, 'the flag won over the file');
  assert.equal(values.stacks, 1);
  assert.equal(values.batch, 2, 'defaults are resolved');
  assert.equal(values.levels, 2);
  assert.equal(values.format, 'mvtec', 'detected values are resolved');
  assert.equal(values.augment, 'texture', 'auto is resolved');

  const info = await cli('info', '--config', model);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^# the options .*m\.pflow was trained with/);
  assert.match(info.stdout, /^stack: 1$/m);
  assert.match(info.stdout, /^volume-norm: cvn$/m);
  const again = join(dir, 'again.yaml');
  writeFileSync(again, info.stdout);
  const model2 = join(dir, 'm2.pflow');
  const retrained = await cli('train', '--config', again, '--out', model2);
  assert.equal(retrained.code, 0, retrained.stderr);

  const saved2 = readModelFile(model2);
  assert.deepEqual(saved2.config, saved.config);
  assert.deepEqual({ ...saved2.training.options?.values, out: model }, values, 'the same resolved options, but for --out');
  assert.deepEqual(saved2.training.trainFiles, saved.training.trainFiles);
  assert.deepEqual(saved2.training.lossPerEpoch, saved.training.lossPerEpoch, 'the same run');
  // and the JSON form is a config file too
  const json = await cli('info', '--config', '--json', model2);
  const asJson = join(dir, 'again.json');
  writeFileSync(asJson, json.stdout);
  const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(parsed['checkpoint-every'], 0);
  assert.equal(parsed.out, model2);
});

test('train --resume honours a changed --lr and --epochs and records them', async () => {
  const saved = readModelFile(model);
  const a = join(dir, 'ckpt-a.pflow');
  const b = join(dir, 'ckpt-b.pflow');
  checkpointOf(saved, a);
  checkpointOf(saved, b);

  const changed = await cli('train', '--data', data, '--out', a, '--resume', '--lr', '0.003', '--epochs', '2', '--threads', '1');
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /resuming .* at epoch 2, step 1; changed: epochs 1 -> 2, lr 0\.0002 -> 0\.003/);
  const same = await cli('train', '--data', data, '--out', b, '--resume', '--epochs', '2', '--threads', '1');
  assert.equal(same.code, 0, same.stderr);

  const ra = readModelFile(a);
  assert.equal(ra.training.lr, 0.003);
  assert.equal(ra.training.epochs, 2);
  assert.equal(ra.training.epochsDone, 2, 'ran to the new epoch count');
  assert.equal(ra.training.options?.values.lr, 0.003);
  assert.deepEqual(ra.training.options?.resumed, [{ epoch: 1, step: 0, changed: { epochs: { from: 1, to: 2 }, lr: { from: 2e-4, to: 0.003 } } }]);
  const rb = readModelFile(b);
  assert.equal(rb.training.lr, 2e-4);
  const moved = Object.entries(ra.params).some(([name, t]) => t.data.some((v, i) => v !== rb.params[name]!.data[i]));
  assert.ok(moved, 'the resumed run used the new learning rate: its weights differ from a resume at the old one');

  const info = await cli('info', '--config', a);
  assert.match(info.stdout, /^# resumed at epoch 2, step 1 with epochs 1 -> 2, lr 0\.0002 -> 0\.003/m);
  assert.match(info.stdout, /^lr: 0\.003$/m);
});

test('train --resume refuses a changed --batch, --seed or network option by name, and keeps the checkpoint', async () => {
  const ckpt = join(dir, 'ckpt-c.pflow');
  checkpointOf(readModelFile(model), ckpt);
  const before = readFileSync(ckpt);

  const batch = await cli('train', '--data', data, '--out', ckpt, '--resume', '--batch', '4');
  assert.equal(batch.code, 2, batch.stderr);
  assert.equal(
    batch.stderr,
    `pyramidflow: ${ckpt}: --batch 4 differs from the checkpoint's 2; a resumed run cannot change it (start a new run or use --from)\n`,
  );

  const seed = await cli('train', '--data', data, '--out', ckpt, '--resume', '--seed', '3', '--holdout', '0.2');
  assert.equal(seed.code, 2);
  assert.match(seed.stderr, /--seed 3 differs from the checkpoint's 0/);

  const images = await cli('train', '--data', data, '--out', ckpt, '--resume', '--max-images', '4');
  assert.match(images.stderr, /--max-images 4 differs from the checkpoint, which ran without it/);

  const channels = await cli('train', '--data', data, '--out', ckpt, '--resume', '--channels', '4');
  assert.equal(channels.code, 2);
  assert.match(channels.stderr, /this model has channels 2, not 4/);

  const fewer = await cli('train', '--data', data, '--out', ckpt, '--resume', '--epochs', '0');
  assert.equal(fewer.code, 2);
  assert.match(fewer.stderr, /--epochs 0 is fewer than the checkpoint has reached \(1\)/);

  assert.deepEqual(readFileSync(ckpt), before, 'nothing was written');
  // what the checkpoint has is no change: the same values, given again, are fine
  const sameValues = await cli('train', '--data', data, '--out', ckpt, '--resume', '--batch', '2', '--seed', '0', '--threads', '1', '--size', '32');
  assert.equal(sameValues.code, 0, sameValues.stderr);
});

test('a model file of an earlier version (no recorded options): info --config reads them back; resume compares what it knows', async () => {
  const saved = readModelFile(model);
  const old = join(dir, 'old.pflow');
  const { options: _options, ...training } = saved.training;
  void _options;
  saveModelFile(old, { ...saved, training });
  const info = await cli('info', '--config', old);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /earlier version/);
  assert.match(info.stdout, /^batch: 2$/m);
  assert.doesNotMatch(info.stdout, /^out:/m, 'an old file does not say where it was written');

  const ckpt = join(dir, 'old-ckpt.pflow');
  checkpointOf({ ...saved, training: { ...training } }, ckpt);
  const refused = await cli('train', '--data', data, '--out', ckpt, '--resume', '--batch', '4');
  assert.match(refused.stderr, /--batch 4 differs from the checkpoint's 2/);
  const unknown = await cli('train', '--data', data, '--out', ckpt, '--resume', '--max-images', '8', '--threads', '1');
  assert.equal(unknown.code, 0, `the old file does not say --max-images: no conflict (${unknown.stderr})`);
});

test('--config errors are one line naming the file and the key, exit code 2, before any work', async () => {
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const cases: Array<[string, string, RegExp]> = [
    ['unknown.yaml', `data: ${data}\nout: x.pflow\nbogus: 3\n`, /unknown\.yaml: unknown option 'bogus' for train \(see pyramidflow train --help\)$/],
    ['other.yaml', 'report: r\n', /other\.yaml: unknown option 'report' for train \(it is an option of test\)$/],
    ['type.yaml', 'batch: "4"\n', /type\.yaml: batch must be a whole number \(got the text '4'\)$/],
    ['range.yaml', 'lr: 0\n', /range\.yaml: lr must be > 0 \(got 0\)$/],
    ['choice.yaml', 'volumeNorm: bn\n', /choice\.yaml: volumeNorm must be one of cvn, svn, auto \(got 'bn'\)$/],
    ['twice.yaml', 'volume-norm: cvn\nvolumeNorm: svn\n', /twice\.yaml: 'volume-norm' and 'volumeNorm' are the same option; give it once$/],
    ['list.yaml', '- batch\n', /list\.yaml: expected option names with their values/],
    ['broken.yaml', 'data: [x\n', /broken\.yaml: not a valid YAML or JSON file/],
  ];
  for (const [name, text, message] of cases) {
    const ctx = fakeContext();
    const code = await runCli(argv('train', '--config', write(name, text), '--data', 'd', '--out', 'm'), ctx);
    assert.equal(code, 2, name);
    assert.equal(ctx.stderr.text.split('\n').filter(Boolean).length, 1, ctx.stderr.text);
    assert.match(ctx.stderr.text.trim(), message, name);
    assert.equal(ctx.calls.length, 0, 'the API is not called');
  }
  const missing = fakeContext();
  assert.equal(await runCli(argv('test', '--config', join(dir, 'nope.yaml')), missing), 2);
  assert.match(missing.stderr.text, /nope\.yaml: config file not found/);
});

test('every command with options reads --config; flags win; required options may come from the file', async () => {
  const file = join(dir, 'test.json');
  writeFileSync(file, JSON.stringify({ model: 'm.pflow', data: 'd', 'fpr-limit': 0.2, json: true }));
  const ctx = fakeContext({
    test: async () => {
      throw new Error('stop');
    },
  });
  await runCli(argv('test', '--config', file, '--fpr-limit', '0.1'), ctx);
  assert.deepEqual(ctx.calls[0], { fn: 'test', args: [{ model: 'm.pflow', data: 'd', fprLimit: 0.1, galleryCount: 0 }] });

  const synth = join(dir, 'synth.yaml');
  writeFileSync(synth, 'out: s\ncategories: [fabric, wood]\ntest-good: 1\n');
  const s = fakeContext();
  assert.equal(await runCli(argv('synth', '--config', synth, '--size', '16'), s), 0, s.stderr.text);
  assert.deepEqual(s.calls[0]!.args[0], { out: 's', categories: ['fabric', 'wood'], testGood: 1, size: 16 });

  const serve = join(dir, 'serve.yaml');
  writeFileSync(serve, 'model: [a=a.pflow, b.pflow]\nport: 0\n');
  let received: unknown;
  const sv = fakeContext(
    {},
    {
      loadServer: async () => ({
        parseModelSpec: (spec: string) => ({ name: spec, file: spec }),
        resolveToken: async () => undefined,
        startServer: async (opts) => {
          received = opts;
          return { url: 'http://127.0.0.1:1' };
        },
      }),
    },
  );
  assert.equal(await runCli(argv('serve', '--config', serve), sv), 0, sv.stderr.text);
  assert.deepEqual(received, {
    port: 0,
    models: [
      { name: 'a=a.pflow', file: 'a=a.pflow' },
      { name: 'b.pflow', file: 'b.pflow' },
    ],
  });

  const conformance = join(dir, 'conformance.yaml');
  writeFileSync(conformance, 'backend: js\n');
  const cf = fakeContext({ conformance: async (f) => ({ file: f, ok: true, checks: [] }) });
  assert.equal(await runCli(argv('conformance', '--config', conformance, 'x.json'), cf), 0, cf.stderr.text);
  assert.deepEqual(cf.calls[0], { fn: 'conformance', args: ['x.json', { backend: 'js' }] });

  for (const command of ['train', 'test', 'predict', 'calibrate', 'serve', 'synth', 'demo', 'conformance']) {
    const help = fakeContext();
    await runCli(argv(command, '--help'), help);
    assert.match(help.stdout.text, /--config <file>/, command);
  }
});

test("calibrate --help states what calibrate does without --fpr: the model's own rate, not a restated default", async () => {
  const ctx = fakeContext();
  assert.equal(await runCli(argv('calibrate', '--help'), ctx), 0);
  const fpr = ctx.stdout.text.split('\n').findIndex((l) => l.trimStart().startsWith('--fpr '));
  const lines = ctx.stdout.text
    .split('\n')
    .slice(fpr, fpr + 3)
    .join(' ');
  assert.match(lines, /kept from the model/);
  assert.doesNotMatch(lines, /default 0\.01/);
  // and calibrate passes nothing when --fpr is left out, so the API keeps the model's
  const call = fakeContext({
    calibrate: async () => {
      throw new Error('stop');
    },
  });
  await runCli(argv('calibrate', '--model', 'm', '--good', 'g'), call);
  assert.deepEqual(call.calls[0]!.args[0], { model: 'm', good: 'g' });
});
