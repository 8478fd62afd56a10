/**
 * Small parts of the page: the messages area (every problem in words, naming the file), the
 * model's summary line, drop zones, and the training plan (how many steps and epochs a requested length makes
 * for a folder, as the engine splits it).
 */
import { BROWSER_TARGET_STEPS, trainingPlan, type TrainingPlan } from '../src/browser/index.js';
import type { BrowserModel } from '../src/browser/types.js';

/** A training's length for a number of good images, in words too. */
export interface StepsPlan extends TrainingPlan {
  /** What it makes, in words. */
  text: string;
}

/** The epochs that make about `steps` optimizer steps: the engine's own plan (trainingPlan), put in words. */
export function stepsPlan(images: number, steps: number): StepsPlan {
  const plan = trainingPlan(images, steps);
  const { train, holdout, perEpoch, epochs, maxEpochs } = plan;
  const wanted = Number.isFinite(steps) && steps > 0 ? steps : BROWSER_TARGET_STEPS;
  const capped = epochs === maxEpochs && wanted > perEpoch * maxEpochs ? ` (at most ${maxEpochs} epochs: more images make more steps)` : '';
  const text = `${train} to train on, ${holdout} held out for the thresholds: ${perEpoch} step${perEpoch === 1 ? '' : 's'} an epoch, ${epochs} epoch${epochs === 1 ? '' : 's'}, ${perEpoch * epochs} steps${capped}.`;
  return { ...plan, text };
}

/** The messages area: problems, each with its details (one line per file). */
export class Messages {
  /** @param area the element messages go into */
  constructor(private readonly area: HTMLElement) {}

  /** Shows a message, with detail lines below it; it stays until dismissed or the next action. */
  show(text: string, details: string[] = []): void {
    const box = document.createElement('div');
    box.className = 'message';
    const head = document.createElement('p');
    head.textContent = text;
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.textContent = 'Dismiss';
    dismiss.addEventListener('click', () => box.remove());
    head.append(dismiss);
    box.append(head);
    if (details.length > 0) {
      const list = document.createElement('ul');
      for (const line of details.slice(0, 20)) {
        const item = document.createElement('li');
        item.textContent = line;
        list.append(item);
      }
      if (details.length > 20) list.append(Object.assign(document.createElement('li'), { textContent: `and ${details.length - 20} more` }));
      box.append(list);
    }
    this.area.append(box);
  }

  /** Removes every message. */
  clear(): void {
    this.area.replaceChildren();
  }
}

/** Writes a model's summary: its name, size, training and thresholds. */
export function showModel(target: HTMLElement, model: BrowserModel): void {
  const t = model.training;
  const state = model.finished ? 'trained' : `stopped at step ${t.steps} (epoch ${t.epochsDone} of ${t.epochs}), usable`;
  target.textContent =
    `${model.name}: ${model.config.width}x${model.config.height}, ${state}; ` +
    `thresholds: image ${model.thresholds.image.toPrecision(4)}, pixel ${model.thresholds.pixel.toPrecision(4)} ` +
    `(set on ${model.thresholds.images} good image${model.thresholds.images === 1 ? '' : 's'}).`;
  target.dataset.finished = String(model.finished);
}

/** A drop zone: highlighted while dragged over, `take` called with the drop. */
export function dropZone(zone: HTMLElement, take: (transfer: DataTransfer) => void): void {
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    if (event.dataTransfer) take(event.dataTransfer);
  });
}
