import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainOptions } from '../../src/api/types.js';
import { runCli } from '../../src/cli/program.js';
import type { SynthOptions } from '../../src/cli/context.js';
import { fakeTestResult } from '../report/fixture.js';
import { argv, fakeContext } from './fake-context.js';

test('demo: synthesise, train on the written category, test with a report, say what is next', async () => {
  const out = mkdtempSync(join(tmpdir(), 'pyramidflow-demo-'));
  try {
    let trained: TrainOptions | undefined;
    const ctx = fakeContext(
      {
        train: async (opts) => {
          trained = opts;
          return {} as never;
        },
        test: async (opts) => ({ ...fakeTestResult(), reportFile: `${opts.report}/index.html` }),
      },
      {
        synthesize: async (opts: SynthOptions) => ({
          out: opts.out,
          categories: [{ name: 'stripes', kind: 'texture', train: 48, testGood: 12, testDefect: 12, defectTypes: ['hole'] }],
        }),
      },
    );
    const code = await runCli(argv('demo', '--out', out, '--minutes', '0.5'), ctx);
    assert.equal(code, 0, ctx.stderr.text);
    assert.deepEqual(
      ctx.calls.map((c) => c.fn),
      ['synthesize', 'train', 'test'],
      'test() writes the report',
    );
    assert.equal((ctx.calls[2]!.args[0] as { report?: string }).report, join(out, 'report'));
    assert.equal(trained?.category, 'stripes');
    assert.equal(trained?.data, join(out, 'data'));
    assert.equal(trained?.out, join(out, 'model.pflow'));
    assert.ok((trained?.epochs ?? 0) >= 2);
    assert.ok(ctx.stdout.text.includes(`report: ${join(out, 'report')}/index.html`), ctx.stdout.text);
    assert.match(ctx.stdout.text, /Next, with your own images:/);
    assert.match(ctx.stdout.text, /image AUROC 90\.0%/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
