/** How a failed delivery is treated, read from the thrown value (src/vero/errors.ts conventions). */
export interface FailureVerdict {
  /** `retryable === false` means permanent; anything else (including no such field) is worth retrying. */
  retryable: boolean;
  retryAfterMs: number | undefined;
  /** Message only: never the stack, `cause` or other properties, which might carry request details. */
  message: string;
}

const MAX_MESSAGE_LENGTH = 1000;

export function classifyFailure(error: unknown): FailureVerdict {
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const retryAfter = fields.retryAfterMs;
  return {
    retryable: fields.retryable !== false,
    retryAfterMs:
      typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0
        ? retryAfter
        : undefined,
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

/**
 * Delay before the next attempt: "full jitter" (uniform in [0, cap], cap = base * 2^(attempts-1) bounded by
 * maxDelayMs), but never sooner than the server asked for with Retry-After.
 */
export function backoffDelayMs(
  attempts: number,
  retryAfterMs: number | undefined,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempts - 1));
  const jittered = Math.floor(random() * cap);
  return Math.max(jittered, retryAfterMs ?? 0);
}
