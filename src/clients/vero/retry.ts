/**
 * Retry policy: which outcomes are retried, how long to wait (exponential backoff with full jitter, or what
 * `Retry-After` asks for), within bounded attempts and total time.
 */

import { VeroConfigError } from './errors.js';

export interface RetryOptions {
  /** Total tries, the first included. Default 4; 1 disables retries. */
  attempts?: number;
  /** Backoff base: the n-th retry waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))]. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Budget for all tries and waits together; a wait that would pass it is not taken. */
  maxTotalMs?: number;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxTotalMs: 60_000,
};

export { isRetryableStatus } from './statuses.js';

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new VeroConfigError(
      `VeroClient: retry.${name} must be a non-negative number, got ${String(value)}`,
    );
  }
  return value;
}

export function resolveRetryPolicy(retry: RetryOptions | false | undefined): RetryPolicy {
  if (retry === false) return { ...DEFAULT_RETRY, attempts: 1 };
  const attempts = nonNegative('attempts', retry?.attempts, DEFAULT_RETRY.attempts);
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new VeroConfigError(`VeroClient: retry.attempts must be an integer >= 1, got ${String(attempts)}`);
  }
  return {
    attempts,
    baseDelayMs: nonNegative('baseDelayMs', retry?.baseDelayMs, DEFAULT_RETRY.baseDelayMs),
    maxDelayMs: nonNegative('maxDelayMs', retry?.maxDelayMs, DEFAULT_RETRY.maxDelayMs),
    maxTotalMs: nonNegative('maxTotalMs', retry?.maxTotalMs, DEFAULT_RETRY.maxTotalMs),
  };
}

/**
 * `Retry-After` as milliseconds: either delta-seconds or an HTTP date (past dates mean "now").
 * Undefined when absent or unparseable, in which case the backoff applies.
 */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
