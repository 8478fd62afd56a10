/**
 * JSON schemas of the HTTP API: fastify validates params and query strings with them, and
 * @fastify/swagger (openapi.ts) builds the OpenAPI document from them. Replies are serialized
 * with JSON.stringify (index.ts), so a field missing here is never dropped silently: the
 * server tests validate real replies against the document, and `additionalProperties: false`
 * makes them fail on any field the document does not describe.
 */

/** Shared schemas, added with app.addSchema(); routes refer to them as `{ $ref: 'Name#' }`. */
export const ErrorSchema = {
  $id: 'Error',
  description: 'Every 4xx/5xx reply of the service.',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', description: 'Stable machine-readable code, e.g. E_UNKNOWN_MODEL, E_BAD_REQUEST, E_TOO_LARGE, E_BUSY, E_UNAUTHORIZED.' },
        message: { type: 'string', description: 'What went wrong, in words a user can act on (one line, no server paths).' },
      },
      required: ['code', 'message'],
      additionalProperties: false,
    },
  },
  required: ['error'],
  additionalProperties: false,
} as const;

const integer = (description: string, minimum = 0) => ({ type: 'integer', minimum, description }) as const;

export const ModelSchema = {
  $id: 'Model',
  description: 'A model the server serves.',
  type: 'object',
  properties: {
    name: { type: 'string', description: 'The name in URLs (/v1/models/{name}).' },
    file: { type: 'string', description: 'Base name of the model file (never its path).' },
    config: {
      type: 'object',
      description: 'The network configuration.',
      properties: {
        channels: integer('C: channels of the latent pyramid.', 1),
        kernel: integer('k: convolution kernel size (odd).', 1),
        levels: integer('L: pyramid levels.', 2),
        stacks: integer('S: stacks of coupling blocks.', 1),
        volumeNorm: { type: 'string', enum: ['cvn', 'svn'], description: 'Volume normalisation.' },
        height: integer('Model input height in pixels.', 1),
        width: integer('Model input width in pixels.', 1),
        downsample: { type: 'string', enum: ['maxpool', 'nearest'], description: 'Pyramid downsampling.' },
      },
      required: ['channels', 'kernel', 'levels', 'stacks', 'volumeNorm', 'height', 'width', 'downsample'],
      additionalProperties: false,
    },
    thresholds: {
      type: ['object', 'null'],
      description: 'The thresholds verdicts use (null when the model has none: pass threshold and pixel_threshold).',
      properties: {
        image: { type: 'number', description: 'Image-score threshold: a score above it means defect.' },
        pixel: { type: 'number', description: 'Pixel threshold: pixels above it form defect regions.' },
        imageFpr: { type: 'number', description: 'False-positive rate on good images the image threshold was set for.' },
        pixelFpr: { type: 'number', description: 'False-positive rate on good pixels the pixel threshold was set for.' },
        source: { type: 'string', enum: ['holdout', 'train', 'calibrate'], description: 'Which good images set them.' },
        images: integer('How many good images set them.'),
        note: { type: 'string', description: 'A caveat, e.g. too few images to resolve the rate.' },
        scaleMin: { type: 'number', description: 'Bottom of the fixed colour scale of heat maps.' },
        scaleMax: { type: 'number', description: 'Top of the fixed colour scale of heat maps.' },
      },
      required: ['image', 'pixel', 'imageFpr', 'pixelFpr', 'source', 'images', 'scaleMin', 'scaleMax'],
      additionalProperties: false,
    },
    parameters: integer('Trainable parameters.'),
    created_at: { type: 'string', format: 'date-time', description: 'When the model was trained.' },
    loaded_at: { type: 'string', format: 'date-time', description: 'When this server loaded it (last reload).' },
  },
  required: ['name', 'file', 'config', 'thresholds', 'parameters', 'created_at', 'loaded_at'],
  additionalProperties: false,
} as const;

const picture = (what: string) =>
  ({ type: 'string', description: `The ${what} as a PNG: a data URL (pictures=inline) or a one-time URL path under /v1/results (pictures=url).` }) as const;

export const PredictionSchema = {
  $id: 'Prediction',
  description: "One image's result.",
  type: 'object',
  properties: {
    model: { type: 'string', description: 'The model that answered.' },
    score: { type: 'number', description: 'Raw image score: the maximum of the anomaly map.' },
    normalized_score: { type: 'number', minimum: 0, maximum: 1, description: 'The score mapped so that the image threshold is 0.5.' },
    verdict: { type: 'string', enum: ['good', 'defect'], description: 'defect when the score is above the image threshold.' },
    thresholds: {
      type: 'object',
      description: 'The thresholds used: the query overrides, else the model’s (null when neither is set).',
      properties: { image: { type: ['number', 'null'] }, pixel: { type: ['number', 'null'] } },
      required: ['image', 'pixel'],
      additionalProperties: false,
    },
    regions: {
      type: 'array',
      description: 'Connected regions of pixels above the pixel threshold, at the image’s own size.',
      items: {
        type: 'object',
        properties: {
          area: integer('Pixels in the region.', 1),
          x: integer('Left edge of the bounding box.'),
          y: integer('Top edge of the bounding box.'),
          width: integer('Width of the bounding box.', 1),
          height: integer('Height of the bounding box.', 1),
          peak: { type: 'number', description: 'Maximum anomaly score inside.' },
        },
        required: ['area', 'x', 'y', 'width', 'height', 'peak'],
        additionalProperties: false,
      },
    },
    width: integer('The image’s width.', 1),
    height: integer('The image’s height.', 1),
    heatmap: picture('heat map (with heatmap=png)'),
    mask: picture('binary defect mask (with mask=png)'),
    map: {
      type: 'object',
      description: 'With map=json: the anomaly map max-pooled to at most map_size on its longer side, for thresholding in a browser.',
      properties: {
        width: integer('Columns.', 1),
        height: integer('Rows.', 1),
        values: { type: 'array', items: { type: 'number' }, description: 'width × height scores, row-major, 5 significant digits.' },
      },
      required: ['width', 'height', 'values'],
      additionalProperties: false,
    },
    worker: { type: 'string', description: 'With serve --redis: the worker (host:pid) that judged the image.' },
    model_sha256: { type: 'string', description: 'With serve --redis: SHA-256 of the model file the worker judged with.' },
    queued_ms: { type: 'number', minimum: 0, description: 'Time spent waiting for a prediction slot.' },
    elapsed_ms: { type: 'number', minimum: 0, description: 'Time from the request to the reply.' },
  },
  required: ['model', 'score', 'normalized_score', 'verdict', 'thresholds', 'regions', 'width', 'height', 'queued_ms', 'elapsed_ms'],
  additionalProperties: false,
} as const;

export const SHARED_SCHEMAS = [ErrorSchema, ModelSchema, PredictionSchema];

const ref = (id: string) => ({ $ref: `${id}#` }) as const;

/** An error reply: what it means, and its headers when it has some. */
type ErrorDoc = string | { description: string; headers: Record<string, unknown> };

/** The error replies a route documents: its own statuses, plus any other 4xx/5xx in the same shape. */
export function errors(own: Record<number, ErrorDoc> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, doc] of Object.entries(own)) out[status] = { ...(typeof doc === 'string' ? { description: doc } : doc), ...ref('Error') };
  out['4xx'] = { description: 'Another client error (e.g. E_BAD_URL).', ...ref('Error') };
  out['5xx'] = { description: 'Internal error (E_INTERNAL); the server log has the details.', ...ref('Error') };
  return out;
}

const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', description: 'The model name (see GET /v1/models).' } },
  required: ['name'],
} as const;

export const PREDICT_URL = '/v1/models/:name/predict';

export const predictSchema = {
  operationId: 'predict',
  tags: ['predict'],
  summary: 'Inspect one image',
  description:
    'Send one PNG, JPEG, BMP or TIFF image as the body (image/* or application/octet-stream; the format is read from the bytes) or as multipart/form-data with one file field. Predictions run one at a time; a full queue answers 503 with Retry-After.',
  params: nameParams,
  querystring: {
    type: 'object',
    properties: {
      heatmap: { type: 'string', enum: ['png'], description: 'Add the heat map picture.' },
      mask: { type: 'string', enum: ['png'], description: 'Add the binary defect mask picture (pixels above the pixel threshold).' },
      map: { type: 'string', enum: ['json'], description: 'Add the low-resolution anomaly map (`map`).' },
      map_size: { type: 'integer', minimum: 8, maximum: 1024, default: 128, description: 'Longer side of `map`.' },
      pictures: {
        type: 'string',
        enum: ['inline', 'url'],
        default: 'inline',
        description: 'inline: pictures as data URLs; url: one-time URLs, each served once within a minute.',
      },
      threshold: { type: 'number', description: 'Image-score threshold for the verdict (default: the model’s).' },
      pixel_threshold: { type: 'number', description: 'Pixel threshold for regions and mask (default: the model’s).' },
      min_area: { type: 'integer', minimum: 0, description: 'Smallest region in pixels (default 16).' },
    },
    additionalProperties: false, // unknown parameters are refused (400), not ignored
  },
  response: {
    200: { description: 'The prediction.', ...ref('Prediction') },
    ...errors({
      400: 'Bad query parameter, empty body, unreadable image or malformed form.',
      404: 'Unknown model (E_UNKNOWN_MODEL).',
      413: 'Body larger than the server accepts (E_TOO_LARGE) or image with too many pixels (E_TOO_MANY_PIXELS).',
      415: 'Not a PNG, JPEG, BMP or TIFF image, or another content type.',
      503: {
        description: 'Queue full (E_BUSY): retry after the Retry-After seconds.',
        headers: { 'retry-after': { type: 'integer', description: 'Seconds to wait before retrying.' } },
      },
    }),
  },
} as const;

/**
 * The request body of predict, for the document only: it is not JSON, so fastify does not
 * validate it (predict.ts reads and checks it). openapi.ts adds it to the operation.
 */
export const predictBody = {
  content: {
    'image/*': { schema: { type: 'string', format: 'binary', description: 'The image file’s bytes.' } },
    'application/octet-stream': { schema: { type: 'string', format: 'binary', description: 'The image file’s bytes.' } },
    'multipart/form-data': {
      schema: {
        type: 'object',
        properties: {
          file: { type: 'string', format: 'binary', description: 'The image (one file per form; any field name works, text fields are ignored).' },
        },
        required: ['file'],
      },
    },
  },
};

export const resultSchema = {
  operationId: 'getResultPicture',
  tags: ['predict'],
  summary: 'Fetch a picture of a prediction made with pictures=url',
  description: 'Each picture is served once, then gone; unfetched ones expire after a minute.',
  params: {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'The result id from the prediction’s URL.' },
      picture: { type: 'string', description: 'heatmap.png or mask.png' },
    },
    required: ['id', 'picture'],
  },
  response: {
    200: { description: 'The PNG picture.', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } },
    ...errors({ 404: 'No such picture: unknown, already served or expired (E_NOT_FOUND).' }),
  },
} as const;

export const listModelsSchema = {
  operationId: 'listModels',
  tags: ['models'],
  summary: 'List the models',
  response: {
    200: {
      description: 'Every model the server serves.',
      type: 'object',
      properties: { models: { type: 'array', items: ref('Model') } },
      required: ['models'],
      additionalProperties: false,
    },
    ...errors(),
  },
} as const;

export const getModelSchema = {
  operationId: 'getModel',
  tags: ['models'],
  summary: 'Describe one model',
  params: nameParams,
  response: { 200: { description: 'The model.', ...ref('Model') }, ...errors({ 404: 'Unknown model (E_UNKNOWN_MODEL).' }) },
} as const;

export const reloadModelSchema = {
  operationId: 'reloadModel',
  tags: ['models'],
  summary: 'Reload a model from its file',
  description: 'Requests in flight finish on the old model; if the new file fails to load, the old one keeps serving (500 E_RELOAD_FAILED).',
  params: nameParams,
  response: {
    200: {
      description: 'Reloaded.',
      type: 'object',
      properties: { reloaded: { type: 'boolean', enum: [true] }, model: ref('Model') },
      required: ['reloaded', 'model'],
      additionalProperties: false,
    },
    ...errors({ 404: 'Unknown model (E_UNKNOWN_MODEL).', 500: 'The file failed to load (E_RELOAD_FAILED); the old model keeps serving.' }),
  },
} as const;

export const healthSchema = {
  operationId: 'health',
  tags: ['service'],
  summary: 'Health probe (never needs a token)',
  response: {
    200: {
      description: 'The server is up.',
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['ok'] },
        models: { type: 'array', items: { type: 'string' }, description: 'Names of the models served.' },
        queue: {
          type: 'object',
          properties: {
            active: integer('Predictions running.'),
            waiting: integer('Predictions waiting for a slot.'),
            concurrency: integer('Predictions at once.', 1),
            max_waiting: integer('Waiting predictions beyond which requests get 503.'),
          },
          required: ['active', 'waiting', 'concurrency', 'max_waiting'],
          additionalProperties: false,
        },
      },
      required: ['status', 'models', 'queue'],
      additionalProperties: false,
    },
    ...errors(),
  },
} as const;

export const metricsSchema = {
  operationId: 'metrics',
  tags: ['service'],
  summary: 'Prometheus metrics',
  description: 'Requests by model and status, latency histogram, queue gauges, errors by code, reloads.',
  response: {
    200: { description: 'Prometheus text exposition format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } },
    ...errors(),
  },
} as const;

export const pageSchema = {
  operationId: 'page',
  tags: ['page'],
  summary: 'The inspection web page (never needs a token; it asks for one when the API does)',
  response: { 200: { description: 'A self-contained HTML page.', content: { 'text/html': { schema: { type: 'string' } } } }, ...errors() },
} as const;
