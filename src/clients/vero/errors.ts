import { KosmoError, SetupError } from '../../errors.js';
import { isRetryableStatus } from './statuses.js';

export type VeroErrorCode =
  | 'vero_auth'
  | 'vero_validation'
  | 'vero_rate_limit'
  | 'vero_server'
  | 'vero_network'
  | 'vero_timeout';

export interface VeroErrorDetails {
  /** Endpoint path as in the spec table, e.g. `/users/track`. */
  endpoint: string;
  /** HTTP status, absent when no response arrived (network, timeout, local validation). */
  status?: number;
  /** Vero's own message from the response body, when there was one. */
  veroMessage?: string;
  cause?: unknown;
}

/**
 * Every failure of a Vero request. Messages name the endpoint and status and say what to do next;
 * they never contain the credential.
 */
export class VeroError extends KosmoError {
  declare readonly code: VeroErrorCode;
  readonly endpoint: string;
  readonly status: number | undefined;
  readonly veroMessage: string | undefined;
  /** Whether sending the same request again later may succeed. */
  readonly retryable: boolean;

  constructor(code: VeroErrorCode, message: string, details: VeroErrorDetails, retryable: boolean) {
    super(code, message, { cause: details.cause });
    this.endpoint = details.endpoint;
    this.status = details.status;
    this.veroMessage = details.veroMessage;
    this.retryable = retryable;
  }
}

export class VeroAuthError extends VeroError {
  constructor(message: string, details: VeroErrorDetails) {
    super('vero_auth', message, details, false);
  }
}

export class VeroValidationError extends VeroError {
  /** The offending field (dotted path), when known. */
  readonly field: string | undefined;

  constructor(message: string, details: VeroErrorDetails & { field?: string }) {
    super('vero_validation', message, details, false);
    this.field = details.field;
  }
}

export class VeroRateLimitError extends VeroError {
  /** How long Vero asked us to wait, from `Retry-After`, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: VeroErrorDetails & { retryAfterMs?: number }) {
    super('vero_rate_limit', message, details, true);
    this.retryAfterMs = details.retryAfterMs;
  }
}

export class VeroServerError extends VeroError {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: VeroErrorDetails & { retryAfterMs?: number }) {
    // Matches what the client itself retries: 502, 503 and 504 pass; a 500 or an unexpected 4xx will not by waiting.
    super('vero_server', message, details, details.status !== undefined && isRetryableStatus(details.status));
    this.retryAfterMs = details.retryAfterMs;
  }
}

export class VeroNetworkError extends VeroError {
  constructor(message: string, details: VeroErrorDetails) {
    super('vero_network', message, details, true);
  }
}

export class VeroTimeoutError extends VeroError {
  constructor(message: string, details: VeroErrorDetails) {
    super('vero_timeout', message, details, true);
  }
}

/** The client was set up wrongly (no credential, both credentials, bad base URL or timeout): fix the options. */
export class VeroConfigError extends SetupError {
  declare readonly code: 'vero_config';
  /** The VeroClient option at fault, when one is, e.g. `baseUrl` (callers name it in their own words). */
  readonly option: string | undefined;

  constructor(message: string, option?: string) {
    super('vero_config', message);
    this.option = option;
  }
}
