/**
 * The inspection page served at GET /: one self-contained HTML file (no external assets).
 * Pick a model, drop or choose images; each result shows the image under its heat map, the
 * defect outline, the score and the verdict. The threshold slider re-draws every outline in the
 * browser from the low-resolution anomaly map in the reply (`?map=json`), without a new request.
 * When the server needs a token (a 401), the page asks for it, keeps it in sessionStorage (for
 * this tab, until it closes) and sends it as `Authorization: Bearer` with every call.
 */
import { createHash } from 'node:crypto';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d1f23; }
header { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: center; padding: .8em 1.2em; background: #1d1f23; color: #fff; }
header h1 { font-size: 1.1em; margin: 0 1em 0 0; }
header input[type=range] { width: 16em; vertical-align: middle; }
#auth input { width: 14em; }
main { padding: 1em 1.2em; }
#drop { border: 2px dashed #8a8f98; border-radius: 8px; padding: 1.5em; text-align: center; background: #fff; }
#drop.over { border-color: #0a7cff; background: #eef5ff; }
#status { min-height: 1.4em; color: #555; }
#results { display: flex; flex-wrap: wrap; gap: 1em; }
.result { background: #fff; border-radius: 8px; padding: .8em; box-shadow: 0 1px 3px #0002; border-top: 4px solid #bbb; }
.result.good { border-top-color: #1a9a4a; }
.result.defect { border-top-color: #d32f2f; }
.result.failed { border-top-color: #f0a000; }
.result h2 { font-size: 1em; margin: 0 0 .5em; word-break: break-all; max-width: 384px; }
.stack { position: relative; line-height: 0; }
.stack canvas.outline { position: absolute; left: 0; top: 0; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .1em .8em; margin: .6em 0 0; }
dt { color: #666; }
dd { margin: 0; font-variant-numeric: tabular-nums; }
.verdict.defect { color: #d32f2f; font-weight: 600; }
.verdict.good { color: #1a9a4a; font-weight: 600; }
.error { color: #b00020; max-width: 384px; }
`;

// Plain JavaScript for the browser; written without template literals so it can live in this one.
const SCRIPT = `
'use strict';
const byId = (id) => document.getElementById(id);
const modelSelect = byId('model'), slider = byId('threshold'), sliderValue = byId('threshold-value');
const fileInput = byId('files'), drop = byId('drop'), statusLine = byId('status'), results = byId('results');
const heatToggle = byId('show-heatmap'), authForm = byId('auth'), tokenInput = byId('token');
const SIDE = 384; // largest side of a result on screen
const TOKEN_KEY = 'pyramidflow-token';
let models = [];
const cards = [];
let chain = Promise.resolve();
let token = '';
try { token = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { /* storage off: the token lasts while the page is open */ }

const currentModel = () => models.find((m) => m.name === modelSelect.value);

function saveToken(value) {
  token = value;
  try { sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* kept in memory only */ }
}

// Every call to the API carries the token once there is one.
function withToken(headers) {
  return token ? Object.assign({ authorization: 'Bearer ' + token }, headers) : headers;
}

function askForToken() {
  authForm.hidden = false;
  tokenInput.focus();
  statusLine.textContent = token ? "The token was refused: enter this server's token above." : 'This server needs a token: enter it above.';
}

async function loadModels() {
  const res = await fetch('v1/models', { headers: withToken({}) });
  if (res.status === 401) return askForToken();
  if (!res.ok) throw new Error('cannot list the models: HTTP ' + res.status);
  authForm.hidden = true;
  models = (await res.json()).models;
  modelSelect.replaceChildren(...models.map((m) => new Option(m.name + ' (' + m.config.width + '\\u00d7' + m.config.height + ')', m.name)));
  onModelChange();
  statusLine.textContent = models.length + ' model(s) loaded. Drop images to inspect them.';
}

function onModelChange() {
  const m = currentModel();
  if (!m) return;
  const t = m.thresholds;
  const lo = t ? t.scaleMin : 0;
  const hi = t && t.scaleMax > lo ? t.scaleMax : lo + 1;
  slider.min = String(lo);
  slider.max = String(hi);
  slider.step = String((hi - lo) / 1000);
  slider.value = String(t ? t.pixel : (lo + hi) / 2);
  onThreshold();
}

function onThreshold() {
  sliderValue.textContent = Number(slider.value).toPrecision(4);
  for (const card of cards) drawOutline(card);
}

function makeCard(file) {
  const article = document.createElement('article');
  article.className = 'result pending';
  const title = document.createElement('h2');
  title.textContent = file.name;
  const stack = document.createElement('div');
  stack.className = 'stack';
  const base = document.createElement('canvas');
  base.className = 'base';
  const outline = document.createElement('canvas');
  outline.className = 'outline';
  base.width = outline.width = base.height = outline.height = 1;
  stack.append(base, outline);
  const facts = document.createElement('dl');
  const fields = {};
  for (const [key, label] of [['score', 'score'], ['normalized', 'normalised'], ['verdict', 'verdict'], ['regions', 'regions'], ['above', 'above threshold'], ['elapsed', 'time']]) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.className = key;
    fields[key] = dd;
    facts.append(dt, dd);
  }
  const message = document.createElement('p');
  message.className = 'error';
  message.textContent = 'inspecting\\u2026';
  article.append(title, stack, facts, message);
  results.prepend(article);
  return { article, base, outline, fields, message, result: null, image: null, heat: null };
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('cannot show the heat map'));
    img.src = src;
  });
}

function drawBase(card) {
  const ctx = card.base.getContext('2d');
  const w = card.base.width, h = card.base.height;
  ctx.globalAlpha = 1;
  // Browsers cannot show every format (TIFF); then the heat map stands alone on grey.
  if (card.image) ctx.drawImage(card.image, 0, 0, w, h);
  else { ctx.fillStyle = '#555'; ctx.fillRect(0, 0, w, h); }
  if (heatToggle.checked && card.heat) {
    ctx.globalAlpha = card.image ? 0.5 : 1;
    ctx.drawImage(card.heat, 0, 0, w, h);
    ctx.globalAlpha = 1;
  }
}

// Outlines the cells of the low-resolution map above the threshold: an edge wherever a cell
// above borders one below (or the border), scaled to the canvas.
function drawOutline(card) {
  const map = card.result && card.result.map;
  if (!map) return;
  const c = card.outline, ctx = c.getContext('2d');
  ctx.clearRect(0, 0, c.width, c.height);
  const t = Number(slider.value), mw = map.width, mh = map.height, v = map.values;
  const sx = c.width / mw, sy = c.height / mh;
  const on = (x, y) => x >= 0 && y >= 0 && x < mw && y < mh && v[y * mw + x] > t;
  let above = 0;
  ctx.beginPath();
  for (let y = 0; y < mh; y++) {
    for (let x = 0; x < mw; x++) {
      if (!on(x, y)) continue;
      above++;
      const x0 = x * sx, x1 = (x + 1) * sx, y0 = y * sy, y1 = (y + 1) * sy;
      if (!on(x, y - 1)) { ctx.moveTo(x0, y0); ctx.lineTo(x1, y0); }
      if (!on(x, y + 1)) { ctx.moveTo(x0, y1); ctx.lineTo(x1, y1); }
      if (!on(x - 1, y)) { ctx.moveTo(x0, y0); ctx.lineTo(x0, y1); }
      if (!on(x + 1, y)) { ctx.moveTo(x1, y0); ctx.lineTo(x1, y1); }
    }
  }
  ctx.strokeStyle = '#00e5ff';
  ctx.lineWidth = 2;
  ctx.stroke();
  card.fields.above.textContent = (100 * above / (mw * mh)).toFixed(1) + ' %';
}

async function show(card, file, body) {
  const scale = Math.min(4, SIDE / Math.max(body.width, body.height)); // small images are enlarged
  card.base.width = card.outline.width = Math.max(1, Math.round(body.width * scale));
  card.base.height = card.outline.height = Math.max(1, Math.round(body.height * scale));
  card.image = await createImageBitmap(file).catch(() => null);
  card.heat = await loadImage(body.heatmap);
  card.result = body;
  const f = card.fields;
  f.score.textContent = body.score.toFixed(4);
  f.score.dataset.value = String(body.score);
  f.normalized.textContent = body.normalized_score.toFixed(3);
  f.verdict.textContent = body.verdict;
  f.verdict.classList.add(body.verdict);
  f.regions.textContent = String(body.regions.length);
  f.elapsed.textContent = body.elapsed_ms.toFixed(0) + ' ms';
  card.message.textContent = '';
  card.article.classList.replace('pending', body.verdict);
  drawBase(card);
  drawOutline(card);
  cards.push(card);
}

async function inspect(file) {
  const model = currentModel();
  if (!model) { statusLine.textContent = 'no model to inspect with'; return; }
  const card = makeCard(file);
  try {
    const url = 'v1/models/' + encodeURIComponent(model.name) + '/predict?heatmap=png&map=json';
    let res;
    for (let attempt = 0; ; attempt++) {
      res = await fetch(url, { method: 'POST', headers: withToken({ 'content-type': file.type || 'application/octet-stream' }), body: file });
      if (res.status !== 503 || attempt >= 3) break;
      const wait = Number(res.headers.get('retry-after')) || 1;
      card.message.textContent = 'server busy; retrying in ' + wait + ' s';
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
    if (res.status === 401) askForToken();
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + res.status);
    await show(card, file, body);
  } catch (err) {
    card.article.classList.replace('pending', 'failed');
    card.message.textContent = err.message;
  }
}

// One image at a time: the server runs predictions one by one anyway, and its queue is bounded.
function enqueue(files) {
  for (const file of Array.from(files)) chain = chain.then(() => inspect(file));
}

authForm.addEventListener('submit', (e) => {
  e.preventDefault(); // the form only collects the token; nothing is submitted
  saveToken(tokenInput.value.trim());
  tokenInput.value = '';
  statusLine.textContent = 'Loading models\u2026';
  loadModels().catch((err) => { statusLine.textContent = err.message; });
});
modelSelect.addEventListener('change', onModelChange);
slider.addEventListener('input', onThreshold);
heatToggle.addEventListener('change', () => { for (const card of cards) drawBase(card); });
fileInput.addEventListener('change', () => { enqueue(fileInput.files); fileInput.value = ''; });
for (const type of ['dragover', 'drop']) document.addEventListener(type, (e) => e.preventDefault());
drop.addEventListener('dragover', () => drop.classList.add('over'));
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { drop.classList.remove('over'); enqueue(e.dataTransfer.files); });
loadModels().catch((err) => { statusLine.textContent = err.message; });
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Only this page's own script and style run; it talks to this server alone. */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  'img-src data: blob:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PyramidFlow inspection</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>PyramidFlow inspection</h1>
  <form id="auth" hidden><label>Token <input id="token" type="password" autocomplete="current-password" required></label> <button type="submit">Use token</button></form>
  <label>Model <select id="model"></select></label>
  <label>Pixel threshold <input id="threshold" type="range" min="0" max="1" step="0.001" value="0.5"> <output id="threshold-value"></output></label>
  <label><input id="show-heatmap" type="checkbox" checked> heat map</label>
</header>
<main>
  <div id="drop">Drop PNG, JPEG, BMP or TIFF images here, or
    <label><input id="files" type="file" multiple accept="image/png,image/jpeg,image/bmp,image/tiff,.bmp,.tif,.tiff"></label>
  </div>
  <p id="status" role="status">Loading models\u2026</p>
  <section id="results"></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
