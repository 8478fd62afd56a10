/**
 * An error meant for the user: its message is complete and names the file or option at fault.
 * The CLI prints only the message (no stack) for these; anything else is a bug and shows a stack
 * under --debug.
 */
export class PyramidFlowError extends Error {
  constructor(message: string, readonly code: string = 'E_INPUT') {
    super(message);
    this.name = 'PyramidFlowError';
  }
}

export function fail(message: string, code?: string): never {
  throw new PyramidFlowError(message, code);
}
