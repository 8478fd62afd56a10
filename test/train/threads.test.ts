/**
 * Training does not depend on the number of kernel threads: the same seed gives bit-identical
 * weights on 1 and 2 threads, for both volume norms, plain and memory-saving (a browser worker
 * pool of another size must reproduce a Node run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synth, train } from '../../src/api/index.js';
import { readModelFile } from '../../src/api/model-files.js';
import type { StateDict } from '../../src/flow/state.js';

test('the same weights on 1 and 2 threads (cvn and svn, plain and memory saving)', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-threads-'));
  try {
    const data = join(dir, 'data');
    await synth({ out: data, categories: ['fabric'], size: 128, train: 6, testGood: 1, testDefect: 1, seed: 2 });
    for (const volumeNorm of ['cvn', 'svn'] as const) {
      for (const saveMemory of [false, true]) {
        const weights: StateDict[] = [];
        for (const threads of [1, 2]) {
          const out = join(dir, `${volumeNorm}-${saveMemory}-${threads}.pflow`);
          await train({ data, category: 'fabric', out, size: 128, channels: 8, kernel: 7, levels: 3, stacks: 1, epochs: 2, threads, volumeNorm, saveMemory });
          weights.push(readModelFile(out).params);
        }
        const [one, two] = weights;
        for (const [name, p] of Object.entries(one!)) {
          assert.deepEqual(two![name]!.data, p.data, `${volumeNorm}, memory saving ${saveMemory}: ${name} differs between 1 and 2 threads`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
