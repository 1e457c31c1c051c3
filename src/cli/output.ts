import { SetupError } from '../errors.js';

/** Exit codes, documented in the README: 0 ok, 1 script or call error, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Wrong use of the command line (bad JSON arguments, conflicting flags): exit 2. */
export class UsageError extends SetupError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** `1 row`, `2 rows`. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A previewed request on one line: `POST https://…/users/track {"auth_token":"[REDACTED]",…}`. */
export function requestLine(request: unknown): string {
  const { method, url, body } = (request ?? {}) as { method?: unknown; url?: unknown; body?: unknown };
  if (typeof method !== 'string' || typeof url !== 'string') return JSON.stringify(request);
  return body === undefined ? `${method} ${url}` : `${method} ${url} ${JSON.stringify(body)}`;
}

/** C0 controls but tab and newline, DEL and C1 controls: what a terminal may act on (title, clear, OSC 52). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const TERMINAL_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text from a script or a remote service made safe for a person's terminal: control characters other than newline
 * and tab are shown escaped (`\x1b`), so a printed escape sequence cannot retitle the window, clear the screen or
 * write the clipboard. `--json` output needs none of this: JSON escapes them already.
 */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_CONTROLS, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function exitCodeFor(error: unknown): number {
  return error instanceof SetupError ? EXIT_USAGE : EXIT_FAILURE;
}
