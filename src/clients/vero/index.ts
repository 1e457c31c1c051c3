export {
  type AttemptInfo,
  DEFAULT_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  VeroClient,
  type VeroClientOptions,
} from './client.js';
export {
  VeroAuthError,
  VeroConfigError,
  VeroError,
  type VeroErrorCode,
  VeroNetworkError,
  VeroRateLimitError,
  VeroServerError,
  VeroTimeoutError,
  VeroValidationError,
} from './errors.js';
export {
  type EditTagsInput,
  type EditUserInput,
  type HeartbeatResult,
  type HttpMethod,
  type IdentifyInput,
  type PreparedRequest,
  REDACTED,
  type ReidentifyInput,
  type TrackEventInput,
  type UserIdInput,
  VERO_OPERATIONS,
  type VeroInputs,
  type VeroOperation,
  type VeroResult,
  type VeroWriteOperation,
} from './operations.js';
export { DEFAULT_RETRY, parseRetryAfter, type RetryOptions, type RetryPolicy } from './retry.js';
export { MAX_FIELD_LENGTH } from './validate.js';
export { CLIENT_VERSION } from './version.js';
