/**
 * Training progress on the terminal: a cli-progress bar per epoch (step, loss, images/s, time
 * left) and a one-line summary per epoch; or, with --json, one JSON object per event.
 * The bar goes to stdout when that is a terminal, else to stderr (so piped stdout stays clean),
 * and is left out when neither is a terminal.
 */
import cliProgress from 'cli-progress';
import type { TrainProgress } from '../api/types.js';
import type { TextSink } from './context.js';
import { formatDuration, formatNumber, jsonLine } from './format.js';

const BAR_FORMAT = 'epoch {epoch}/{epochs} {bar} {value}/{total} | loss {loss} | {speed} img/s | {left} left';

/** The line printed when an epoch ends. */
export function epochSummaryLine(p: TrainProgress): string {
  const parts = [`epoch ${p.epoch}/${p.epochs}`, `loss ${formatNumber(p.loss)}`];
  if (p.imagesPerSecond !== undefined) parts.push(`${p.imagesPerSecond.toFixed(1)} img/s`);
  if (p.secondsLeft !== undefined) parts.push(`${formatDuration(p.secondsLeft)} left`);
  return parts.join('  ');
}

export class TrainProgressPrinter {
  private bar: cliProgress.SingleBar | null = null;
  private readonly barStream: TextSink | null;
  /** Put before every line and the bar (`[2/3 carpet] `): the category of a many-category run. */
  prefix = '';

  constructor(
    private readonly stdout: TextSink,
    private readonly stderr: TextSink,
    private readonly json: boolean,
  ) {
    this.barStream = json ? null : stdout.isTTY ? stdout : stderr.isTTY ? stderr : null;
  }

  handle(p: TrainProgress): void {
    if (this.json) {
      this.stdout.write(jsonLine(p));
      return;
    }
    switch (p.kind) {
      case 'start':
        this.stderr.write(`${this.prefix}training: ${p.epochs} epochs of ${p.stepsPerEpoch} steps${p.epoch > 1 ? `, resuming at epoch ${p.epoch}` : ''}\n`);
        break;
      case 'step':
        this.updateBar(p);
        break;
      case 'epoch':
        this.stopBar();
        this.stdout.write(`${this.prefix}${epochSummaryLine(p)}\n`);
        break;
      case 'checkpoint':
      case 'note':
        if (p.message) {
          this.stopBar(); // a fresh bar starts at the next step, below the message
          this.stderr.write(`${this.prefix}${p.kind === 'checkpoint' ? 'checkpoint: ' : ''}${p.message}\n`);
        }
        break;
      case 'done':
        this.stopBar();
        break;
    }
  }

  /** Leaves the terminal tidy, also when training failed. */
  finish(): void {
    this.stopBar();
  }

  private updateBar(p: TrainProgress): void {
    if (!this.barStream) return;
    const payload = {
      epoch: p.epoch,
      epochs: p.epochs,
      loss: formatNumber(p.loss),
      speed: p.imagesPerSecond === undefined ? '?' : p.imagesPerSecond.toFixed(1),
      left: formatDuration(p.secondsLeft),
    };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${this.prefix.replace(/[{}]/g, '')}${BAR_FORMAT}`,
          stream: this.barStream as NodeJS.WritableStream,
          hideCursor: true,
          clearOnComplete: true,
          barsize: 24,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(p.stepsPerEpoch, p.step, payload);
    } else {
      this.bar.update(p.step, payload);
    }
  }

  private stopBar(): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = null;
  }
}
