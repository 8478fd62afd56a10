/**
 * The API description: @fastify/swagger builds an OpenAPI 3 document from the routes' schemas
 * (schemas.ts), served at GET /openapi.json and as a page at GET /docs (docs-page.ts). With a
 * token, both are guarded like /v1/* (auth.ts guards every route but /healthz and /), and the
 * document declares the bearer scheme: every operation needs it but those of the open routes.
 * Call registerOpenApi before declaring routes: the plugin collects them as they are added.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { PROGRAM } from '../util/version.js';
import { isOpenRoute } from './auth.js';
import { DOCS_CSP, docsHtml, type OpenApiDocument } from './docs-page.js';
import { errors, PREDICT_URL, predictBody, SHARED_SCHEMAS } from './schemas.js';

const DESCRIPTION =
  'Unsupervised defect localisation with PyramidFlow: send an image, get its anomaly score, verdict and defect regions. Errors are JSON `{"error":{"code","message"}}` with a 4xx/5xx status.';

const TAGS = [
  { name: 'predict', description: 'Inspect images.' },
  { name: 'models', description: 'The models served.' },
  { name: 'service', description: 'Health and metrics.' },
  { name: 'page', description: 'The web page for people.' },
];

/** Bodies that fastify does not parse as JSON, described for the document only (by route URL). */
const DOCUMENTED_BODIES: Record<string, unknown> = { [PREDICT_URL]: predictBody };

const UNAUTHORIZED = errors({
  401: {
    description: 'Missing or wrong token (E_UNAUTHORIZED).',
    headers: { 'www-authenticate': { type: 'string', description: 'Bearer realm="pyramidflow"' } },
  },
})[401];

/** A route's schema as the document shows it: its body, and whether it needs the token. */
function documented(schema: FastifySchema, url: string, guarded: boolean): FastifySchema {
  const out: Record<string, unknown> = { ...schema };
  if (DOCUMENTED_BODIES[url]) out.body = DOCUMENTED_BODIES[url];
  if (guarded && isOpenRoute(url)) out.security = []; // overrides the document-wide requirement
  if (guarded && !isOpenRoute(url)) out.response = { ...(schema.response as object), 401: UNAUTHORIZED };
  return out as FastifySchema;
}

export async function registerOpenApi(app: FastifyInstance, opts: { token?: string }): Promise<void> {
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  const guarded = opts.token !== undefined;
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'PyramidFlow inspection API', version: PROGRAM.version, description: DESCRIPTION },
      tags: TAGS,
      ...(guarded && {
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: "This server's token." } } },
        security: [{ bearer: [] }],
      }),
    },
    // Shared schemas appear under their own names (components/schemas/Model), not def-0, def-1...
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url }) => ({ url, schema: documented(schema ?? {}, url, guarded) }),
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  let page: string | undefined; // the document is complete once the server is ready
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) => {
    page ??= docsHtml(app.swagger() as unknown as OpenApiDocument);
    return reply.type('text/html; charset=utf-8').header('content-security-policy', DOCS_CSP).send(page);
  });
}
