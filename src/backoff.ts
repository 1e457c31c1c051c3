/** How long a retry waits, for every retrying part (the Vero client's direct retries, the outbox's deliveries). */

export interface BackoffDelays {
  /** The cap of the first retry's delay; each failed attempt doubles it. */
  baseDelayMs: number;
  /** No delay is longer than this. */
  maxDelayMs: number;
}

/**
 * "Full jitter": uniform in [0, cap) whole milliseconds, cap = baseDelayMs * 2^(failedAttempt - 1) bounded by
 * maxDelayMs. Clients that failed together (an outage, a rate limit) spread out instead of retrying in step.
 * `failedAttempt` counts from 1; `random` is injectable so tests can pin the jitter.
 */
export function backoffDelay(
  failedAttempt: number,
  { baseDelayMs, maxDelayMs }: BackoffDelays,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.floor(random() * cap);
}
