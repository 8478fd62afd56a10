/**
 * HTTP errors of the service and how any thrown value becomes the JSON error reply
 * `{ error: { code, message } }` with a 4xx/5xx status.
 */
import { PyramidFlowError } from '../util/errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorReply {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
  /** True when the error is a bug or an outage (worth a stack trace in the log), not bad input. */
  internal: boolean;
}

// Fastify's and its plugins' errors carry a code and a status; the common ones get this
// service's codes and a message a user can act on, so clients see one family of codes (and
// never a framework's wording such as "reach fields limit").
interface Known {
  code: string;
  message?: string;
  status?: number; // when ours differs from the framework's
  headers?: Record<string, string>;
}
const UNAUTHORIZED = { 'www-authenticate': 'Bearer realm="pyramidflow"' };
const FRAMEWORK_ERRORS: Record<string, Known> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'E_TOO_LARGE', message: 'the request body is larger than the server accepts' },
  FST_REQ_FILE_TOO_LARGE: { code: 'E_TOO_LARGE', message: 'the uploaded file is larger than the server accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'E_UNSUPPORTED_MEDIA_TYPE',
    message: 'unsupported content type: send the image as the body (image/* or application/octet-stream) or as multipart/form-data',
  },
  FST_ERR_VALIDATION: { code: 'E_BAD_REQUEST' },
  FST_ERR_BAD_URL: { code: 'E_BAD_URL' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'E_BAD_URL' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'E_EMPTY_BODY' },
  // @fastify/multipart: its limits (set in predict.ts) and malformed forms.
  FST_FILES_LIMIT: { code: 'E_TOO_MANY_FILES', status: 400, message: 'the form holds more than one file; send one image file per request' },
  FST_FIELDS_LIMIT: { code: 'E_TOO_MANY_FIELDS', message: 'the form holds too many text fields; send one image file (text fields are ignored)' },
  FST_PARTS_LIMIT: { code: 'E_TOO_MANY_PARTS', message: 'the form holds too many parts; send one image file' },
  FST_PROTO_VIOLATION: {
    code: 'E_BAD_MULTIPART',
    status: 400,
    message: 'a form field is named like a JavaScript prototype property (such as __proto__); rename it',
  },
  FST_INVALID_JSON_FIELD_ERROR: { code: 'E_BAD_MULTIPART', status: 400, message: 'a form field declared as application/json does not hold valid JSON' },
  FST_MP_PREMATURE_CLOSE: { code: 'E_BAD_MULTIPART', status: 400, message: 'the request ended before the multipart form was complete' },
  // @fastify/bearer-auth (auth.ts).
  FST_BEARER_AUTH_MISSING_AUTHORIZATION_HEADER: {
    code: 'E_UNAUTHORIZED',
    message: 'this server needs a token: send the header "Authorization: Bearer <token>"',
    headers: UNAUTHORIZED,
  },
  FST_BEARER_AUTH_INVALID_AUTHORIZATION_HEADER: {
    code: 'E_UNAUTHORIZED',
    message: 'the token was refused: send this server\'s token as "Authorization: Bearer <token>"',
    headers: { 'www-authenticate': 'Bearer realm="pyramidflow", error="invalid_token"' },
  },
};

/**
 * An error met while reading a multipart form. The framework's own (with a status) and ours pass
 * through; anything else comes from the form parser (busboy: "Boundary not found", "Unexpected
 * end of multipart data", ...) and means the client sent a malformed form: 400, not a 500 with
 * a stack trace in the log.
 */
export function formError(err: unknown): unknown {
  if (err instanceof HttpError || typeof (err as { statusCode?: unknown } | null)?.statusCode === 'number') return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new HttpError(400, 'E_BAD_MULTIPART', `malformed multipart/form-data (${reason}); send one image file in a well-formed form`);
}

export function toErrorReply(err: unknown): ErrorReply {
  if (err instanceof HttpError) {
    return { status: err.status, code: err.code, message: err.message, headers: err.headers, internal: false }; // deliberate replies
  }
  // An image the model could not judge (a non-finite score): the server's fault, never a verdict.
  if (err instanceof PyramidFlowError && err.code === 'E_NOT_JUDGED') {
    return { status: 500, code: err.code, message: err.message, headers: {}, internal: false };
  }
  // Bad input found while decoding or predicting (the API's user-facing errors).
  if (err instanceof PyramidFlowError) {
    return { status: 400, code: err.code, message: err.message, headers: {}, internal: false };
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const known = typeof e?.code === 'string' ? FRAMEWORK_ERRORS[e.code] : undefined;
    const code = known?.code ?? (typeof e?.code === 'string' ? e.code : 'E_BAD_REQUEST');
    const message = known?.message ?? (typeof e?.message === 'string' ? e.message : 'bad request');
    return { status: known?.status ?? status, code, message, headers: known?.headers ?? {}, internal: false };
  }
  return { status: 500, code: 'E_INTERNAL', message: 'internal error; see the server log', headers: {}, internal: true };
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
