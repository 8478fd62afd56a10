// Lint and format: `npm run lint` (Biome, biome.json: format check and lint, no writes) reports
// nothing at all, not even an info. `npm run format` fixes the formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('npm run lint reports no diagnostic', () => {
  const windows = process.platform === 'win32';
  const args = ['run', '--silent', 'lint', '--', '--reporter=summary', '--colors=off'];
  const r = spawnSync(windows ? 'npm.cmd' : 'npm', args, { cwd: root, encoding: 'utf8', shell: windows });
  const output = `${r.stdout}${r.stderr}`;
  const found = [...output.matchAll(/Found (\d+) (errors?|warnings?|infos?)\./g)].map((m) => `${m[1]} ${m[2]}`);
  // The summary reporter lists the files to format, then a table of the lint rules violated.
  const toFormat = /need to be formatted:\n([\s\S]*?)\n\s*\n/.exec(output)?.[1] ?? '';
  const files = toFormat.split('\n').filter((line) => line.trim().startsWith('- ')).length;
  const rules = /Rule Name[^\n]*\n\s*\n([\s\S]*?)\n\s*\n/.exec(output)?.[1] ?? '';
  const message = `npm run lint: ${found.join(', ')}; ${files} files need formatting (npm run format)\n${rules}\n\n${output.slice(-6000)}`;
  assert.deepEqual(found, [], message);
  assert.equal(r.status, 0, output);
});
