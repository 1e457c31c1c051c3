/** Base of every error this project raises on purpose: `code` is stable and safe to branch on. */
export class KosmoError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * An error that means the setup must change before anything can work: the command line, the configuration, an
 * account nobody configured, a client option. The CLI exits 2 for these (1 for everything else), whatever layer or
 * integration raised them.
 */
export class SetupError extends KosmoError {}

/** What every surface (Lua, MCP, the CLI, the call log) reports about an error. */
export interface ErrorInfo {
  code: string;
  message: string;
  /** Said by errors that know whether the same call may succeed later (e.g. Vero's). */
  retryable?: boolean;
}

/** The stable code and message of anything thrown; an error without a code of its own is `internal`. */
export function toErrorInfo(error: unknown): ErrorInfo {
  const { code, message, retryable } = (error ?? {}) as {
    code?: unknown;
    message?: unknown;
    retryable?: unknown;
  };
  const info: ErrorInfo = {
    code: typeof code === 'string' ? code : 'internal',
    message: typeof message === 'string' ? message : String(error),
  };
  if (typeof retryable === 'boolean') info.retryable = retryable;
  return info;
}
