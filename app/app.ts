/**
 * The in-browser training page (index.html): pick a folder of good images, train a PyramidFlow
 * model in the engine's workers while a progress bar and the loss curve move, stop and continue,
 * inspect test images (heat map, region outlines, score, verdict; a threshold slider re-decides
 * them from the kept maps), download the model or load one trained by the CLI. It uses the
 * browser entry only. It fails closed: a bad folder, image or model file is a message in the page
 * naming the file, and the model already trained stays as it was.
 */
import { createEngine } from '../src/browser/index.js';
import type { BrowserEngine, BrowserModel, BrowserTrainProgress, NamedImage } from '../src/browser/types.js';
import { LossCurve } from './curve.js';
import { checkFolder, filesOfDrop, filesOfInput, type GoodImages, someNames } from './images.js';
import { dropZone, Messages, showModel, stepsPlan } from './page-parts.js';
import { ResultList } from './results.js';
import { pixelThresholdFor } from './overlay.js';

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  engine: byId<HTMLElement>('engine'),
  note: byId<HTMLElement>('isolation-note'),
  folder: byId<HTMLInputElement>('folder'),
  folderDrop: byId<HTMLElement>('folder-drop'),
  dataSummary: byId<HTMLElement>('data-summary'),
  form: byId<HTMLFormElement>('train-form'),
  size: byId<HTMLInputElement>('size'),
  steps: byId<HTMLInputElement>('steps'),
  train: byId<HTMLButtonElement>('train'),
  stop: byId<HTMLButtonElement>('stop'),
  continue: byId<HTMLButtonElement>('continue'),
  progress: byId<HTMLProgressElement>('progress'),
  progressText: byId<HTMLElement>('progress-text'),
  modelSummary: byId<HTMLElement>('model-summary'),
  download: byId<HTMLButtonElement>('download'),
  modelFile: byId<HTMLInputElement>('model-file'),
  testDrop: byId<HTMLElement>('test-drop'),
  testFiles: byId<HTMLInputElement>('test-files'),
  threshold: byId<HTMLInputElement>('threshold'),
  thresholdValue: byId<HTMLOutputElement>('threshold-value'),
  thresholdReset: byId<HTMLButtonElement>('threshold-reset'),
  results: byId<HTMLElement>('results'),
};
const messages = new Messages(byId('messages'));
const results = new ResultList(ui.results);
const curve = new LossCurve(document.getElementById('loss-line') as unknown as SVGPolylineElement, {
  max: document.getElementById('loss-max') as unknown as SVGTextElement,
  min: document.getElementById('loss-min') as unknown as SVGTextElement,
  steps: document.getElementById('loss-steps') as unknown as SVGTextElement,
});

/** What the page holds: the engine, the checked good images, the model, a training in progress. */
const state: {
  engine?: BrowserEngine;
  good?: GoodImages;
  model?: BrowserModel;
  /** The images `model` was trained on (what Continue trains on again). */
  trainedOn?: GoodImages;
  running?: AbortController;
  busy: boolean;
} = { busy: false };

/** Enables what can be done now. */
function refresh(): void {
  const { engine, good, model, running, busy } = state;
  ui.train.disabled = !engine || !good || busy;
  ui.stop.disabled = !running || running.signal.aborted;
  ui.continue.disabled = !engine || busy || !model || model.finished || !state.trainedOn;
  ui.download.disabled = !model || busy;
  ui.modelFile.disabled = !engine || busy;
  ui.testFiles.disabled = !model || busy;
  ui.threshold.disabled = !model || busy;
  ui.thresholdReset.disabled = !model || busy;
  ui.folder.disabled = busy;
  document.body.dataset.state = running ? 'training' : busy ? 'busy' : model ? (model.finished ? 'trained' : 'stopped') : 'idle';
  if (good)
    ui.dataSummary.textContent = `${good.folder}: ${good.images.length} images of ${good.width}x${good.height}. ${stepsPlan(good.images.length, Number(ui.steps.value)).text}`;
}

/** The thresholds the slider stands for now. */
function decision(): { image: number; pixel: number } {
  const model = state.model!;
  const image = Number(ui.threshold.value);
  return { image, pixel: pixelThresholdFor(image, model.thresholds) };
}

/** Sets the slider's range and value for a model (its own threshold) and re-decides every card. */
function setThresholdRange(model: BrowserModel): void {
  const t = model.thresholds.image;
  const scores = results.cards.map((c) => c.score ?? 0);
  const top = Math.max(2 * t, ...scores.map((s) => 1.1 * s), 1e-6);
  ui.threshold.min = '0';
  ui.threshold.max = String(top);
  ui.threshold.step = String(top / 1000);
  ui.threshold.value = String(t);
  onThreshold();
}

/** Widens the slider to the highest score shown, keeping its value. */
function widenThresholdRange(): void {
  const top = Math.max(Number(ui.threshold.max), ...results.cards.map((c) => 1.1 * (c.score ?? 0)));
  ui.threshold.max = String(top);
  ui.threshold.step = String(top / 1000);
}

function onThreshold(): void {
  if (!state.model) return;
  const d = decision();
  ui.thresholdValue.textContent = d.image.toPrecision(4);
  results.decide(d);
}

/** Makes `model` the page's model (freeing the one it replaces) and inspects the test images again with it. */
async function adopt(model: BrowserModel, trainedOn: GoodImages | undefined): Promise<void> {
  const old = state.model;
  state.model = model;
  state.trainedOn = trainedOn;
  if (old && old.id !== model.id) await state.engine!.releaseModel(old).catch(() => undefined);
  showModel(ui.modelSummary, model);
  await results.again(state.engine!, model, decision);
  setThresholdRange(model);
}

function onProgress(p: BrowserTrainProgress): void {
  if (p.kind === 'decode') {
    ui.progressText.textContent = `Reading images: ${p.done ?? 0} of ${p.total ?? '?'}`;
    return;
  }
  if (p.kind === 'finish') {
    ui.progressText.textContent = 'Computing the template and calibrating the thresholds on the held-out images…';
    return;
  }
  ui.progress.max = Math.max(1, p.steps);
  ui.progress.value = p.step;
  if (p.kind === 'step' && p.loss !== undefined) curve.add(p.step, p.loss, p.steps);
  const left = p.secondsLeft !== undefined ? `, about ${Math.ceil(p.secondsLeft)} s left` : '';
  const loss = p.loss !== undefined ? `, loss ${p.loss.toPrecision(4)}` : '';
  ui.progressText.textContent = `Step ${p.step} of ${p.steps} (epoch ${p.epoch} of ${p.epochs})${loss}${left}`;
}

/** Runs a training (new or continued); on failure the page keeps its model and says why. */
async function runTraining(start: (hooks: { onProgress: typeof onProgress; signal: AbortSignal }) => Promise<BrowserModel>, on: GoodImages): Promise<void> {
  const running = new AbortController();
  state.running = running;
  state.busy = true;
  messages.clear();
  refresh();
  try {
    const model = await start({ onProgress, signal: running.signal });
    state.running = undefined;
    const steps = model.training.steps;
    ui.progressText.textContent = model.finished
      ? `Trained: ${steps} steps in ${model.training.seconds.toFixed(1)} s.`
      : `Stopped at step ${steps}: the model is usable; Continue finishes the training.`;
    ui.progress.value = steps;
    await adopt(model, on);
  } catch (err) {
    messages.show(`Training failed: ${(err as Error).message}${state.model ? ' The model trained before is kept.' : ''}`);
    ui.progressText.textContent = state.model ? 'Training failed; the earlier model is kept.' : 'Training failed.';
  } finally {
    state.running = undefined;
    state.busy = false;
    refresh();
  }
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const good = state.good;
  if (!state.engine || !good) return;
  const size = Number(ui.size.value);
  const plan = stepsPlan(good.images.length, Number(ui.steps.value));
  if (!ui.form.reportValidity()) return;
  curve.clear();
  ui.progress.value = 0;
  void runTraining((hooks) => state.engine!.train(good.images, { size, epochs: plan.epochs, name: good.folder }, hooks), good);
});
ui.stop.addEventListener('click', () => {
  state.running?.abort();
  ui.progressText.textContent = 'Stopping after this step…';
  refresh();
});
ui.continue.addEventListener('click', () => {
  const { model, trainedOn } = state;
  if (!model || !trainedOn) return;
  void runTraining((hooks) => state.engine!.continueTraining(model, trainedOn.images, hooks), trainedOn);
});
ui.steps.addEventListener('input', refresh);

/** Checks a new folder; a bad one is refused with its problems, the folder and model before it kept. */
async function takeFolder(folder: string, files: NamedImage[]): Promise<void> {
  if (!state.engine || state.busy) return;
  state.busy = true;
  messages.clear();
  refresh();
  try {
    const check = await checkFolder(state.engine, folder, files, (done, total) => {
      ui.dataSummary.textContent = `Reading ${folder}: ${done} of ${total} files…`;
    });
    if (check.ok) {
      state.good = check.value;
    } else {
      const kept = state.good ? ` Still using "${state.good.folder}".` : '';
      messages.show(`The folder "${folder}" cannot be trained on.${kept}`, check.problems);
      ui.dataSummary.textContent = state.good ? '' : `"${folder}" was refused (see above).`;
    }
  } finally {
    state.busy = false;
    refresh();
  }
}

ui.folder.addEventListener('change', () => {
  const { folder, files } = filesOfInput(ui.folder.files!);
  ui.folder.value = '';
  void takeFolder(folder, files);
});

/** Inspects images with the model: one card each, in the order given; the ones that fail are named in a message. */
async function inspect(files: NamedImage[]): Promise<void> {
  const { engine, model } = state;
  if (!engine || !model) return;
  const failed = await results.add(engine, model, files, decision);
  if (failed.length > 0) messages.show(`${someNames(failed.map((f) => f.split(':')[0]!))} could not be inspected.`, failed);
  widenThresholdRange();
}

ui.testFiles.addEventListener('change', () => {
  const files = Array.from(ui.testFiles.files ?? []).map((f) => ({ name: f.name, data: f }));
  ui.testFiles.value = '';
  messages.clear();
  void inspect(files);
});
ui.threshold.addEventListener('input', onThreshold);
ui.thresholdReset.addEventListener('click', () => state.model && setThresholdRange(state.model));

dropZone(ui.folderDrop, (transfer) => {
  void filesOfDrop(transfer).then(({ folder, files }) => takeFolder(folder, files));
});
dropZone(ui.testDrop, (transfer) => {
  if (!state.model || state.busy) {
    return messages.show(
      state.model ? 'Wait for the training to end, then drop the images again.' : 'Train or load a model first: there is nothing to inspect with yet.',
    );
  }
  messages.clear();
  void inspect(Array.from(transfer.files).map((f) => ({ name: f.name, data: f })));
});
// A file dropped anywhere else would make the browser leave the page (and the trained model).
for (const type of ['dragover', 'drop'] as const) window.addEventListener(type, (event) => event.preventDefault());

ui.download.addEventListener('click', async () => {
  const { engine, model } = state;
  if (!engine || !model) return;
  try {
    const bytes = await engine.modelBytes(model);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' })); // a copy, as above
    link.download = `${model.name.replace(/\.pflow$/i, '').replace(/[^\w.-]+/g, '_') || 'model'}.pflow`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } catch (err) {
    messages.show(`The model could not be written: ${(err as Error).message}`);
  }
});

ui.modelFile.addEventListener('change', async () => {
  const file = ui.modelFile.files?.[0];
  ui.modelFile.value = '';
  if (!file || !state.engine) return;
  messages.clear();
  state.busy = true;
  refresh();
  try {
    const model = await state.engine.loadModel(file, file.name);
    await adopt(model, undefined);
    ui.progressText.textContent = `Loaded ${file.name}.`;
  } catch (err) {
    const kept = state.model ? ' The model you had is kept.' : '';
    messages.show(`${file.name} is not a model this page can use: ${(err as Error).message.replace(/\.$/, '')}.${kept}`);
  } finally {
    state.busy = false;
    refresh();
  }
});

/** Starts the engine; without cross-origin isolation it runs on one thread and the page says so. */
async function start(): Promise<void> {
  try {
    const engine = await createEngine({});
    state.engine = engine;
    ui.engine.textContent = `Engine: ${engine.backend}, ${engine.threads} thread${engine.threads === 1 ? '' : 's'}`;
    if (!engine.isolated || engine.note) {
      ui.note.textContent = `${engine.note ?? 'This page is not cross-origin isolated: training runs on one thread.'} Serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp to train on every core.`;
      ui.note.hidden = false;
    }
  } catch (err) {
    ui.engine.textContent = 'Engine: not started';
    messages.show(`This browser cannot run the training engine: ${(err as Error).message}`);
  }
  document.body.dataset.ready = 'true';
  refresh();
}

void start();
