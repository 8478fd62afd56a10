/** The report's inline stylesheet (no fonts or files to fetch). */
export const REPORT_CSS = `
:root { --ink: #1d2330; --muted: #5d6575; --line: #d9dde5; --bg: #f6f7f9; --ok: #1e8449; --bad: #c0392b; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.subtitle { color: var(--muted); margin: 0 0 4px; }
.subtitle code { font-size: 12px; }
table.metrics { border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
table.metrics th, table.metrics td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: right; font-variant-numeric: tabular-nums; }
table.metrics th:first-child, table.metrics td:first-child { text-align: left; }
table.metrics thead th { background: #eef0f4; font-weight: 600; }
table.metrics tr.overall td { font-weight: 600; }
.note { color: var(--muted); font-size: 12px; margin-top: 6px; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 16px; }
svg.chart { width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 4px; }
svg.chart .grid { stroke: #eceef2; stroke-width: 1; }
svg.chart .frame { fill: none; stroke: #9aa1ad; stroke-width: 1; }
svg.chart .tick { font-size: 10px; fill: var(--muted); }
svg.chart .label { font-size: 11px; fill: var(--muted); }
svg.chart .title { font-size: 13px; font-weight: 600; fill: var(--ink); }
svg.chart .legend { font-size: 11px; fill: var(--ink); }
svg.chart .legend-box { fill: #fff; fill-opacity: 0.8; }
svg.chart .series { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg.chart .marker { stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.chart .marker-label { font-size: 10px; }
svg.chart .no-data { font-size: 13px; fill: var(--muted); }
.scale { display: flex; align-items: center; gap: 12px; margin-bottom: 12px; color: var(--muted); font-size: 12px; }
#gallery { display: flex; flex-direction: column; gap: 12px; }
.gallery-item { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--ok); border-radius: 4px; padding: 8px 12px; }
.gallery-item.wrong { border-left-color: var(--bad); }
.gallery-item header { display: flex; flex-wrap: wrap; gap: 14px; align-items: baseline; margin-bottom: 6px; }
.gallery-item .file { font-weight: 600; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.gallery-item .type, .gallery-item .score { color: var(--muted); }
.gallery-item .verdict.ok { color: var(--ok); }
.gallery-item .verdict.bad { color: var(--bad); font-weight: 600; }
.pictures { display: flex; flex-wrap: wrap; gap: 10px; }
.pictures figure { margin: 0; }
.pictures img { display: block; width: 176px; height: auto; image-rendering: pixelated; border: 1px solid var(--line); background: #000; }
.pictures figcaption { font-size: 11px; color: var(--muted); text-align: center; }
`;
