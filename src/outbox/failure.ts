import { backoffDelay } from '../backoff.js';

/** How a failed delivery is treated, read from the thrown value (src/clients/vero/errors.ts conventions). */
export interface FailureVerdict {
  /** `retryable === false` means the write's own fault: dead at once. Anything else is worth retrying. */
  retryable: boolean;
  /**
   * `pauseDestination === true`: the credential was refused or the account is missing here. Not the write's
   * fault: it stays pending and its destination pauses.
   */
  pauseDestination: boolean;
  /** `maxAttempts` on the error: this kind of failure (e.g. an HTTP 500) is worth that many attempts at most. */
  maxAttempts: number | undefined;
  retryAfterMs: number | undefined;
  /** Message only: never the stack, `cause` or other properties, which might carry request details. */
  message: string;
}

const MAX_MESSAGE_LENGTH = 1000;

const nonNegative = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;

export function classifyFailure(error: unknown): FailureVerdict {
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  return {
    retryable: fields.retryable !== false,
    pauseDestination: fields.pauseDestination === true,
    maxAttempts: nonNegative(fields.maxAttempts),
    retryAfterMs: nonNegative(fields.retryAfterMs),
    message: messageOf(error).slice(0, MAX_MESSAGE_LENGTH),
  };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    return (error as { message: string }).message;
  }
  return `deliver failed with a non-error value (${typeof error})`;
}

/** Delay before the next attempt: the shared backoff, but never sooner than the server asked for with Retry-After. */
export function backoffDelayMs(
  attempts: number,
  retryAfterMs: number | undefined,
  baseDelayMs: number,
  maxDelayMs: number,
): number {
  return Math.max(backoffDelay(attempts, { baseDelayMs, maxDelayMs }), retryAfterMs ?? 0);
}
