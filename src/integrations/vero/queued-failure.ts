import { VeroAuthError, VeroError, VeroValidationError } from '../../clients/vero/errors.js';
import type { QueuedFailure } from '../definition.js';

/**
 * Attempts for a failure that waiting is unlikely to fix but might (an HTTP 500, an unexpected status, an error
 * that is not Vero's): enough to ride out a glitch, few enough that a broken write does not hold its user for a day.
 */
const FEW_ATTEMPTS = 5;

/**
 * What a failed queued delivery means for the write. Only a 400 (Vero names the data) is the write's own fault;
 * a refused credential pauses the account's deliveries; outages, timeouts, 429 and 502-504 are retried for as
 * long as the outbox's retry window lasts.
 */
export function veroQueuedFailure(error: unknown): QueuedFailure {
  if (error instanceof VeroValidationError) return { retryable: false };
  if (error instanceof VeroAuthError) return { pauseDestination: true };
  if (error instanceof VeroError && error.retryable) return { retryable: true };
  return { retryable: true, maxAttempts: FEW_ATTEMPTS };
}
