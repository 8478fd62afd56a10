/**
 * Screenshots of the in-browser training page before, during and after training, for people to
 * look at (not a test): the site built into a temporary folder and served at /app by the
 * package's server, a synthetic fabric data set, Chromium through playwright-core.
 *   before.png  the folder picked, the plan of the training shown, nothing trained yet
 *   during.png  training: the progress bar and the loss curve part-way
 *   after.png   trained, defect images inspected: heat maps, outlines, scores, verdicts
 * Usage: node --import tsx scripts/app-screenshots.ts [out-dir] [--size N] [--steps N]
 *        (default /tmp/shots, 128 px, 120 steps)
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { appFixture, pickFolder, waitTrained } from '../test/browser/app-fixture.js';
import { launchChromium, openWatchedPage } from '../test/browser/harness.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { size: { type: 'string', default: '128' }, steps: { type: 'string', default: '120' } },
});
const out = resolve(positionals[0] ?? '/tmp/shots');
const size = Number(values.size);
mkdirSync(out, { recursive: true });

const fx = await appFixture({ size, goodImages: 24, defectImages: 4, cliEpochs: 0 });
const browser = await launchChromium();
try {
  const w = await openWatchedPage(browser, fx.url);
  const { page } = w;
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.waitForSelector('body[data-ready=true]');
  await page.fill('#size', String(size));
  await page.fill('#steps', values.steps!);
  await pickFolder(page, fx.folders.good);
  await page.screenshot({ path: join(out, 'before.png'), fullPage: true });

  await page.click('#train');
  const steps = Number(values.steps);
  await page.waitForFunction((half) => (document.getElementById('progress') as HTMLProgressElement).value >= half, Math.ceil(steps / 2), { timeout: 600_000 });
  await page.screenshot({ path: join(out, 'during.png'), fullPage: true });

  await waitTrained(page, 'trained', 900_000);
  await page.setInputFiles('#test-files', [fx.tests.good, ...fx.tests.defects]);
  await page.waitForFunction((n) => document.querySelectorAll('.result[data-score]').length === n, 1 + fx.tests.defects.length);
  await page.screenshot({ path: join(out, 'after.png'), fullPage: true });
  console.log(`screenshots in ${out}: before.png, during.png, after.png`);
  if (w.problems.length > 0 || w.foreign.length > 0) console.log('page problems:', [...w.problems, ...w.foreign]);
  await w.close();
} finally {
  await browser.close();
  await fx.close();
}
