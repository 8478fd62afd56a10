/**
 * Checks replies against the server's OpenAPI document: the operation must document the reply's
 * status (or its 4XX/5XX range) and media type, and a JSON body must validate against the
 * documented schema. Also lists the routes fastify registered, from app.printRoutes().
 */
import assert from 'node:assert/strict';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';

export interface Media {
  schema?: Record<string, unknown>;
}
export interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content?: Record<string, Media> }>;
}
export interface Doc {
  openapi: string;
  info: { title: string; version: string };
  security?: unknown[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, Record<string, unknown>> };
}

/** The document's operations as [METHOD, path template, operation]. */
export function operations(doc: Doc): Array<[string, string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([m, op]): [string, string, Operation] => [m.toUpperCase(), path, op]));
}

/**
 * Every route fastify registered, as { path: '/v1/models/{name}', methods }, read from the
 * tree that printRoutes({ commonPrefix: false }) draws (4 characters per level; a node's path
 * is its parent's plus its own segment; nodes without methods are only shared prefixes).
 */
export function registeredRoutes(app: FastifyInstance): Array<{ path: string; methods: string[] }> {
  const out: Array<{ path: string; methods: string[] }> = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line.trimEnd());
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack.push(path);
    if (m[3]) out.push({ path: path.replace(/:(\w+)/g, '{$1}'), methods: m[3].split(', ') });
  }
  return out;
}

export class ReplyChecker {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<object, ValidateFunction>();
  /** 'POST /v1/models/{name}/predict 200' for every reply checked. */
  readonly checked = new Set<string>();

  constructor(private readonly doc: Doc) {
    this.ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s));
    this.ajv.addFormat('binary', true);
  }

  /** Asserts the reply is documented and valid; returns its body (parsed when JSON). */
  async check(method: string, template: string, res: Response): Promise<any> {
    const label = `${method} ${template} ${res.status}`;
    const op = this.doc.paths[template]?.[method.toLowerCase()];
    assert.ok(op, `${label}: no such operation in the document`);
    const status = String(res.status);
    const response = op.responses[status] ?? op.responses[`${status[0]}XX`] ?? op.responses.default;
    assert.ok(response, `${label}: status not documented (has ${Object.keys(op.responses).join(', ')})`);
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const media = response.content?.[type];
    assert.ok(media, `${label}: content type ${type} not documented (has ${Object.keys(response.content ?? {}).join(', ')})`);
    const text = await res.text();
    this.checked.add(label);
    if (type !== 'application/json') return text;
    const body = JSON.parse(text);
    const validate = this.validator(media.schema ?? {});
    const problems = (): string => (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`).join('; ');
    assert.ok(validate(body), `${label}: the reply does not match its schema (update src/server/schemas.ts): ${problems()}\n${text.slice(0, 300)}`);
    return body;
  }

  // The schema compiled inside a root that holds the components, so '#/components/schemas/X' resolves.
  private validator(schema: object): ValidateFunction {
    let v = this.compiled.get(schema);
    if (!v) {
      v = this.ajv.compile({ ...schema, components: this.doc.components });
      this.compiled.set(schema, v);
    }
    return v;
  }
}
