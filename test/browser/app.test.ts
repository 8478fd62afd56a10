/**
 * The in-browser training page (app/, built by scripts/build-app.mjs, served by the package's
 * server at /app) driven in Debian's Chromium through playwright-core, checked against the Node
 * library: a folder picked with the webkitdirectory input trains a model while the progress bar
 * and the loss curve move and the page stays responsive; a run stopped and continued gives the
 * weights of an uninterrupted one; scores and region counts of the page are Node's `predict`'s on
 * the downloaded file; the threshold slider re-decides verdicts and outlines at once (no new map);
 * a model trained by the Node API loads and scores as in Node; bad folders, images and model files
 * are messages naming the file while the trained model stays; no console error, nothing requested
 * outside the page's origin.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { predict, type PredictedImage, type PredictResult } from '../../src/api/index.js';
import { decodeSavedModel, type SavedModel } from '../../src/flow/saved-model.js';
import { appFixture, downloadModel, pickFolder, readCards, SIZE, waitTrained, type AppFixture } from './app-fixture.js';
import { chromiumSkip, launchChromium, openWatchedPage, serveStatic, type WatchedPage } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** 8 images: 7 trained on (3 steps an epoch), 1 held out; 12 steps = 4 epochs. */
const STEPS = 12;
let fx: AppFixture;
let browser: Browser;
let w: WatchedPage;
let uninterrupted: SavedModel;
let trainedFile: string;

before(async () => {
  if (chromiumSkip) return;
  fx = await appFixture();
  browser = await launchChromium();
  w = await openWatchedPage(browser, fx.url);
  await w.page.waitForSelector('body[data-ready=true]');
});
after(async () => {
  await w?.close();
  await browser?.close();
  await fx?.close();
});

const opts = { skip: chromiumSkip, timeout: 300_000 };
const same = (a: { data: Float32Array }, b: { data: Float32Array }): boolean =>
  a.data.length === b.data.length && a.data.every((v, i) => Object.is(v, b.data[i]));

/** A result of Node's predict that judged its image. */
function judged(r: PredictResult): PredictedImage {
  if (r.error) throw new Error(`Node could not judge ${r.file}: ${r.error.message}`);
  return r;
}

/** The page's score is Node's, up to float rounding of a different summation order. */
function assertClose(page: number, node: number, what: string): void {
  assert.ok(Math.abs(page - node) <= 1e-5 * Math.max(1, Math.abs(node)), `${what}: page ${page}, Node ${node}`);
}

/** The weights, running means, template and thresholds of two models are the same numbers. */
function assertSameModel(a: SavedModel, b: SavedModel): void {
  assert.deepEqual(Object.keys(a.params).sort(), Object.keys(b.params).sort());
  for (const k of Object.keys(a.params)) assert.ok(same(a.params[k]!, b.params[k]!), `weights ${k} differ`);
  for (const k of Object.keys(a.buffers)) assert.ok(same(a.buffers[k]!, b.buffers[k]!), `running means ${k} differ`);
  assert.equal(a.template?.length, b.template?.length);
  a.template!.forEach((t, i) => assert.ok(same(t, b.template![i]!), `template level ${i} differs`));
  assert.deepEqual(a.thresholds, b.thresholds);
  assert.deepEqual(a.training.lossPerEpoch, b.training.lossPerEpoch);
}

test("the page's code type-checks (app/tsconfig.json: strict, DOM types, the browser entry's types)", { timeout: 180_000 }, () => {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'app/tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc found errors in app/:\n${r.stdout}${r.stderr}`);
});

test('the page is cross-origin isolated at /app and states its defaults', opts, async () => {
  const { page } = w;
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.ok(await page.locator('#isolation-note').isHidden());
  assert.match((await page.textContent('#engine')) ?? '', /wasm-.*simd.*\d+ threads?/);
  assert.equal(await page.inputValue('#size'), '256');
  assert.equal(await page.inputValue('#steps'), '1500');
  assert.match((await page.textContent('#train-form')) ?? '', /default 256x256[\s\S]*default about 1,500 steps, at most 15 epochs/);
});

test('a picked folder trains: progress bar to the end, one curve point per step, a responsive page', opts, async () => {
  const { page } = w;
  await page.fill('#size', String(SIZE));
  await page.fill('#steps', String(STEPS));
  await pickFolder(page, fx.folders.good);
  assert.match((await page.textContent('#data-summary')) ?? '', /8 images of 32x32\. 7 to train on, 1 held out .* 4 epochs, 12 steps/);
  await page.click('#train');
  await page.waitForSelector('body[data-state=training]');
  // The main thread answers within a frame or so while the workers train.
  const worstGap = await page.evaluate(async () => {
    let worst = 0;
    for (let i = 0; i < 40; i++) {
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 0));
      worst = Math.max(worst, performance.now() - t);
    }
    return worst;
  });
  assert.ok(worstGap < 250, `the page froze for ${worstGap.toFixed(0)} ms while training`);
  await waitTrained(page);
  assert.equal(await page.$eval('#progress', (p) => [(p as HTMLProgressElement).value, (p as HTMLProgressElement).max].join('/')), `${STEPS}/${STEPS}`);
  const points = ((await page.getAttribute('#loss-line', 'points')) ?? '').trim().split(/\s+/);
  assert.equal(points.length, STEPS, 'one point of the loss curve per step');
  assert.ok(new Set(points.map((p) => p.split(',')[1])).size > 1, 'the curve is flat: the losses were not drawn');
  assert.match((await page.textContent('#model-summary')) ?? '', /32x32, trained/);
  const { bytes, name } = await downloadModel(page);
  assert.match(name, /\.pflow$/);
  uninterrupted = decodeSavedModel(bytes, name);
  assert.equal(uninterrupted.training.steps, STEPS);
  trainedFile = join(fx.root, 'page-trained.pflow');
  writeFileSync(trainedFile, bytes);
});

test('stopped mid-way the model is usable (inspect, download); continued, it equals the uninterrupted run', opts, async () => {
  const { page } = w;
  await page.click('#train');
  await page.waitForFunction(() => (document.getElementById('progress') as HTMLProgressElement).value >= 3);
  await page.click('#stop');
  await waitTrained(page, 'stopped');
  assert.match((await page.textContent('#model-summary')) ?? '', /stopped at step \d+/);
  assert.equal(await page.isEnabled('#continue'), true);
  const stopped = await downloadModel(page);
  const partial = decodeSavedModel(stopped.bytes, stopped.name);
  assert.ok(partial.training.steps > 0 && partial.training.steps < STEPS, `stopped at ${partial.training.steps}`);
  await page.setInputFiles('#test-files', fx.tests.defects[0]!);
  await page.waitForSelector('.result[data-score]');
  // Every value the progress bar takes while continuing: it goes on from the step reached, never from the start.
  await page.evaluate(() => {
    const bar = document.getElementById('progress') as HTMLProgressElement;
    const seen: number[] = [];
    (window as unknown as { seenSteps: number[] }).seenSteps = seen;
    new MutationObserver(() => seen.push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
  });
  await page.click('#continue');
  await waitTrained(page);
  const seen = await page.evaluate(() => (window as unknown as { seenSteps: number[] }).seenSteps);
  assert.ok(seen.length > 0 && Math.min(...seen.filter((v) => v > 0)) > partial.training.steps, `continued from ${partial.training.steps}: ${seen}`);
  const continued = await downloadModel(page);
  assertSameModel(decodeSavedModel(continued.bytes, continued.name), uninterrupted);
  const points = ((await page.getAttribute('#loss-line', 'points')) ?? '').trim().split(/\s+/);
  assert.equal(points.length, STEPS, 'the curve goes on across stop and continue');
});

test("scores and regions are Node's predict on the downloaded model; the slider re-decides at once", opts, async () => {
  const { page } = w;
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  await page.setInputFiles('#model-file', trainedFile);
  await page.waitForSelector('body[data-state=trained]');
  const images = [fx.tests.good, ...fx.tests.defects];
  await page.setInputFiles('#test-files', images);
  await page.waitForFunction((n) => document.querySelectorAll('.result[data-score]').length === n, images.length);
  const node = (await predict({ model: trainedFile, inputs: images, threads: 1 })).map(judged);
  const cards = await readCards(page);
  for (const [i, card] of cards.entries()) {
    const want = node[i]!;
    assertClose(card.score, want.score, `${images[i]}`);
    assert.equal(card.verdict, want.verdict, card.name);
    assert.equal(card.regions, want.regions.length, `${card.name}: regions`);
    assert.equal(card.outlinePixels > 0, card.regions > 0, `${card.name}: an outline is drawn exactly when there are regions`);
  }
  // The slider: decided in the same task as the input event, so from the kept maps (a new map takes a worker round trip).
  // (No named functions inside evaluate: tsx's __name helper does not exist in the page.)
  const decided = await page.evaluate(() => {
    const slider = document.getElementById('threshold') as HTMLInputElement;
    const seen: string[][] = [];
    for (const value of [slider.min, slider.max]) {
      slider.value = value;
      slider.dispatchEvent(new Event('input'));
      seen.push([...document.querySelectorAll<HTMLElement>('.result')].map((c) => `${c.dataset.verdict}/${c.dataset.regions}`));
    }
    return { low: seen[0]!, high: seen[1]! };
  });
  assert.ok(
    decided.low.every((d) => d.startsWith('defect/') && d !== 'defect/0'),
    `at the lowest threshold: ${decided.low}`,
  );
  assert.ok(
    decided.high.every((d) => d.startsWith('good/')),
    `at the highest threshold: ${decided.high}`,
  );
  const lowOutlines = await readCards(page);
  await page.click('#threshold-reset');
  assert.deepEqual(
    (await readCards(page)).map((c) => c.verdict),
    cards.map((c) => c.verdict),
  );
  assert.equal(lowOutlines.length, cards.length);
});

test('bad input: a message naming the file, and the trained model kept', opts, async () => {
  const { page } = w;
  const before = await downloadModel(page);
  const summary = await page.textContent('#model-summary');
  const message = async (): Promise<string> => (await page.textContent('#messages')) ?? '';
  await pickFolder(page, fx.folders.broken);
  assert.match(await message(), /"broken" cannot be trained on[\s\S]*broken\.png/);
  await pickFolder(page, fx.folders.mixed);
  assert.match(await message(), /not all one size: 4 are 32x32 .*; 1 is 48x48 \(odd-size\.png\)/);
  await pickFolder(page, fx.folders.few);
  assert.match(await message(), /"few" holds only 2 images; training needs at least 3/);
  assert.equal(await page.isEnabled('#train'), false, 'training is offered on a refused folder');
  await page.setInputFiles('#model-file', fx.notModel);
  await page.waitForFunction(() => document.body.dataset.state === 'trained' && document.getElementById('messages')!.textContent !== '');
  assert.match(await message(), /notes\.pflow is not a model this page can use: .+ The model you had is kept\./);
  const count = (await readCards(page)).length;
  await page.setInputFiles('#test-files', [fx.tests.notImage, fx.tests.defects[1]!]);
  await page.waitForFunction(
    (n) => document.querySelectorAll('.result[data-score]').length === n && /notes\.png/.test(document.getElementById('messages')!.textContent ?? ''),
    count + 1,
  );
  assert.match(await message(), /notes\.png: not an image/);
  assert.equal(await page.textContent('#model-summary'), summary);
  const after = await downloadModel(page);
  assertSameModel(decodeSavedModel(after.bytes, 'after'), decodeSavedModel(before.bytes, 'before'));
});

test("a model trained by the Node API loads and scores as Node's predict does", opts, async () => {
  const { page } = w;
  await page.setInputFiles('#model-file', fx.cliModel);
  await page.waitForFunction(() => /cli-model\.pflow/.test(document.getElementById('model-summary')!.textContent ?? ''));
  await page.waitForFunction(() => document.body.dataset.state === 'trained');
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLElement>('.result')].every((c) => c.dataset.verdict));
  // The cards so far, in order: the good image and both defects, then the second defect again (bad-input test).
  const files = [fx.tests.good, ...fx.tests.defects, fx.tests.defects[1]!];
  const cards = await readCards(page);
  assert.equal(cards.length, files.length);
  const node = (await predict({ model: fx.cliModel, inputs: files, threads: 1 })).map(judged);
  cards.forEach((card, i) => {
    assertClose(card.score, node[i]!.score, files[i]!);
    assert.equal(card.verdict, node[i]!.verdict, files[i]);
    assert.equal(card.regions, node[i]!.regions.length, files[i]);
  });
  assert.equal(await page.isEnabled('#continue'), false, 'a loaded finished model has nothing to continue');
});

test('drag and drop: images dropped on the folder zone are read as a folder, on the inspect zone inspected', opts, async () => {
  const { page } = w;
  const files = [...fx.tests.defects, fx.tests.good].map((f, i) => ({ name: `dropped-${i}.png`, bytes: [...readFileSync(f)] }));
  const transfer = (list: typeof files) =>
    page.evaluateHandle((items) => {
      const dt = new DataTransfer();
      for (const item of items) dt.items.add(new File([new Uint8Array(item.bytes)], item.name, { type: 'image/png' }));
      return dt;
    }, list);
  await page.dispatchEvent('#folder-drop', 'drop', { dataTransfer: await transfer(files) });
  await page.waitForFunction(() => /^images: 3 images of 32x32/.test(document.getElementById('data-summary')!.textContent ?? ''));
  const before = (await readCards(page)).length;
  await page.dispatchEvent('#test-drop', 'drop', { dataTransfer: await transfer(files.slice(0, 1)) });
  await page.waitForFunction((n) => document.querySelectorAll('.result[data-score]').length === n, before + 1);
  const dropped = (await readCards(page)).at(-1)!;
  assert.equal(dropped.name, 'dropped-0.png');
  assertClose(dropped.score, (await readCards(page))[1]!.score, 'the same image dropped and picked');
});

test('no console error, no request outside the origin', opts, () => {
  assert.deepEqual(w.problems, []);
  assert.deepEqual(w.foreign, []);
});

test('served without the isolation headers, the page says it runs on one thread', opts, async () => {
  const site = join(fx.root, 'site');
  const server = await serveStatic({ '/': { file: join(site, 'index.html') } }, { isolated: false, folders: { '/': site } });
  const plain = await openWatchedPage(browser, `${server.origin}/`);
  try {
    await plain.page.waitForSelector('body[data-ready=true]');
    assert.match((await plain.page.textContent('#isolation-note')) ?? '', /one thread/);
    assert.ok(await plain.page.locator('#isolation-note').isVisible());
    assert.match((await plain.page.textContent('#engine')) ?? '', /1 thread\b/);
  } finally {
    await plain.close();
    await server.close();
  }
});
