/**
 * Turn what went wrong on the wire into a typed VeroError whose message names the endpoint and status,
 * quotes Vero, and says what to do next. Nothing here keeps a reference to the request, the fetch error or
 * the credential: causes are rebuilt as plain errors from scrubbed text.
 */

import { redact } from '../../secrets.js';
import {
  VeroAuthError,
  type VeroError,
  VeroNetworkError,
  VeroRateLimitError,
  VeroServerError,
  VeroTimeoutError,
  VeroValidationError,
} from './errors.js';

function quoted(veroMessage: string | undefined): string {
  return veroMessage === undefined || veroMessage === '' ? '' : `: "${veroMessage}"`;
}

function tries(attempts: number): string {
  return attempts > 1 ? `; ${attempts} attempts` : '';
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)} s`;
}

export function errorForStatus(
  endpoint: string,
  status: number,
  veroMessage: string | undefined,
  retryAfterMs: number | undefined,
  attempts = 1,
): VeroError {
  const said = quoted(veroMessage) + tries(attempts);
  const details = { endpoint, status, veroMessage };
  if (status === 401 || status === 403) {
    return new VeroAuthError(
      `Vero ${endpoint} refused the credential (HTTP ${status}${said}). Check the auth token or tracking API key configured for this account.`,
      details,
    );
  }
  if (status === 400 || status === 422) {
    return new VeroValidationError(
      `Vero ${endpoint} rejected the request data (HTTP ${status}${said}). Fix the arguments; sending the same request again will fail the same way.`,
      details,
    );
  }
  if (status === 429) {
    const wait = retryAfterMs === undefined ? 'Slow down' : `Wait at least ${seconds(retryAfterMs)}`;
    return new VeroRateLimitError(
      `Vero ${endpoint} is rate limiting (HTTP 429${said}). ${wait} before sending again.`,
      { ...details, retryAfterMs },
    );
  }
  if (status >= 500) {
    const next =
      status === 500 || status === 501
        ? "This is an error on Vero's side that retrying is unlikely to fix; check the request and Vero's status page."
        : 'Vero is temporarily unavailable; try again later.';
    return new VeroServerError(`Vero ${endpoint} failed (HTTP ${status}${said}). ${next}`, {
      ...details,
      retryAfterMs,
    });
  }
  return new VeroServerError(
    `Vero ${endpoint} answered unexpectedly (HTTP ${status}${said}). Check the configured base URL points at the Vero Track API (v2).`,
    details,
  );
}

export function timeoutError(
  endpoint: string,
  timeoutMs: number,
  attempts = 1,
  setting = 'timeoutMs',
): VeroTimeoutError {
  return new VeroTimeoutError(
    `Vero ${endpoint} did not answer within ${timeoutMs} ms (no response${tries(attempts)}). Try again later, or raise ${setting} if Vero is just slow.`,
    { endpoint, cause: new Error(`timed out after ${timeoutMs} ms`) },
  );
}

/** Short, credential-free description of a fetch failure, e.g. `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`. */
export function describeFetchFailure(err: unknown, secret: string): string {
  let root: unknown = err;
  // undici wraps the interesting error: TypeError('fetch failed', { cause: { code, message } }).
  for (let depth = 0; depth < 4; depth++) {
    const next = (root as { cause?: unknown } | null)?.cause;
    if (!(next instanceof Error)) break;
    root = next;
  }
  // Happy eyeballs (Node 20's autoSelectFamily) fails with an AggregateError whose own message is empty.
  if (root instanceof AggregateError && root.message === '' && root.errors[0] instanceof Error) {
    root = root.errors[0];
  }
  const code = (root as { code?: unknown } | null)?.code;
  const message = root instanceof Error ? root.message : String(root);
  const text = typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  // Redact before cutting: a cut through the secret would leave its prefix unredacted.
  return redact(text, secret).slice(0, 300);
}

export function networkError(endpoint: string, reason: string, attempts = 1): VeroNetworkError {
  return new VeroNetworkError(
    `Could not reach Vero ${endpoint} (no response: ${reason}${tries(attempts)}). Check network access and the configured base URL, then try again.`,
    { endpoint, cause: new Error(reason) },
  );
}
