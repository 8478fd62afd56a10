import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileSystem, removeStaleTemporaries, writeFileAtomic } from '../../src/util/atomic-file.js';
import { checkOutputFile } from '../../src/util/output-file.js';
import { PyramidFlowError } from '../../src/util/errors.js';

const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-') || 'host';
const dir = (): string => mkdtempSync(join(tmpdir(), 'pf-atomic-'));

test('a full disk is reported with the file being written, and leaves no temporary file', () => {
  const d = dir();
  const target = join(d, 'model.pflow');
  writeFileSync(target, 'old');
  const real = fileSystem.writeFileSync;
  fileSystem.writeFileSync = ((path: string) => {
    writeFileSync(path, 'partial');
    throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
  }) as typeof fileSystem.writeFileSync;
  try {
    assert.throws(
      () => writeFileAtomic(target, 'new'),
      (e: Error) => e instanceof PyramidFlowError && e.message === `cannot write ${target}: the disk is full`,
    );
  } finally {
    fileSystem.writeFileSync = real;
  }
  assert.equal(readFileSync(target, 'utf8'), 'old');
  assert.deepEqual(readdirSync(d), ['model.pflow']);
});

test('stale temporaries of an output are removed: dead processes of this host, anything older than a day', () => {
  const d = dir();
  const target = join(d, 'm.pflow');
  // A process that has exited: its pid is free (or reused by something that is not writing here).
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const now = Date.now();
  const names = {
    deadHere: `.m.pflow.${HOST}.${gone}.${now}.tmp`,
    aliveHere: `.m.pflow.${HOST}.${process.pid}.${now}.tmp`,
    otherHostFresh: `.m.pflow.elsewhere.${gone}.${now}.tmp`,
    otherHostOld: `.m.pflow.elsewhere.123.${now - 2 * 24 * 3600 * 1000}.tmp`,
    legacyDead: `.m.pflow.${gone}.${now}.tmp`,
    otherOutput: `.n.pflow.${HOST}.${gone}.${now}.tmp`,
  };
  for (const n of Object.values(names)) writeFileSync(join(d, n), 'x');
  const removed = removeStaleTemporaries(target, now)
    .map((p) => p.slice(d.length + 1))
    .sort();
  assert.deepEqual(removed, [names.deadHere, names.legacyDead, names.otherHostOld].sort());
  assert.deepEqual(readdirSync(d).sort(), [names.aliveHere, names.otherHostFresh, names.otherOutput].sort());
});

const modelRule = { kind: 'pyramidflow model file', recognise: (h: Uint8Array) => new TextDecoder().decode(h.subarray(0, 7)) === 'PYRFLOW' };

test('an existing output is replaced only when asked, and never when it is not ours', () => {
  const d = dir();
  const ours = join(d, 'a.pflow');
  writeFileSync(ours, 'PYRFLOW\0rest');
  const theirs = join(d, 'photo.png');
  writeFileSync(theirs, '\x89PNG....');
  assert.equal(checkOutputFile(join(d, 'new.pflow'), modelRule), false);
  assert.throws(() => checkOutputFile(ours, modelRule), /a\.pflow exists; give --force to replace it/);
  assert.equal(checkOutputFile(ours, { ...modelRule, force: true }), true);
  assert.equal(checkOutputFile(ours, { ...modelRule, resume: true }), true);
  assert.throws(
    () => checkOutputFile(theirs, { ...modelRule, force: true }),
    /photo\.png exists and is not a pyramidflow model file; refusing to overwrite it/,
  );
  mkdirSync(join(d, 'folder.pflow'));
  assert.throws(() => checkOutputFile(join(d, 'folder.pflow'), { ...modelRule, force: true }), /folder\.pflow is a folder/);
  assert.equal(checkOutputFile(join(d, 'deep', 'er', 'x.pflow'), modelRule), false, 'missing folders are created');
});

test('an output folder that cannot be created is named before any work', () => {
  const d = dir();
  const file = join(d, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(
    () => checkOutputFile(join(file, 'x.pflow'), modelRule),
    (e: Error) => e instanceof PyramidFlowError && e.message.startsWith(`cannot write ${join(file, 'x.pflow')}: `),
  );
});
