/**
 * A model that cannot judge is refused, and files that are not ours are never written over by
 * `test`: a NaN in the weights or the template (with a valid checksum) is refused at load by the
 * library and so by the CLI and the server; `test --report` and `--maps` refuse to replace a file
 * that is not an earlier report or map, before any image is evaluated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synth, train, test as evaluateModel, predict, loadDetector, type TrainOptions } from '../../src/api/index.js';
import { readModelFile, saveModelFile } from '../../src/api/model-files.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-fail-closed-'));
const data = join(dir, 'data');
const model = join(dir, 'm.pflow');
const opts: TrainOptions = { data, category: 'fabric', out: model, size: 32, channels: 2, kernel: 3, levels: 2, stacks: 1, epochs: 1, batch: 2, threads: 1 };
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('setup: a tiny model', async () => {
  await synth({ out: data, categories: ['fabric'], size: 32, train: 6, testGood: 2, testDefect: 2, seed: 3 });
  await train(opts);
});

test('a model whose weights or template hold NaN or Infinity is refused at load, naming the file and the part', async () => {
  const saved = readModelFile(model);
  const cases: Array<[string, () => void, RegExp]> = [
    [
      'a weight',
      () => {
        saved.params['inconv.weight']!.data[0] = Number.NaN;
      },
      /inconv\.weight holds values that are not finite/,
    ],
    [
      'the template',
      () => {
        saved.template![1]!.data[3] = Number.POSITIVE_INFINITY;
      },
      /the template's level 1 holds values that are not finite/,
    ],
  ];
  for (const [what, spoil, message] of cases) {
    const copy = readModelFile(model);
    Object.assign(saved, copy);
    spoil();
    const bad = join(dir, `bad-${what.replace(/\W/g, '')}.pflow`);
    saveModelFile(bad, saved);
    await assert.rejects(loadDetector(bad, { threads: 1 }), (e: Error) => e.message.startsWith(`${bad}: `) && message.test(e.message), what);
    await assert.rejects(predict({ model: bad, inputs: [join(data, 'fabric', 'test', 'good')], threads: 1 }), message, what);
  }
});

test('test refuses to write its report or maps over a file that is not ours, before any work, and replaces its own', async () => {
  const report = join(dir, 'report');
  mkdirSync(report, { recursive: true });
  writeFileSync(join(report, 'index.html'), '<html>my own page</html>');
  const base = { model, data, category: 'fabric', threads: 1 };
  await assert.rejects(evaluateModel({ ...base, report }), /index\.html exists and is not a pyramidflow report; refusing to overwrite it: choose another name/);
  assert.equal(readFileSync(join(report, 'index.html'), 'utf8'), '<html>my own page</html>');
  const fresh = join(dir, 'report2');
  const first = await evaluateModel({ ...base, report: fresh });
  const again = await evaluateModel({ ...base, report: fresh });
  assert.equal(again.reportFile, first.reportFile, 'an earlier report of ours is replaced');
  const maps = join(dir, 'maps');
  const target = join(maps, 'fabric', 'test', 'good', '000.tiff');
  mkdirSync(join(maps, 'fabric', 'test', 'good'), { recursive: true });
  writeFileSync(target, 'not a map');
  await assert.rejects(evaluateModel({ ...base, maps }), /000\.tiff exists and is not a TIFF map; refusing to overwrite it/);
  assert.equal(readFileSync(target, 'utf8'), 'not a map');
});
