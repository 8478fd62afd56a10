// The documented API: TypeDoc builds the reference from src/index.ts without a single warning
// (typedoc.json: every exported function, type and field documented, no broken link, nothing
// referenced that is not exported), and docs/model-file.md agrees with the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeModelFile, FORMAT_VERSION } from '../../src/flow/model-file.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('typedoc.json keeps the reference strict: warnings fail, undocumented exports warn', () => {
  // typedoc.json may hold // comments (TypeDoc reads it as JSONC).
  const text = readFileSync(`${root}typedoc.json`, 'utf8').replace(/^\s*\/\/.*$/gm, '');
  const config = JSON.parse(text) as { entryPoints: string[]; treatWarningsAsErrors: boolean; validation: Record<string, boolean> };
  assert.deepEqual(config.entryPoints, ['src/index.ts', 'src/browser/index.ts']);
  assert.equal(config.treatWarningsAsErrors, true);
  for (const check of ['notExported', 'invalidLink', 'notDocumented']) assert.equal(config.validation[check], true, check);
});

test('the API reference builds without warnings (npm run docs, without writing)', () => {
  const bin = `${root}node_modules/typedoc/bin/typedoc`;
  const { FORCE_COLOR: _, ...env } = process.env; // plain text: no colour codes in the lines matched below
  const r = spawnSync(process.execPath, [bin, '--emit', 'none'], { cwd: root, encoding: 'utf8', env: { ...env, NO_COLOR: '1' } });
  const output = `${r.stdout}${r.stderr}`;
  const problems = output
    .split('\n')
    .filter((line) => /^\[(warning|error)\]/.test(line) && !/^\[(warning|error)\] Found \d+ errors? and \d+ warnings?/.test(line));
  // Grouped by the file TypeDoc names, so that each owner sees theirs.
  const byFile = new Map<string, string[]>();
  for (const line of problems) {
    const file = /defined in [^/\s]+\/(\S+?),/.exec(line)?.[1] ?? 'other';
    byFile.set(file, [...(byFile.get(file) ?? []), line]);
  }
  const report = [...byFile].map(([file, lines]) => `${file} (${lines.length}):\n  ${lines.join('\n  ')}`).join('\n');
  assert.equal(problems.length, 0, `${problems.length} TypeDoc warnings:\n${report}`);
  assert.equal(r.status, 0, `typedoc failed:\n${output}`);
});

test('docs/model-file.md: the documented version and the worked example are what the code writes', () => {
  const spec = readFileSync(`${root}docs/model-file.md`, 'utf8');
  assert.match(spec, new RegExp(`format version \\*\\*${FORMAT_VERSION}\\*\\*`));
  // The hex dump of the worked example: "offset  bytes  meaning" lines inside the ```text block.
  const block = /```text\n([\s\S]*?)```/.exec(spec)?.[1] ?? '';
  const bytes: number[] = [];
  for (const line of block.split('\n').slice(1)) {
    const m = /^([0-9a-f]{6}) {2}((?:[0-9a-f]{2} )*[0-9a-f]{2})/.exec(line);
    if (!m) continue;
    assert.equal(Number.parseInt(m[1]!, 16), bytes.length, `offset of: ${line}`);
    bytes.push(...m[2]!.split(' ').map((h) => Number.parseInt(h, 16)));
  }
  assert.deepEqual(bytes, Array.from(encodeModelFile({ w: Float32Array.from([1, -2]) })));
});
