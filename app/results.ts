/**
 * One card per inspected image: the image under its heat map, the outline of its defect regions,
 * its score and verdict. A card keeps its prediction (the map at the image's size), so that a new
 * threshold re-decides the verdict and redraws the outline without asking the engine again.
 * Cards carry data-* attributes (name, score, verdict, regions) for tests and scripts.
 */
import type { BrowserEngine, BrowserModel, BrowserPrediction, NamedImage } from '../src/browser/types.js';
import { heatmapImage, outlineImage, regionMask } from './overlay.js';

/** Smallest region outlined, in pixels (`pyramidflow predict`'s default --min-area). */
export const MIN_AREA = 16;

/** The thresholds a card is decided with. */
export interface Decision {
  /** Image threshold: a score above it is a defect. */
  image: number;
  /** Pixel threshold: pixels above it make up the outlined regions. */
  pixel: number;
}

/** Creates an element with a class and text. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A result card on the page. */
export class ResultCard {
  /** The card's element. */
  readonly element: HTMLElement;
  private readonly outline: HTMLCanvasElement;
  private readonly heat: HTMLCanvasElement;
  private readonly fields: { score: HTMLElement; verdict: HTMLElement; regions: HTMLElement; threshold: HTMLElement };
  private prediction?: BrowserPrediction;

  /**
   * @param name the image's name (its file)
   * @param bitmap the image as the browser shows it
   * @param blob the image's bytes (inspected again when the model changes)
   */
  constructor(
    readonly name: string,
    private readonly bitmap: ImageBitmap,
    readonly blob: Blob,
  ) {
    this.element = el('article', 'result');
    this.element.dataset.name = name;
    this.element.append(el('h3', undefined, name));
    const stack = el('div', 'stack');
    const base = el('canvas');
    base.width = bitmap.width;
    base.height = bitmap.height;
    base.getContext('2d')!.drawImage(bitmap, 0, 0);
    this.heat = el('canvas', 'heat');
    this.outline = el('canvas', 'outline');
    for (const c of [this.heat, this.outline]) {
      c.width = bitmap.width;
      c.height = bitmap.height;
    }
    stack.append(base, this.heat, this.outline);
    base.setAttribute('aria-label', `${name}: the image, its heat map and the outline of defect regions`);
    const list = el('dl');
    const row = (label: string): HTMLElement => {
      const value = el('dd');
      list.append(el('dt', undefined, label), value);
      return value;
    };
    this.fields = { score: row('score'), verdict: row('verdict'), regions: row('regions'), threshold: row('threshold') };
    this.fields.verdict.className = 'verdict';
    this.fields.score.textContent = 'inspecting…';
    this.element.append(stack, list);
  }

  /** Shows a prediction: its heat map (drawn once), then the verdict and outline at `decision`. */
  show(prediction: BrowserPrediction, decision: Decision): void {
    this.prediction = prediction;
    const { map, width, height, scaleMin, scaleMax } = prediction;
    this.resize(width, height);
    this.heat.getContext('2d')!.putImageData(heatmapImage(map, width, height, scaleMin, scaleMax), 0, 0);
    this.element.dataset.score = String(prediction.score);
    this.fields.score.textContent = prediction.score.toPrecision(5);
    this.decide(decision);
  }

  /** Re-decides the verdict and redraws the outline at new thresholds (from the kept map). */
  decide(decision: Decision): void {
    const p = this.prediction;
    if (!p) return;
    const verdict = p.score > decision.image ? 'defect' : 'good';
    const { mask, count } = regionMask(p.map, p.width, p.height, decision.pixel, MIN_AREA);
    this.outline.getContext('2d')!.putImageData(outlineImage(mask, p.width, p.height), 0, 0);
    this.element.classList.remove('good', 'defect');
    this.element.classList.add(verdict);
    Object.assign(this.element.dataset, { verdict, regions: String(count), threshold: String(decision.image) });
    this.fields.verdict.textContent = verdict;
    this.fields.verdict.className = `verdict ${verdict}`;
    this.fields.regions.textContent = String(count);
    this.fields.threshold.textContent = `${decision.image.toPrecision(4)} (pixels ${decision.pixel.toPrecision(4)})`;
  }

  /** The card's score, once inspected. */
  get score(): number | undefined {
    return this.prediction?.score;
  }

  /** Shows why the image could not be inspected (the card stays, marked failed). */
  fail(message: string): void {
    this.prediction = undefined;
    this.element.classList.remove('good', 'defect');
    this.element.classList.add('failed');
    this.element.dataset.verdict = 'error';
    this.fields.score.textContent = '-';
    this.fields.verdict.textContent = message;
    this.fields.verdict.className = 'verdict error';
  }

  /** Frees the image. */
  dispose(): void {
    this.bitmap.close();
  }

  /** The map may come at another size than the browser decoded (EXIF-less formats agree; this guards the rest). */
  private resize(width: number, height: number): void {
    for (const c of [this.heat, this.outline]) {
      if (c.width !== width || c.height !== height) {
        c.width = width;
        c.height = height;
      }
    }
  }
}

/** The cards on the page, in the order the images came. */
export class ResultList {
  /** Every card shown. */
  readonly cards: ResultCard[] = [];

  /** @param container the element the cards go into */
  constructor(private readonly container: HTMLElement) {}

  /**
   * Inspects images with a model, one card each (an image the browser cannot show gets none);
   * returns the problems, one line each naming the file.
   */
  async add(engine: BrowserEngine, model: BrowserModel, files: NamedImage[], decision: () => Decision): Promise<string[]> {
    const failed: string[] = [];
    for (const file of files) {
      const blob = file.data instanceof Blob ? file.data : new Blob([new Uint8Array(file.data)]); // a copy: shared memory cannot be a Blob
      let card: ResultCard;
      try {
        card = new ResultCard(file.name, await createImageBitmap(blob), blob);
      } catch {
        failed.push(`${file.name}: not an image this browser can show (PNG, JPEG or BMP)`);
        continue;
      }
      this.cards.push(card);
      this.container.append(card.element);
      try {
        card.show(await engine.predict(model, file), decision());
      } catch (err) {
        card.fail((err as Error).message);
        failed.push(`${file.name}: ${(err as Error).message}`);
      }
    }
    return failed;
  }

  /** Inspects every card's image again with another model. */
  async again(engine: BrowserEngine, model: BrowserModel, decision: () => Decision): Promise<void> {
    for (const card of this.cards) {
      try {
        card.show(await engine.predict(model, { name: card.name, data: card.blob }), decision());
      } catch (err) {
        card.fail((err as Error).message);
      }
    }
  }

  /** Re-decides every card at new thresholds, from the kept maps. */
  decide(decision: Decision): void {
    for (const card of this.cards) card.decide(decision);
  }
}
