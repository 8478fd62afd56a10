/** `train --categories --out-dir` and `test --categories --model-dir`: the summary table, resume, the rows and the mean, usage errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synth } from '../../src/api/index.js';
import { runCli } from '../../src/cli/program.js';
import { argv, fakeContext } from './fake-context.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-cli-categories-'));
const data = join(dir, 'data');
const models = join(dir, 'models');
const TINY = ['--size', '32', '--channels', '2', '--kernel', '3', '--levels', '2', '--stack', '1', '--epochs', '1', '--threads', '1'];

test.after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const ctx = fakeContext();
  const code = await runCli(argv(...args), ctx);
  return { code, out: ctx.stdout.text, err: ctx.stderr.text };
}

test('train --categories all --out-dir: one progress view by category, a summary table; --resume skips the finished ones', async () => {
  await synth({ out: data, categories: ['fabric', 'grid', 'wood'], size: 32, train: 8, testGood: 3, testDefect: 4, seed: 7 });
  const first = await cli('train', '--data', data, '--categories', 'all', '--out-dir', models, ...TINY);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /^\[1\/3 fabric\] epoch 1\/1 {2}loss /m);
  assert.match(first.out, /^\[3\/3 wood\] epoch 1\/1 /m);
  assert.match(first.err, /^\[2\/3 grid\] training: 1 epochs of 3 steps$/m);
  assert.match(first.out, /3 categories in .*: 3 trained; models in /);
  assert.match(first.out, /^category +status +images +steps +time +final loss +image thr +pixel thr$/m);
  assert.match(first.out, /^grid +trained +7 +3 /m);

  const refused = await cli('train', '--data', data, '--categories', 'all', '--out-dir', models, ...TINY);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^pyramidflow: .*fabric\.pflow, .*grid\.pflow, .*wood\.pflow exist .*give --resume/);

  unlinkSync(join(models, 'wood.pflow'));
  const resumed = await cli('train', '--data', data, '--categories', 'all', '--out-dir', models, ...TINY, '--resume');
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /^\[1\/3 fabric\] .*fabric\.pflow is finished \(1 epochs\): skipped$/m);
  assert.match(resumed.out, /1 trained, 2 skipped/);
  assert.match(resumed.out, /^fabric +skipped +7 +3 /m);
  assert.match(resumed.out, /^wood +trained +7 +3 /m);

  const json = await cli('train', '--data', data, '--categories', 'grid,wood', '--out-dir', models, ...TINY, '--resume', '--json');
  const lines = json.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.filter((l) => l.kind === 'category').map((l) => [l.category, l.status]),
    [
      ['grid', 'skipped'],
      ['wood', 'skipped'],
    ],
  );
  assert.deepEqual(lines.at(-1), { ...lines.at(-1), kind: 'summary', categories: 2, skipped: 2, failed: 0 });
});

test('test --categories --model-dir: one row per category and the mean; a missing model is a failed row (exit 1)', async () => {
  const all = await cli('test', '--model-dir', models, '--data', data, '--categories', 'all', '--threads', '1');
  assert.equal(all.code, 0, all.err);
  const row = (name: string): number[] => {
    const line = all.out.split('\n').find((l) => l.startsWith(`${name} `))!;
    return line.trim().split(/ {2,}/).slice(2, 5).map(Number);
  };
  const rows = ['fabric', 'grid', 'wood'].map(row);
  const mean = row('mean (3)');
  for (let c = 0; c < 3; c++) {
    const expected = (rows[0]![c]! + rows[1]![c]! + rows[2]![c]!) / 3;
    assert.ok(Math.abs(mean[c]! - expected) <= 0.06, `column ${c}: ${mean[c]} vs ${expected}`); // of rounded rows
  }
  assert.match(all.err, /^\[2\/3 grid\] image AUROC /m);

  const json = await cli('test', '--model-dir', models, '--data', data, '--categories', 'fabric,grid', '--threads', '1', '--json');
  const lines = json.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number | string>);
  assert.equal(lines.length, 3);
  const m = lines[2]!;
  assert.equal(m.kind, 'mean');
  for (const key of ['image_auroc', 'pixel_auroc', 'aupro']) {
    assert.ok(Math.abs((m[key] as number) - ((lines[0]![key] as number) + (lines[1]![key] as number)) / 2) < 1e-12, key);
  }

  unlinkSync(join(models, 'grid.pflow'));
  const missing = await cli('test', '--model-dir', models, '--data', data, '--categories', 'fabric,grid', '--threads', '1', '--report', join(dir, 'reports'));
  assert.equal(missing.code, 1);
  assert.match(missing.out, /^grid +failed +- +- +-/m);
  assert.match(missing.out, /^mean \(1\) /m);
  assert.match(missing.out, /^failed: grid: .*grid\.pflow: no model file for grid$/m);
  assert.match(missing.out, /^report: fabric: .*reports\/fabric\/index\.html$/m);
});

test('the flags of one model and of many do not mix: one-line usage errors naming them', async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['train', '--data', data, '--categories', 'fabric', '--out', 'x.pflow'],
      /^pyramidflow: --categories writes one model file per category: give --out-dir DIR instead of --out\n$/,
    ],
    [['train', '--data', data, '--categories', 'fabric', '--out-dir', models, '--out', 'x.pflow'], /^pyramidflow: --out and --out-dir: give one/],
    [['train', '--data', data, '--out-dir', models], /^pyramidflow: --out-dir needs --categories/],
    [['train', '--data', data, '--categories', 'fabric', '--category', 'grid', '--out-dir', models], /^pyramidflow: --category and --categories: give one\n$/],
    [['train', '--data', data, '--categories', 'nope', '--out-dir', models], /^pyramidflow: --categories: no category nope in /],
    [['train', '--categories', 'fabric', '--out-dir', models], /^pyramidflow: --data is required\n$/],
    [
      ['test', '--data', data, '--categories', 'fabric', '--model', 'x.pflow'],
      /^pyramidflow: --categories tests one model file per category: give --model-dir DIR instead of --model\n$/,
    ],
    [['test', '--data', data, '--model-dir', models, '--model', 'x.pflow', '--categories', 'all'], /^pyramidflow: --model and --model-dir: give one/],
    [['test', '--data', data, '--model-dir', models], /^pyramidflow: --model-dir needs --categories/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
});
