/** A CliContext with buffers for stdout/stderr and an API that records its calls. */
import type { CliApi, CliContext, ServerModule, SynthOptions } from '../../src/cli/context.js';
import type { TestResult } from '../../src/api/types.js';

export interface Buffer {
  text: string;
  isTTY?: boolean;
  write(chunk: string): boolean;
}

export function textBuffer(): Buffer {
  return {
    text: '',
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

export interface FakeContext extends CliContext {
  stdout: Buffer;
  stderr: Buffer;
  calls: Array<{ fn: string; args: unknown[] }>;
}

const notStubbed = (fn: string) => async (): Promise<never> => {
  throw new Error(`fake api: ${fn} not stubbed`);
};

type Services = Pick<CliContext, 'writeReport' | 'synthesize' | 'loadServer'>;

export function fakeContext(api: Partial<CliApi> = {}, services: Partial<Services> = {}): FakeContext {
  const calls: FakeContext['calls'] = [];
  const record = <F extends (...args: never[]) => unknown>(fn: string, impl: F | undefined): F =>
    ((...args: never[]) => {
      calls.push({ fn, args });
      return (impl ?? notStubbed(fn))(...args);
    }) as F;
  return {
    stdout: textBuffer(),
    stderr: textBuffer(),
    calls,
    api: {
      train: record('train', api.train),
      test: record('test', api.test),
      predict: record('predict', api.predict),
      calibrate: record('calibrate', api.calibrate),
      info: record('info', api.info),
      conformance: record('conformance', api.conformance),
      trainingOptions: record('trainingOptions', api.trainingOptions),
    },
    writeReport: record('writeReport', services.writeReport ?? (async (dir: string, _result: TestResult) => `${dir}/index.html`)),
    synthesize: record('synthesize', services.synthesize ?? (async (opts: SynthOptions) => ({ out: opts.out, categories: [] }))),
    loadServer: record(
      'loadServer',
      services.loadServer ??
        (async (): Promise<ServerModule> => {
          throw new Error('no server in this test');
        }),
    ),
    env: {}, // no PYRAMIDFLOW_TOKEN of the shell running the tests
    keepAlive: false,
    exitCode: 0,
  };
}

/** argv as process.argv has it. */
export function argv(...args: string[]): string[] {
  return ['node', 'pyramidflow', ...args];
}
