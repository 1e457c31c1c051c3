import { KosmoError } from '../errors.js';

export type OutboxErrorCode =
  | 'outbox_invalid_job'
  | 'outbox_closed'
  | 'outbox_unknown_job'
  | 'outbox_invalid_option'
  | 'outbox_not_retryable';

/** A misuse of the outbox (bad job, bad option, use after close). Delivery failures are stored, not thrown. */
export class OutboxError extends KosmoError {
  declare readonly code: OutboxErrorCode;

  constructor(code: OutboxErrorCode, message: string) {
    super(code, message);
  }
}
