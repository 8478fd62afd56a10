/**
 * The HTML report of a test run: one self-contained index.html (inline CSS and SVG, pictures as
 * data: URLs) that opens offline and makes no requests.
 */
import { join } from 'node:path';
import type { Metrics as MetricSet } from '../metrics/types.js';
import type { TestResult } from './types.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { checkOutputFile, type OutputRule } from '../util/output-file.js';
import { binEdges, histogramCounts, histogramSvg, lineChartSvg } from './charts.js';
import { escapeHtml } from './escape.js';
import { galleryHtml } from './gallery.js';
import { colourMapStops } from '../detect/pictures.js';
import { REPORT_CSS } from './styles.js';

export type { TestResult, TestImageResult, GalleryItem } from './types.js';
export { orderGallery, badness } from './gallery.js';
export * from '../detect/pictures.js';
export { pngDataUrl } from './png.js';
export { histogramCounts, binEdges, niceTicks, thinCurve, lineChartSvg, histogramSvg } from './charts.js';

export interface ReportOptions {
  /** Page title; default "PyramidFlow report: <category>". */
  title?: string;
  /** Longer side of gallery pictures in pixels (larger items are shrunk), default 256. */
  pictureSide?: number;
  /** Shown in the header; default now. */
  createdAt?: Date;
}

/** Ids of the report's charts, in page order (tests and readers look them up). */
export const REPORT_CHART_IDS = ['chart-pixel-roc', 'chart-image-roc', 'chart-pro', 'chart-loss', 'chart-scores'] as const;

const COLOURS = { pixel: '#2e6bd1', image: '#d1702e', pro: '#7b3fb5', loss: '#1e8449', good: '#2e86c1', defect: '#c0392b', chance: '#9aa1ad' };

/** A target rate as a percentage without float noise: 0.007 -> "0.7%". */
function formatRate(rate: number): string {
  return `${Number((rate * 100).toPrecision(6))}%`;
}

function percent(value: number): string {
  return Number.isFinite(value) ? (value * 100).toFixed(1) : '–';
}

function metricsRow(name: string, m: MetricSet, overall: boolean): string {
  const cells = [
    m.images,
    percent(m.image_auroc),
    percent(m.pixel_auroc),
    percent(m.aupro),
    percent(m.pro_full),
    percent(m.image_f1_max),
    percent(m.pixel_f1_max),
  ];
  return `<tr${overall ? ' class="overall"' : ''}><td>${escapeHtml(name)}</td>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

function metricsTable(result: TestResult): string {
  const limit = result.overall.aupro_fpr_limit;
  const head = ['type', 'images', 'image AUROC', 'pixel AUROC', `AUPRO@${limit}`, 'PRO (full)', 'image F1 max', 'pixel F1 max'];
  const rows = [metricsRow('overall', result.overall, true)];
  for (const [type, metrics] of Object.entries(result.perType).sort(([a], [b]) => a.localeCompare(b))) rows.push(metricsRow(type, metrics, false));
  return (
    `<table class="metrics" id="metrics"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>` +
    `<p class="note">In percent. AUPRO is the standard area under the PRO curve up to a false-positive rate of ${limit}, normalised by it; ` +
    `"PRO (full)" is the official PyramidFlow code's full-range variant, not the standard.</p>`
  );
}

function thresholdFacts(result: TestResult): string {
  const t = result.thresholds;
  const c = result.confusion;
  const rate = (n: number, of: number): string => (of > 0 ? `${n} of ${of} (${((100 * n) / of).toFixed(1)}%)` : `${n} of 0`);
  const facts: Array<[string, string]> = [
    ['image threshold', `${t.image.toPrecision(5)} (set for ${formatRate(t.imageFpr)} false positives on ${t.images} good ${t.source} images)`],
    ['pixel threshold', `${t.pixel.toPrecision(5)} (set for ${formatRate(t.pixelFpr)} false-positive pixels)`],
    ['good images rejected', rate(c.goodRejected, c.goodImages)],
    ['defect images missed', rate(c.defectsMissed, c.defectImages)],
    ['gap to F1-max thresholds', `image ${signed(result.thresholdGap.image)}, pixel ${signed(result.thresholdGap.pixel)} (calibrated − best)`],
    ['heat-map scale', `${t.scaleMin.toPrecision(4)} … ${t.scaleMax.toPrecision(4)}`],
  ];
  if (t.note) facts.push(['note', t.note]);
  return `<dl class="facts" id="thresholds">${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toPrecision(4)}`;
}

const CHANCE = { name: 'chance', x: [0, 1], y: [0, 1], colour: COLOURS.chance, dashed: true };

function charts(result: TestResult): string {
  const { pixelRoc, imageRoc, pro } = result.curves;
  const unit: [number, number] = [0, 1];
  const limit = result.overall.aupro_fpr_limit;
  const proMaxX = pro.x.reduce((max, x) => (Number.isFinite(x) && x > max ? x : max), limit);
  const good = result.images.filter((i) => i.label === 0).map((i) => i.score);
  const defect = result.images.filter((i) => i.label === 1).map((i) => i.score);
  const finite = [...good, ...defect, result.thresholds.image].filter(Number.isFinite);
  const lo = finite.reduce((a, b) => Math.min(a, b), Infinity);
  const hi = finite.reduce((a, b) => Math.max(a, b), -Infinity);
  const bins = Math.min(30, Math.max(6, Math.ceil(Math.sqrt(result.images.length) * 2)));
  const edges = binEdges(lo, hi, bins);
  const epochs = result.lossPerEpoch.map((_, i) => i + 1);
  return [
    lineChartSvg({
      id: 'chart-pixel-roc',
      title: 'Pixel ROC',
      xLabel: 'false-positive rate',
      yLabel: 'true-positive rate',
      xDomain: unit,
      yDomain: unit,
      series: [{ name: `AUROC ${percent(result.overall.pixel_auroc)}%`, ...pixelRoc, colour: COLOURS.pixel }, CHANCE],
    }),
    lineChartSvg({
      id: 'chart-image-roc',
      title: 'Image ROC',
      xLabel: 'false-positive rate',
      yLabel: 'true-positive rate',
      xDomain: unit,
      yDomain: unit,
      series: [{ name: `AUROC ${percent(result.overall.image_auroc)}%`, ...imageRoc, colour: COLOURS.image }, CHANCE],
    }),
    lineChartSvg({
      id: 'chart-pro',
      title: 'PRO curve',
      xLabel: 'false-positive rate',
      yLabel: 'per-region overlap',
      xDomain: [0, proMaxX],
      yDomain: unit,
      series: [{ name: `AUPRO@${limit} ${percent(result.overall.aupro)}%`, ...pro, colour: COLOURS.pro }],
      markers: [{ x: limit, label: `FPR limit ${limit}` }],
    }),
    lineChartSvg({
      id: 'chart-loss',
      title: 'Training loss',
      xLabel: 'epoch',
      yLabel: 'mean loss',
      xDomain: epochs.length > 1 ? [1, epochs.length] : undefined,
      series: [{ name: '', x: epochs, y: result.lossPerEpoch, colour: COLOURS.loss }],
    }),
    histogramSvg({
      id: 'chart-scores',
      title: 'Image scores',
      xLabel: 'image score (map maximum)',
      edges,
      series: [
        { name: `good (${good.length})`, counts: histogramCounts(good, bins, lo, hi), colour: COLOURS.good },
        { name: `defect (${defect.length})`, counts: histogramCounts(defect, bins, lo, hi), colour: COLOURS.defect },
      ],
      markers: [{ x: result.thresholds.image, label: 'image threshold', colour: '#1d2330' }],
    }),
  ].join('\n');
}

function colourScale(result: TestResult): string {
  const stops = colourMapStops();
  const gradient = stops.map((c, i) => `<stop offset="${((100 * i) / (stops.length - 1)).toFixed(1)}%" stop-color="rgb(${c.join(',')})"/>`).join('');
  const t = result.thresholds;
  const span = t.scaleMax - t.scaleMin;
  const at = span > 0 ? Math.min(1, Math.max(0, (t.pixel - t.scaleMin) / span)) * 240 : 0;
  return (
    `<div class="scale"><span>${t.scaleMin.toPrecision(4)}</span>` +
    `<svg id="colour-scale" width="240" height="18" viewBox="0 0 240 18" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="heat-map colour scale">` +
    `<defs><linearGradient id="colour-scale-gradient">${gradient}</linearGradient></defs>` +
    `<rect width="240" height="18" fill="url(#colour-scale-gradient)"/>` +
    `<line x1="${at.toFixed(1)}" y1="0" x2="${at.toFixed(1)}" y2="18" stroke="#2ecc71" stroke-width="2"><title>pixel threshold</title></line></svg>` +
    `<span>${t.scaleMax.toPrecision(4)}</span><span>heat maps share this fixed scale; the green mark is the pixel threshold, the red outline the predicted defect region.</span></div>`
  );
}

function configLine(result: TestResult): string {
  const c = result.config;
  return `${c.width}×${c.height}, ${c.levels} levels, ${c.stacks} stacks, ${c.channels} channels, kernel ${c.kernel}, ${c.volumeNorm.toUpperCase()}, ${c.downsample}`;
}

export async function renderReport(result: TestResult, opts: ReportOptions = {}): Promise<string> {
  const title = opts.title ?? `PyramidFlow report: ${result.category}`;
  const created = (opts.createdAt ?? new Date()).toISOString().replace('T', ' ').slice(0, 19);
  const gallery = await galleryHtml(result.gallery, result.thresholds, opts.pictureSide ?? 256);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="pyramidflow">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="subtitle">model <code>${escapeHtml(result.model)}</code> · ${escapeHtml(configLine(result))}</p>
<p class="subtitle">${result.overall.images} test images in ${result.seconds.toFixed(1)} s · ${created} UTC</p>
<h2>Metrics</h2>
${metricsTable(result)}
<h2>Thresholds</h2>
${thresholdFacts(result)}
<h2>Curves</h2>
<div class="charts">
${charts(result)}
</div>
<h2>Worst images (${result.gallery.length})</h2>
<p class="note">Missed defects (lowest scores) and false alarms (highest good scores) first.</p>
${colourScale(result)}
<div id="gallery">
${gallery}
</div>
</body>
</html>
`;
}

/** The rule for the report's file: an earlier report of ours is replaced, any other file is not. */
export const REPORT_FILE_RULE: OutputRule = {
  kind: 'pyramidflow report',
  recognise: (head) => new TextDecoder().decode(head).includes('<meta name="generator" content="pyramidflow">'),
  force: true,
  forceFlag: '',
};

/** Writes dir/index.html atomically and returns its path (never over a file that is not a report of ours). */
export async function writeReport(dir: string, result: TestResult, opts: ReportOptions = {}): Promise<string> {
  const file = join(dir, 'index.html');
  checkOutputFile(file, REPORT_FILE_RULE);
  const html = await renderReport(result, opts);
  writeFileAtomic(file, html);
  return file;
}
