/**
 * The loss curve: the training loss of every optimizer step as a polyline in the page's inline SVG
 * (no chart library), with the lowest and highest loss and the step count as labels. Points are
 * kept across Stop and Continue (the steps count on), and redrawn at most once a frame.
 */

/** One point: the step (1-based, counted over every run of the model) and its loss. */
export interface LossPoint {
  /** Optimizer step. */
  step: number;
  /** That step's loss. */
  loss: number;
}

/** The plot area inside the SVG's viewBox (0 0 600 180): matches the frame rect of index.html. */
const AREA = { x: 60, y: 10, width: 530, height: 140 };

/** The curve of one training (cleared when a new one starts). */
export class LossCurve {
  /** Every point so far, in step order. */
  readonly points: LossPoint[] = [];
  private totalSteps = 0;
  private pending = false;

  /**
   * @param line the SVG polyline drawn into
   * @param labels the SVG texts: highest loss, lowest loss, steps
   */
  constructor(
    private readonly line: SVGPolylineElement,
    private readonly labels: { max: SVGTextElement; min: SVGTextElement; steps: SVGTextElement },
  ) {}

  /** Forgets every point (a new training). */
  clear(): void {
    this.points.length = 0;
    this.totalSteps = 0;
    this.draw();
  }

  /** Adds a step's loss (a step seen again, after a continue, replaces the old point) and schedules a redraw. */
  add(step: number, loss: number, totalSteps: number): void {
    if (!Number.isFinite(loss)) return;
    while (this.points.length > 0 && this.points[this.points.length - 1]!.step >= step) this.points.pop();
    this.points.push({ step, loss });
    this.totalSteps = Math.max(this.totalSteps, totalSteps);
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  /** Draws the polyline now: x by step over the training's steps, y by loss between its extremes. */
  draw(): void {
    const pts = this.points;
    if (pts.length === 0) {
      this.line.setAttribute('points', '');
      for (const label of Object.values(this.labels)) label.textContent = '';
      return;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of pts) {
      lo = Math.min(lo, p.loss);
      hi = Math.max(hi, p.loss);
    }
    const span = hi > lo ? hi - lo : 1;
    const steps = Math.max(this.totalSteps, pts[pts.length - 1]!.step, 1);
    // At most about one point per horizontal unit: a long run stays a light polyline.
    const stride = Math.max(1, Math.floor(pts.length / AREA.width));
    const coords: string[] = [];
    for (let i = 0; i < pts.length; i += stride) coords.push(this.coord(pts[i]!, lo, span, steps));
    if ((pts.length - 1) % stride !== 0) coords.push(this.coord(pts[pts.length - 1]!, lo, span, steps));
    this.line.setAttribute('points', coords.join(' '));
    this.labels.max.textContent = hi.toPrecision(4);
    this.labels.min.textContent = lo.toPrecision(4);
    this.labels.steps.textContent = `step ${pts[pts.length - 1]!.step} of ${steps}`;
  }

  private coord(p: LossPoint, lo: number, span: number, steps: number): string {
    const x = AREA.x + (p.step / steps) * AREA.width;
    const y = AREA.y + AREA.height - ((p.loss - lo) / span) * AREA.height;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  }
}
