/**
 * pyramidflow's library entry: the typed API (one function per CLI command) and its types, the
 * HTML report, the HTTP inspection service and the error type.
 * `import { train, test, predict, loadDetector } from 'pyramidflow'`.
 */
export * from './api/index.js';

/**
 * The user-facing error: its message is complete and names the file or option at fault; `code`
 * says what kind it is (`E_USAGE` for an option, `E_INPUT` for bad input, `E_MODEL_FILE`, ...).
 * Anything else thrown is a bug. Test with `err instanceof PyramidFlowError`.
 */
export { PyramidFlowError } from './util/errors.js';

/**
 * The HTML report of a test run: `writeReport(dir, result)` writes one self-contained
 * `dir/index.html` (no requests, opens offline) from what `test` returned and returns its path;
 * `renderReport` returns the HTML. `test({ report: dir })` calls it for you.
 */
export { writeReport, renderReport, type ReportOptions } from './report/index.js';

/**
 * The HTTP inspection service (`pyramidflow serve`): `startServer` loads the models, listens and
 * prints the URL (SIGHUP reloads, SIGINT/SIGTERM close gracefully); `buildServer` returns the
 * Fastify instance with every route without listening (to embed it, or to `inject()` requests);
 * `parseModelSpec('name=file')` reads a `--model` argument.
 */
export { startServer, buildServer, parseModelSpec } from './server/index.js';
export type { ServerOptions, ServeOptions, RunningServer, ModelSpec, DetectorLoader, LogLevel, LogStream } from './server/index.js';
