/**
 * The README's ONNX Runtime example (docs/examples/onnx-node.mjs, quoted in the README word for
 * word) run as a user would on an exported model: the same score and verdict as `predict`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synth, train, predict, exportModel } from '../../src/api/index.js';

const root = new URL('../../', import.meta.url);
const example = new URL('docs/examples/onnx-node.mjs', root);

test('the README quotes the example as it is', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  assert.ok(readme.includes(readFileSync(example, 'utf8').trim()), 'README.md must contain docs/examples/onnx-node.mjs verbatim');
});

test("the example gives predict's score and verdict for every test image; safetensors export follows the output rule", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-onnx-example-'));
  try {
    const data = join(dir, 'data');
    await synth({ out: data, categories: ['fabric'], size: 32, train: 6, testGood: 2, testDefect: 2, seed: 4 });
    const model = join(dir, 'm.pflow');
    await train({ data, category: 'fabric', out: model, size: 32, channels: 2, kernel: 3, levels: 2, stacks: 1, epochs: 1, threads: 1 });
    const onnx = join(dir, 'm.onnx');
    await exportModel({ model, format: 'onnx', out: onnx });
    // The same model as safetensors, under the same output rule.
    const st = join(dir, 'm.safetensors');
    const written = await exportModel({ model, format: 'safetensors', out: st });
    assert.ok(written.outputs.includes('inconv.weight') && written.bytes > 0);
    await assert.rejects(exportModel({ model, format: 'safetensors', out: st }), /m\.safetensors exists; give --force/);
    await exportModel({ model, format: 'safetensors', out: st, force: true });
    await assert.rejects(exportModel({ model, format: 'safetensors', out: onnx, force: true }), /m\.onnx exists and is not a safetensors file/);
    const testDir = join(data, 'fabric', 'test');
    const results = await predict({ model, inputs: readdirSync(testDir).map((d) => join(testDir, d)), threads: 1 });
    assert.ok(results.length >= 4);
    for (const r of results) {
      if (r.error) assert.fail(r.error.message);
      const run = spawnSync(process.execPath, [example.pathname, onnx, r.file], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const out = JSON.parse(run.stdout) as { score: number; verdict: string; map: number[] };
      assert.ok(Math.abs(out.score - r.score) <= 1e-4 * Math.abs(r.score), `${r.file}: ${out.score} vs ${r.score}`);
      assert.equal(out.verdict, r.verdict, r.file);
      assert.deepEqual(out.map, [1, 1, 32, 32]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
