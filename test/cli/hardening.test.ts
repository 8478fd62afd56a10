/**
 * Fail closed, lose nothing (the command line): `train --out` never destroys a user's file,
 * `--max-pixels` reaches every command that reads images and a 16000 x 16000 PNG is refused fast
 * with its size, `serve` takes its token, --insecure and --log-level from the option table, and
 * `predict` prints each image's result (or error) as it goes and exits 1 when one failed.
 * A tiny real model (32 x 32, 1 epoch) trains in about a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { defaultContext, type CliContext, type ServerModule } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/program.js';
import { resolveToken } from '../../src/server/auth.js';
import type { PredictResult } from '../../src/api/types.js';
import { argv, fakeContext, textBuffer, type Buffer } from './fake-context.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-cli-hardening-'));
const data = join(dir, 'data');
const good = join(data, 'fabric', 'test', 'good');
const model = join(dir, 'm.pflow');
const TINY = [
  '--data',
  data,
  '--category',
  'fabric',
  '--size',
  '32',
  '--channels',
  '4',
  '--kernel',
  '3',
  '--levels',
  '3',
  '--stack',
  '1',
  '--epochs',
  '1',
  '--threads',
  '1',
];
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-') || 'host';

type RealContext = CliContext & { stdout: Buffer; stderr: Buffer };
const realContext = (): RealContext => ({ ...defaultContext(), stdout: textBuffer(), stderr: textBuffer() });

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const ctx = realContext();
  const t0 = Date.now();
  const code = await runCli(argv(...args), ctx);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text, ms: Date.now() - t0 };
}

const lines = (text: string): string[] => text.split('\n').filter(Boolean);

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('setup: a tiny data set and model', async () => {
  const s = await cli('synth', '--out', data, '--categories', 'fabric', '--size', '32', '--train', '8', '--test-good', '3', '--test-defect', '2');
  assert.equal(s.code, 0, s.stderr);
  const t = await cli('train', ...TINY, '--out', model);
  assert.equal(t.code, 0, t.stderr);
});

test('train --out: a picture or a text file is never overwritten, even with --force; one line, exit code 1', async () => {
  const photo = join(dir, 'photo.png');
  copyFileSync(join(good, '000.png'), photo);
  const before = readFileSync(photo);
  for (const extra of [[], ['--force']]) {
    const r = await cli('train', ...TINY, '--out', photo, ...extra);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      `pyramidflow: ${photo} exists and is not a pyramidflow model file; refusing to overwrite it (even with --force): choose another name\n`,
    );
    assert.equal(r.stdout, '', 'no work was done');
    assert.deepEqual(readFileSync(photo), before);
  }
});

test('train --out an existing model: refused without --resume or --force; --force replaces it', async () => {
  const copy = join(dir, 'copy.pflow');
  copyFileSync(model, copy);
  const before = readFileSync(copy);
  const refused = await cli('train', ...TINY, '--out', copy);
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    `pyramidflow: ${copy} exists (a pyramidflow model file); give --resume to continue its training, --force to replace it with a new one, or choose another --out\n`,
  );
  assert.deepEqual(readFileSync(copy), before);
  const forced = await cli('train', ...TINY, '--out', copy, '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.notDeepEqual(readFileSync(copy), before);
  const help = await cli('train', '--help');
  assert.match(help.stdout, /--force\s+replace an existing model file at --out/);
});

test('train --out a folder fails at once, before any image is loaded', async () => {
  const folder = join(dir, 'out-folder');
  mkdirSync(folder);
  const r = await cli('train', ...TINY, '--out', folder);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `pyramidflow: ${folder} is a folder: give the pyramidflow model file a file name\n`);
  assert.doesNotMatch(r.stdout, /epoch/);
});

test('train removes stale temporary files of its output and notes how many', async () => {
  const out = join(dir, 'stale.pflow');
  const now = Date.now();
  const alive = `.stale.pflow.${HOST}.${process.pid}.${now}.tmp`; // a write of this process, in progress: kept
  writeFileSync(join(dir, `.stale.pflow.elsewhere.1.${now - 3 * 24 * 3600 * 1000}.tmp`), 'partial');
  writeFileSync(join(dir, alive), 'in progress');
  const r = await cli('train', ...TINY, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^removed 1 stale temporary file of .*stale\.pflow left by an interrupted write$/m);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('.stale.pflow.')),
    [alive],
  );
});

test('--max-pixels is an option of train, test, predict and calibrate, and reaches the library', async () => {
  const runs: Array<[string, string[]]> = [
    ['train', ['train', '--data', 'd', '--out', 'm.pflow']],
    ['test', ['test', '--model', 'm', '--data', 'd']],
    ['predict', ['predict', '--model', 'm', 'a.png']],
    ['calibrate', ['calibrate', '--model', 'm', '--good', 'g']],
  ];
  for (const [fn, args] of runs) {
    const ctx = fakeContext({
      [fn]: async () => {
        throw new Error('stop');
      },
    });
    await runCli(argv(...args, '--max-pixels', '1000'), ctx);
    const call = ctx.calls[0];
    assert.ok(call, fn);
    assert.equal((call.args[0] as { maxPixels?: number }).maxPixels, 1000, fn);
    const help = fakeContext();
    await runCli(argv(fn, '--help'), help);
    assert.match(help.stdout.text, /--max-pixels <n>\s+refuse an image of more pixels than this.*\(default\s+40000000\)/s, fn);
    const bad = fakeContext();
    assert.equal(await runCli(argv(...args, '--max-pixels', '0'), bad), 2, fn);
    assert.equal(bad.stderr.text, 'pyramidflow: --max-pixels must be >= 1 (got 0)\n');
  }
});

test('a 16000 x 16000 PNG (a small file) is refused fast with its size by predict, calibrate, train and test', async () => {
  const hugeDir = join(dir, 'huge');
  mkdirSync(hugeDir);
  const huge = join(hugeDir, 'huge.png');
  await sharp({ create: { width: 16000, height: 16000, channels: 3, background: '#808080' } })
    .png()
    .toFile(huge); // ~800 KB; making it is the slow part (seconds), refusing it takes milliseconds
  assert.ok(readFileSync(huge).length < 1_000_000, 'a small file');
  const message = /huge\.png is 16000 x 16000 = 256 MP, more than the limit of 40 MP \(--max-pixels\)/;

  const p = await cli('predict', '--model', model, huge);
  assert.equal(p.code, 1, p.stderr);
  assert.match(p.stderr, message);
  assert.match(p.stderr, /^pyramidflow: 1 of 1 images failed$/m);
  assert.ok(p.ms < 5000, `refused from the header, not decoded (${p.ms} ms)`);

  const c = await cli('calibrate', '--model', join(dir, 'copy.pflow'), '--good', hugeDir);
  assert.equal(c.code, 1);
  assert.match(c.stderr, message);

  // a data set with the huge image among the good training images, and among the test images
  const bigData = join(dir, 'big-data');
  cpSync(data, bigData, { recursive: true });
  copyFileSync(huge, join(bigData, 'fabric', 'train', 'good', 'huge.png'));
  copyFileSync(huge, join(bigData, 'fabric', 'test', 'good', 'huge.png'));
  const t = await cli('train', ...TINY, '--data', bigData, '--out', join(dir, 'big.pflow'));
  assert.equal(t.code, 1, t.stderr);
  assert.match(t.stderr, message);
  assert.doesNotMatch(t.stdout, /^epoch/m, 'before the first epoch');
  const e = await cli('test', '--model', model, '--data', bigData, '--category', 'fabric');
  assert.equal(e.code, 1);
  assert.match(e.stderr, message);
  // a higher limit lets the header check pass (sharp's own limit then follows it)
  const ctx = fakeContext({ predict: async () => [] });
  await runCli(argv('predict', '--model', model, huge, '--max-pixels', '300000000'), ctx);
  assert.equal((ctx.calls[0]!.args[0] as { maxPixels: number }).maxPixels, 300_000_000);
});

/** A server module whose startServer records what it was given; the real resolveToken. */
function fakeServer(received: unknown[]): () => Promise<ServerModule> {
  return async () => ({
    parseModelSpec: (spec: string) => ({ name: 'm', file: spec }),
    resolveToken,
    startServer: async (opts) => {
      received.push(opts);
      return { url: 'http://127.0.0.1:1' };
    },
  });
}

test('serve --token-file, --insecure and --log-level reach startServer', async () => {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 's3cret-token\n');
  chmodSync(tokenFile, 0o600);
  const received: unknown[] = [];
  const ctx = fakeContext({}, { loadServer: fakeServer(received) });
  const code = await runCli(argv('serve', '--model', 'm.pflow', '--host', '0.0.0.0', '--token-file', tokenFile, '--insecure', '--log-level', 'debug'), ctx);
  assert.equal(code, 0, ctx.stderr.text);
  assert.deepEqual(received, [{ host: '0.0.0.0', insecure: true, logLevel: 'debug', token: 's3cret-token', models: [{ name: 'm', file: 'm.pflow' }] }]);

  // the token from the environment
  const env = fakeContext({}, { loadServer: fakeServer(received) });
  env.env = { PYRAMIDFLOW_TOKEN: 'from-env' };
  assert.equal(await runCli(argv('serve', '--model', 'm.pflow'), env), 0, env.stderr.text);
  assert.deepEqual(received[1], { token: 'from-env', models: [{ name: 'm', file: 'm.pflow' }] });

  // no token, no flags: nothing is passed, the server's defaults apply (loopback only, log level info)
  const plain = fakeContext({}, { loadServer: fakeServer(received) });
  assert.equal(await runCli(argv('serve', '--model', 'm.pflow'), plain), 0);
  assert.deepEqual(received[2], { models: [{ name: 'm', file: 'm.pflow' }] });

  const help = fakeContext();
  await runCli(argv('serve', '--help'), help);
  assert.match(help.stdout.text, /--log-level <level>\s+level of the JSON log: fatal, error, warn, info/);
  assert.match(help.stdout.text, /--token-file <file>/);
  assert.match(help.stdout.text, /--insecure/);
  const level = fakeContext({}, { loadServer: fakeServer(received) });
  assert.equal(await runCli(argv('serve', '--model', 'm.pflow', '--log-level', 'loud'), level), 2);
  assert.match(level.stderr.text, /--log-level must be one of fatal, error, warn, info, debug, trace, silent \(got 'loud'\)/);
});

test('serve with a missing token file: one line naming it, exit code 1, no server started', async () => {
  const missing = join(dir, 'no-such-token');
  const received: unknown[] = [];
  const ctx = fakeContext({}, { loadServer: fakeServer(received) });
  assert.equal(await runCli(argv('serve', '--model', 'm.pflow', '--token-file', missing), ctx), 1);
  assert.equal(lines(ctx.stderr.text).length, 1, ctx.stderr.text);
  assert.match(ctx.stderr.text, new RegExp(`^pyramidflow: serve: cannot read the token file ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  assert.deepEqual(received, []);
});

test('predict on a folder with a truncated image: every other image is printed, the error too; exit code 1 and a summary', async () => {
  const imgs = join(dir, 'imgs');
  mkdirSync(imgs);
  for (const name of readdirSync(good)) copyFileSync(join(good, name), join(imgs, name));
  const broken = join(imgs, '001b.png');
  writeFileSync(broken, readFileSync(join(good, '001.png')).subarray(0, 300));

  const text = await cli('predict', '--model', model, imgs, '--out', join(dir, 'pred'));
  assert.equal(text.code, 1, text.stderr);
  const out = lines(text.stdout);
  assert.match(out[0]!, /^verdict\s+score\s+normalised\s+regions\s+file$/);
  for (const name of ['000.png', '001.png', '002.png'])
    assert.match(text.stdout, new RegExp(`^(good|defect)\\s+\\S+\\s+\\d\\.\\d{3}\\s+\\d+\\s+.*${name}$`, 'm'));
  assert.match(text.stdout, /^error\s+-\s+-\s+-\s+.*001b\.png$/m);
  assert.match(text.stdout, /^\d of 3 judged images look defective$/m);
  const errors = lines(text.stderr);
  assert.equal(errors.length, 2, text.stderr);
  assert.ok(errors[0]!.startsWith(`pyramidflow: Cannot read image "${broken}": the file is truncated or corrupt`), errors[0]);
  assert.equal(errors[1], 'pyramidflow: 1 of 4 images failed');

  const json = await cli('predict', '--model', model, imgs, '--json');
  assert.equal(json.code, 1);
  const objects = lines(json.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(objects.length, 4, 'one object per image, the failed one included');
  assert.deepEqual(Object.keys(objects[2]!), ['file', 'error']);
  assert.equal(objects[2]!.file, broken);
  assert.equal((objects[2]!.error as { code: string }).code, 'E_INPUT');
  assert.match((objects[2]!.error as { message: string }).message, /truncated or corrupt/);
  for (const i of [0, 1, 3]) assert.ok(typeof objects[i]!.score === 'number' && !('map' in objects[i]!));
  assert.deepEqual(lines(json.stderr), ['pyramidflow: 1 of 4 images failed']);

  const fine = await cli('predict', '--model', model, good);
  assert.equal(fine.code, 0, fine.stderr);
  assert.equal(fine.stderr, '');
});

test('predict: an image that could not be judged (E_NOT_JUDGED) is an error row, never good, and exit code 1', async () => {
  const results: PredictResult[] = [
    { file: 'a.png', width: 4, height: 4, score: 0.1, normalizedScore: 0.1, verdict: 'good', regions: [] },
    { file: 'b.png', error: { code: 'E_NOT_JUDGED', message: 'b.png: the anomaly score is NaN; the image could not be judged' } },
  ];
  const ctx = fakeContext({
    predict: async (_opts, onResult) => {
      results.forEach((r) => onResult?.(r));
      return results;
    },
  });
  assert.equal(await runCli(argv('predict', '--model', 'm', 'a.png', 'b.png'), ctx), 1);
  assert.match(ctx.stdout.text, /^error\s+-\s+-\s+-\s+b\.png$/m);
  assert.doesNotMatch(ctx.stdout.text, /^good.*b\.png$/m);
  assert.match(ctx.stdout.text, /^0 of 1 judged images look defective$/m);
  assert.deepEqual(lines(ctx.stderr.text), [
    'pyramidflow: b.png: the anomaly score is NaN; the image could not be judged',
    'pyramidflow: 1 of 2 images failed',
  ]);
});
