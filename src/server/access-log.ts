/**
 * The access log: one JSON line per request through fastify's own pino logger, in place of
 * fastify's two ("incoming request", "request completed"). A client error is only this line,
 * with its error code and message, at info level and without a stack, so that bad requests
 * cannot fill the log with stack traces; internal errors are logged with their stack by the
 * error handler (index.ts).
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** Levels of the JSON log, as pino names them; 'silent' logs nothing. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Where the JSON lines go (default stdout): anything with write(line), e.g. a file stream. */
export interface LogStream {
  /** Takes one JSON line (with its newline). */
  write(line: string): void;
}

const errors = new WeakMap<FastifyRequest, { code: string; message: string }>();

/** Remembers the error reply of a request for its access line. */
export function noteError(request: FastifyRequest, code: string, message: string): void {
  errors.set(request, { code, message });
}

export class AccessLog extends LogController {
  override incomingRequest(): void {} // the access line is written once the reply is sent

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const noted = errors.get(request);
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 100) / 100, // ms
      remoteAddress: request.ip,
      ...(noted && { code: noted.code, error: noted.message }),
    };
    // `error` is set when writing the reply or an onResponse hook failed (the error handler has not seen it).
    if (error) reply.log.error({ ...line, err: error }, 'request completed with an error');
    else reply.log.info(line, 'request completed');
  }
}
