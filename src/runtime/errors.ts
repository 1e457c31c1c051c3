import { KosmoError, SetupError } from '../errors.js';
import type { QueuedFailure } from '../integrations/definition.js';

export interface ArgumentProblem {
  /** Dotted path of the field, '' for the arguments as a whole. */
  field: string;
  rule: string;
}

/** Arguments that break a function's schema; nothing was sent. */
export class InvalidArgumentsError extends KosmoError {
  readonly fullName: string;
  readonly problems: ArgumentProblem[];

  constructor(fullName: string, problems: ArgumentProblem[]) {
    const text = problems.map(({ field, rule }) => (field ? `${field}: ${rule}` : rule)).join('; ');
    super('invalid_arguments', `${fullName}: ${text}`);
    this.fullName = fullName;
    this.problems = problems;
  }
}

export class UnknownFunctionError extends KosmoError {
  constructor(message: string) {
    super('unknown_function', message);
  }
}

export class UnknownAccountError extends SetupError {
  constructor(message: string) {
    super('unknown_account', message);
  }
}

export class MissingCredentialError extends KosmoError {
  constructor(message: string) {
    super('missing_credential', message);
  }
}

export class PermissionDeniedError extends KosmoError {
  constructor(message: string) {
    super('permission_denied', message);
  }
}

export class UnknownDocPageError extends KosmoError {
  constructor(message: string) {
    super('unknown_doc_page', message);
  }
}

/**
 * A queued delivery that failed, as the outbox reads it: the original code and message, and the integration's
 * verdict on what the failure means for the write (see Integration.queuedFailure).
 */
export class QueuedDeliveryError extends KosmoError {
  readonly retryable: boolean;
  readonly pauseDestination: boolean;
  readonly maxAttempts: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(error: unknown, verdict: QueuedFailure) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    super(
      typeof code === 'string' ? code : 'delivery_failed',
      typeof message === 'string' ? message : String(error),
    );
    const own = error as { retryable?: unknown; retryAfterMs?: unknown };
    this.retryable = verdict.retryable ?? own.retryable !== false;
    this.pauseDestination = verdict.pauseDestination ?? false;
    this.maxAttempts = verdict.maxAttempts;
    this.retryAfterMs = typeof own.retryAfterMs === 'number' ? own.retryAfterMs : undefined;
  }
}

export class ConfigError extends SetupError {
  constructor(message: string) {
    super('invalid_config', message);
  }
}
