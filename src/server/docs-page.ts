/**
 * The API reference served at GET /docs: one HTML page rendered on the server from the OpenAPI
 * document (openapi.ts), so it always says what /openapi.json says. It runs no script and loads
 * nothing: its only style is inline (allowed by hash), and its CSP forbids everything else.
 */
import { createHash } from 'node:crypto';

/** The parts of an OpenAPI 3.0 document (and its JSON schemas) that the page shows. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  nullable?: boolean;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}
interface Media {
  schema?: Schema;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  description?: string;
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string; schema?: Schema }>;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content?: Record<string, Media>; headers?: Record<string, { description?: string }> }>;
}
export interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  tags?: Array<{ name: string; description?: string }>;
  security?: unknown[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema>; securitySchemes?: Record<string, unknown> };
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d1f23; background: #f4f5f7; }
header { padding: .8em 1.2em; background: #1d1f23; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; }
header a { color: #9cf; }
main { padding: 0 1.2em 2em; max-width: 70em; }
section.op, section.schema { background: #fff; border-radius: 8px; padding: .4em 1em .8em; margin: 1em 0; box-shadow: 0 1px 3px #0002; }
h2 { margin: 1.4em 0 .2em; font-size: 1.1em; }
h3 { font-size: 1em; }
h4 { margin: .8em 0 .3em; font-size: .95em; color: #444; }
.method { display: inline-block; min-width: 3.6em; text-align: center; border-radius: 4px; color: #fff; font: 600 12px/1.8 ui-monospace, monospace; }
.get { background: #1a7f4b; } .post { background: #1f5fbf; }
table { border-collapse: collapse; margin: .2em 0; }
td, th { border-top: 1px solid #e3e5e8; padding: .25em .6em .25em 0; text-align: left; vertical-align: top; }
td:first-child { white-space: nowrap; }
th { color: #666; font-weight: 500; }
td table { font-size: .95em; }
code { font: 13px ui-monospace, monospace; }
.req { color: #b00020; }
.muted { color: #666; }
nav ul { padding-left: 1.2em; }
`;

const esc = (text: unknown): string => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Description text: OpenAPI descriptions are Markdown; only `code` spans are rendered. */
const prose = (text: string | undefined): string => esc(text ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');
const code = (value: unknown): string => `<code>${esc(typeof value === 'string' ? value : JSON.stringify(value))}</code>`;
const schemaName = (ref: string): string => ref.replace(/^#\/components\/schemas\//, '');
const anchor = (prefix: string, name: string): string => `${prefix}-${name.replace(/[^\w-]/g, '_')}`;

/** One line saying what values a schema takes; nested object properties come as a table after it. */
function typeText(s: Schema): string {
  if (s.$ref) return `<a href="#${anchor('schema', schemaName(s.$ref))}">${esc(schemaName(s.$ref))}</a>`;
  const types = Array.isArray(s.type) ? s.type : [s.type ?? 'any'];
  let text = types.map((t) => (t === 'array' && s.items ? `array of ${typeText(s.items)}` : esc(t))).join(' or ');
  if (s.nullable) text += ' or null';
  if (s.format) text += ` (${esc(s.format)})`;
  if (s.enum) text += `: ${s.enum.map(code).join(', ')}`;
  if (s.minimum !== undefined && s.maximum !== undefined) text += `, ${s.minimum} to ${s.maximum}`;
  else if (s.minimum !== undefined) text += `\u00a0≥\u00a0${s.minimum}`;
  else if (s.maximum !== undefined) text += `\u00a0≤\u00a0${s.maximum}`;
  if (s.default !== undefined) text += `, default ${code(s.default)}`;
  return text;
}

function schemaHtml(s: Schema | undefined): string {
  if (!s) return '';
  const described = s.description ? `<div class="muted">${prose(s.description)}</div>` : '';
  const inner = s.type === 'array' && s.items?.properties ? s.items : s;
  if (!inner.properties) return `${typeText(s)}${described}`;
  const rows = Object.entries(inner.properties).map(([name, p]) => {
    const required = inner.required?.includes(name) ? ' <span class="req" title="always present">*</span>' : '';
    const nested = p.properties || p.items?.properties ? schemaHtml({ ...p, description: undefined }) : typeText(p);
    return `<tr><td>${code(name)}${required}</td><td>${nested}</td><td>${prose(p.description)}</td></tr>`;
  });
  return `${typeText(s)}${described}<table>${rows.join('')}</table>`;
}

function contentHtml(content: Record<string, Media> | undefined): string {
  return Object.entries(content ?? {})
    .map(([type, media]) => `<div>${code(type)}: ${schemaHtml(media.schema)}</div>`)
    .join('');
}

function operationHtml(method: string, path: string, op: Operation, guarded: boolean): string {
  const id = anchor('op', op.operationId ?? `${method}-${path}`);
  const parts = [`<section class="op" id="${id}"><h3><span class="method ${method}">${method.toUpperCase()}</span> ${code(path)}</h3>`];
  if (op.summary) parts.push(`<p><strong>${esc(op.summary)}</strong></p>`);
  if (op.description) parts.push(`<p>${prose(op.description)}</p>`);
  if (guarded) parts.push(`<p class="muted">Needs ${code('Authorization: Bearer <token>')}.</p>`);
  if (op.parameters?.length) {
    const rows = op.parameters.map(
      (p) =>
        `<tr><td>${code(p.name)}${p.required ? ' <span class="req">*</span>' : ''}</td><td>${esc(p.in)}</td><td>${p.schema ? typeText(p.schema) : ''}</td><td>${prose(p.description)}</td></tr>`,
    );
    parts.push(`<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>values</th><th></th></tr>${rows.join('')}</table>`);
  }
  if (op.requestBody) parts.push(`<h4>Request body</h4>${contentHtml(op.requestBody.content)}`);
  const rows = Object.entries(op.responses).map(([status, r]) => {
    const headers = Object.entries(r.headers ?? {}).map(([name, h]) => `<div>header ${code(name)}: ${prose(h.description)}</div>`);
    return `<tr><td>${code(status)}</td><td>${prose(r.description)}${headers.join('')}</td><td>${contentHtml(r.content)}</td></tr>`;
  });
  parts.push(`<h4>Responses</h4><table>${rows.join('')}</table></section>`);
  return parts.join('\n');
}

/** The page for a document (rendered once per server: the document does not change). */
export function docsHtml(doc: OpenApiDocument): string {
  const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
  const tags = [...(doc.tags ?? []), ...ops.flatMap(({ op }) => op.tags ?? []).map((name) => ({ name, description: undefined }))];
  const seen = new Set<string>();
  const groups = tags
    .filter((t) => !seen.has(t.name) && seen.add(t.name))
    .map((tag) => ({ tag, ops: ops.filter(({ op }) => op.tags?.includes(tag.name)) }))
    .filter((g) => g.ops.length > 0);
  const guarded = (op: Operation): boolean => (op.security ?? doc.security ?? []).length > 0;
  const toc = groups
    .map(({ tag, ops: list }) => {
      const items = list.map(
        ({ path, method, op }) =>
          `<li><a href="#${anchor('op', op.operationId ?? `${method}-${path}`)}">${method.toUpperCase()} ${esc(path)}</a> ${esc(op.summary ?? '')}</li>`,
      );
      return `<li>${esc(tag.name)}<ul>${items.join('')}</ul></li>`;
    })
    .join('');
  const body = groups.map(({ tag, ops: list }) => {
    const heading = `<h2>${esc(tag.name)}</h2>${tag.description ? `<p>${prose(tag.description)}</p>` : ''}`;
    return heading + list.map(({ path, method, op }) => operationHtml(method, path, op, guarded(op))).join('\n');
  });
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(
    ([name, s]) => `<section class="schema" id="${anchor('schema', name)}"><h3>${esc(name)}</h3>${schemaHtml(s)}</section>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} ${esc(doc.info.version)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1>${esc(doc.info.title)} <span class="muted">${esc(doc.info.version)}</span></h1>
<p>${prose(doc.info.description)} The same as an OpenAPI 3 document: <a href="openapi.json">/openapi.json</a>. <span class="req">*</span> marks what is always present or required.</p></header>
<main>
<nav><h2>Routes</h2><ul>${toc}</ul></nav>
${body.join('\n')}
<h2>Schemas</h2>
${schemas.join('\n')}
</main>
</body>
</html>
`;
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** No script, nothing loaded: only the page's own style (and the empty data: icon). */
export const DOCS_CSP = ["default-src 'none'", `style-src ${sha256(STYLE)}`, 'img-src data:', "base-uri 'none'", "form-action 'none'"].join('; ');
