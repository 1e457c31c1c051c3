/** Base of every error this project raises on purpose: `code` is stable and safe to branch on. */
export class KosmoError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
