/**
 * Small inline-SVG charts (line charts and histograms) for the report: no chart library,
 * no scripts, no requests. Every chart is an <svg id=...> so tests and readers can find it.
 */
import type { PlotCurve as Curve } from '../metrics/types.js';
import { escapeHtml } from './escape.js';

export interface LineSeries {
  name: string;
  x: readonly number[];
  y: readonly number[];
  colour: string;
  dashed?: boolean;
}

/** A vertical line at x, labelled (a threshold, a rate limit). */
export interface Marker {
  x: number;
  label: string;
  colour?: string;
}

export interface LineChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  xDomain?: [number, number];
  yDomain?: [number, number];
  markers?: Marker[];
  /** Points plotted at most per series; long curves (pixel ROC) are thinned. */
  maxPoints?: number;
}

export interface HistogramSeries {
  name: string;
  counts: readonly number[];
  colour: string;
}

export interface HistogramSpec {
  id: string;
  title: string;
  xLabel: string;
  edges: readonly number[]; // bins + 1 edges, ascending
  series: HistogramSeries[];
  markers?: Marker[];
}

const WIDTH = 440;
const HEIGHT = 300;
const MARGIN = { left: 58, right: 16, top: 30, bottom: 46 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;

/** Round-number ticks covering min..max (about `count` of them). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max <= min) return [min];
  const rough = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Counts of `values` in `bins` equal bins over min..max; values outside are clamped in. */
export function histogramCounts(values: readonly number[], bins: number, min: number, max: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const width = max > min ? (max - min) / bins : 1;
  for (const value of values) {
    if (Number.isNaN(value)) continue;
    const bin = Math.floor((value - min) / width);
    counts[Math.min(bins - 1, Math.max(0, bin))]++;
  }
  return counts;
}

/** bins + 1 equally spaced edges from min to max. */
export function binEdges(min: number, max: number, bins: number): number[] {
  const hi = max > min ? max : min + 1;
  return Array.from({ length: bins + 1 }, (_, i) => min + ((hi - min) * i) / bins);
}

/** At most maxPoints of a curve, evenly spaced by index, first and last always kept. */
export function thinCurve(curve: Curve, maxPoints: number): Curve {
  const n = Math.min(curve.x.length, curve.y.length);
  if (n <= maxPoints) return { x: curve.x.slice(0, n), y: curve.y.slice(0, n) };
  const x: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < maxPoints; k++) {
    const i = Math.round((k * (n - 1)) / (maxPoints - 1));
    x.push(curve.x[i]);
    y.push(curve.y[i]);
  }
  return { x, y };
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e4 || abs < 1e-3) return value.toExponential(1);
  return String(Number(value.toPrecision(4)));
}

function extent(values: Iterable<number>): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return [0, 1];
  if (min === max) return [min - 0.5, max + 0.5];
  return [min, max];
}

interface Frame {
  xDomain: [number, number];
  yDomain: [number, number];
  px(x: number): number;
  py(y: number): number;
}

function frame(xDomain: [number, number], yDomain: [number, number]): Frame {
  const [x0, x1] = xDomain;
  const [y0, y1] = yDomain;
  return {
    xDomain,
    yDomain,
    px: (x) => MARGIN.left + ((x - x0) / (x1 - x0 || 1)) * PLOT_WIDTH,
    py: (y) => MARGIN.top + PLOT_HEIGHT - ((y - y0) / (y1 - y0 || 1)) * PLOT_HEIGHT,
  };
}

const round = (v: number): string => (Math.round(v * 10) / 10).toString();

function axes(f: Frame, title: string, xLabel: string, yLabel: string): string {
  const parts: string[] = [];
  const bottom = MARGIN.top + PLOT_HEIGHT;
  for (const t of niceTicks(f.xDomain[0], f.xDomain[1], 5)) {
    const x = round(f.px(t));
    parts.push(`<line class="grid" x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${bottom}"/>`);
    parts.push(`<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of niceTicks(f.yDomain[0], f.yDomain[1], 5)) {
    const y = round(f.py(t));
    parts.push(`<line class="grid" x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + PLOT_WIDTH}" y2="${y}"/>`);
    parts.push(`<text class="tick" x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`);
  }
  parts.push(`<rect class="frame" x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}"/>`);
  parts.push(`<text class="title" x="${WIDTH / 2}" y="18" text-anchor="middle">${escapeHtml(title)}</text>`);
  parts.push(`<text class="label" x="${MARGIN.left + PLOT_WIDTH / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  if (yLabel) {
    const cy = MARGIN.top + PLOT_HEIGHT / 2;
    parts.push(`<text class="label" x="14" y="${cy}" text-anchor="middle" transform="rotate(-90 14 ${cy})">${escapeHtml(yLabel)}</text>`);
  }
  return parts.join('');
}

function markerLines(f: Frame, markers: readonly Marker[]): string {
  return markers
    .filter((m) => Number.isFinite(m.x))
    .map((m) => {
      const clamped = Math.min(f.xDomain[1], Math.max(f.xDomain[0], m.x));
      const x = round(f.px(clamped));
      const colour = m.colour ?? '#c0392b';
      // Labels near the right edge go left of the line so they stay inside the chart.
      const labelSide = f.px(clamped) > MARGIN.left + PLOT_WIDTH * 0.7 ? 'dx="-4" text-anchor="end"' : 'dx="4"';
      return (
        `<line class="marker" x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="${colour}"/>` +
        `<text class="marker-label" x="${x}" y="${MARGIN.top + 12}" ${labelSide} fill="${colour}">${escapeHtml(m.label)}</text>`
      );
    })
    .join('');
}

function legend(entries: ReadonlyArray<{ name: string; colour: string; dashed?: boolean }>): string {
  return entries
    .map((e, i) => {
      const y = MARGIN.top + PLOT_HEIGHT - 12 - (entries.length - 1 - i) * 16;
      const x = MARGIN.left + PLOT_WIDTH - 150;
      const dash = e.dashed ? ' stroke-dasharray="4 3"' : '';
      return (
        `<rect class="legend-box" x="${x - 4}" y="${y - 8}" width="154" height="16"/>` +
        `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${e.colour}" stroke-width="2.5"${dash}/>` +
        `<text class="legend" x="${x + 24}" y="${y}" dominant-baseline="middle">${escapeHtml(e.name)}</text>`
      );
    })
    .join('');
}

function svg(id: string, title: string, body: string): string {
  return (
    `<svg id="${escapeHtml(id)}" class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${escapeHtml(title)}</title>${body}</svg>`
  );
}

/** Keeps lines inside the plot area when a domain is given narrower than the data. */
function plotClip(id: string): string {
  return `<defs><clipPath id="${escapeHtml(id)}-plot"><rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}"/></clipPath></defs>`;
}

function noData(): string {
  return `<text class="no-data" x="${MARGIN.left + PLOT_WIDTH / 2}" y="${MARGIN.top + PLOT_HEIGHT / 2}" text-anchor="middle">no data</text>`;
}

export function lineChartSvg(spec: LineChartSpec): string {
  const series = spec.series.map((s) => ({ ...s, ...thinCurve({ x: [...s.x], y: [...s.y] }, spec.maxPoints ?? 600) }));
  const xDomain = spec.xDomain ?? extent(series.flatMap((s) => s.x));
  const yDomain = spec.yDomain ?? extent(series.flatMap((s) => s.y));
  const f = frame(xDomain, yDomain);
  const paths = series
    .filter((s) => s.x.length > 0)
    .map((s) => {
      const points = s.x.map((x, i) => `${i === 0 ? 'M' : 'L'}${round(f.px(x))} ${round(f.py(s.y[i]))}`).join('');
      const dash = s.dashed ? ' stroke-dasharray="4 3"' : '';
      const dot = s.x.length === 1 ? `<circle cx="${round(f.px(s.x[0]))}" cy="${round(f.py(s.y[0]))}" r="3" fill="${s.colour}"/>` : '';
      return `<path class="series" d="${points}" stroke="${s.colour}"${dash}/>${dot}`;
    })
    .join('');
  const empty = series.every((s) => s.x.length === 0);
  const body =
    axes(f, spec.title, spec.xLabel, spec.yLabel) +
    plotClip(spec.id) +
    (empty ? noData() : `<g clip-path="url(#${escapeHtml(spec.id)}-plot)">${paths}</g>`) +
    markerLines(f, spec.markers ?? []) +
    legend(series.filter((s) => s.name));
  return svg(spec.id, spec.title, body);
}

export function histogramSvg(spec: HistogramSpec): string {
  const bins = spec.edges.length - 1;
  const maxCount = Math.max(1, ...spec.series.flatMap((s) => s.counts));
  const f = frame([spec.edges[0], spec.edges[bins]], [0, maxCount]);
  const bars = spec.series
    .map((s) =>
      s.counts
        .map((count, b) => {
          if (count === 0) return '';
          const x = f.px(spec.edges[b]);
          const w = Math.max(1, f.px(spec.edges[b + 1]) - x - 0.5);
          const y = f.py(count);
          return `<rect x="${round(x)}" y="${round(y)}" width="${round(w)}" height="${round(f.py(0) - y)}" fill="${s.colour}" fill-opacity="0.55"><title>${escapeHtml(s.name)}: ${count}</title></rect>`;
        })
        .join(''),
    )
    .join('');
  const empty = spec.series.every((s) => s.counts.every((c) => c === 0));
  const body = axes(f, spec.title, spec.xLabel, 'images') + (empty ? noData() : bars) + markerLines(f, spec.markers ?? []) + legend(spec.series);
  return svg(spec.id, spec.title, body);
}
