/**
 * An error meant for the user: its message is complete and names the file or option at fault.
 * The CLI prints only the message (no stack) for these; anything else is a bug and shows a stack
 * under --debug.
 */
export class PyramidFlowError extends Error {
  /**
   * @param message - The whole message, naming the file or option at fault.
   * @param code - A stable code for programs (the server answers with it): 'E_INPUT' (default),
   *   or a more specific one such as 'E_OPTION' (a bad option), 'E_MODEL_FILE' (a model file
   *   that is not valid or not usable), 'E_DIVERGED' (training diverged), 'E_NOT_JUDGED'.
   */
  constructor(
    message: string,
    readonly code: string = 'E_INPUT',
  ) {
    super(message);
    this.name = 'PyramidFlowError';
  }
}

/** Throws a {@link PyramidFlowError} with this message and code (default 'E_INPUT'). */
export function fail(message: string, code?: string): never {
  throw new PyramidFlowError(message, code);
}
