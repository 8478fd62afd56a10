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

// Fastify's own errors carry a code and a status; the common ones get this service's codes and
// a message a user can act on, so clients see one family of codes.
const FRAMEWORK_ERRORS: Record<string, { code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'E_TOO_LARGE', message: 'the request body is larger than the server accepts' },
  FST_REQ_FILE_TOO_LARGE: { code: 'E_TOO_LARGE', message: 'the uploaded file is larger than the server accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'E_UNSUPPORTED_MEDIA_TYPE',
    message: 'unsupported content type: send the image as the body (image/* or application/octet-stream) or as multipart/form-data',
  },
  FST_FILES_LIMIT: { code: 'E_TOO_MANY_FILES', message: 'send one image file per request' },
  FST_ERR_VALIDATION: { code: 'E_BAD_REQUEST' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'E_EMPTY_BODY' },
};

export function toErrorReply(err: unknown): ErrorReply {
  if (err instanceof HttpError) {
    return { status: err.status, code: err.code, message: err.message, headers: err.headers, internal: false }; // deliberate replies
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
    return { status, code, message, headers: {}, internal: false };
  }
  return { status: 500, code: 'E_INTERNAL', message: 'internal error; see the server log', headers: {}, internal: true };
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
