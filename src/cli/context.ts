/**
 * What the commands need from the outside world, in one object, so tests can run the whole
 * command line with fake streams and a fake API. The defaults import modules lazily, so `--help`
 * stays fast and a command loads only what it uses.
 */
import type * as Api from '../api/index.js';
import type { TrainingOptionsOfModel } from '../api/types.js';
import type { ReportOptions } from '../report/index.js';
import type { TestResult } from '../api/types.js';
import type { SynthOptions, SynthSummary } from '../data/synth.js';
import { PyramidFlowError } from '../util/errors.js';

/** A place to print text (process.stdout, process.stderr, or a test's buffer). */
export interface TextSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type { SynthOptions, SynthSummary };

export interface CliApi {
  train: typeof Api.train;
  test: typeof Api.test;
  predict: typeof Api.predict;
  calibrate: typeof Api.calibrate;
  info: typeof Api.info;
  conformance: typeof Api.conformance;
  /** The options a model was trained with (`info --config`). */
  trainingOptions(file: string): Promise<TrainingOptionsOfModel>;
}

/** The log levels of `serve --log-level` (src/server/access-log.ts: LogLevel). */
export type ServeLogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The part of src/server/index.ts the `serve` command calls. */
export interface ServerModule {
  parseModelSpec(spec: string): { name: string; file: string };
  /** The token from `--token-file` or PYRAMIDFLOW_TOKEN in `env`; undefined when neither is given; errors name the file. */
  resolveToken(opts: { tokenFile?: string; env?: Record<string, string | undefined> }): Promise<string | undefined>;
  startServer(opts: {
    models: Array<{ name: string; file: string }>;
    port?: number;
    host?: string;
    threads?: number;
    maxQueue?: number;
    token?: string;
    insecure?: boolean;
    logLevel?: ServeLogLevel;
  }): Promise<{ url: string }>;
}

export interface CliContext {
  stdout: TextSink;
  stderr: TextSink;
  api: CliApi;
  writeReport(dir: string, result: TestResult, opts?: ReportOptions): Promise<string>;
  synthesize(opts: SynthOptions): Promise<SynthSummary>;
  loadServer(): Promise<ServerModule>;
  /** The environment (PYRAMIDFLOW_TOKEN); process.env when left out. */
  env?: Record<string, string | undefined>;
  /** Set by a command that leaves work running (the server), so the entry does not exit. */
  keepAlive: boolean;
  /** Set by a command that finished but must report failure (a failed conformance check). */
  exitCode: number;
}

const api = (): Promise<typeof Api> => import('../api/index.js');

/** A clear message when an optional part of the package is missing from this build. */
function missingModule(err: unknown, path: string, what: string): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(path)) {
    return new PyramidFlowError(`${what} is not part of this build (${path} is missing)`, 'E_MISSING');
  }
  return err;
}

export function defaultContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    api: {
      // Each command loads only its own part of the API (not the exporters' protobuf, say):
      // start-up counts in `predict` on a folder.
      train: async (opts, onProgress) => (await import('../api/train.js')).train(opts, onProgress),
      test: async (opts) => (await import('../api/evaluate.js')).test(opts),
      predict: async (opts, onResult) => (await import('../api/predict.js')).predict(opts, onResult),
      calibrate: async (opts) => (await import('../api/predict.js')).calibrate(opts),
      info: async (file) => (await import('../api/predict.js')).info(file),
      conformance: async (file, options) => (await api()).conformance(file, options),
      trainingOptions: async (file) => (await import('../api/train.js')).trainingOptions(file),
    },
    writeReport: async (dir, result, opts) => (await import('../report/index.js')).writeReport(dir, result, opts),
    synthesize: async (opts) => (await import('../data/synth.js')).synthesize(opts),
    loadServer: async () => {
      try {
        return await import('../server/index.js');
      } catch (err) {
        throw missingModule(err, 'server/index', 'the server');
      }
    },
    env: process.env,
    keepAlive: false,
    exitCode: 0,
  };
}
