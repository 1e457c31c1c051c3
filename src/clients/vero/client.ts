/**
 * VeroClient: one method per Track API endpoint. Each public method is validate -> build body -> send
 * (async, so invalid input is a rejected promise, not a synchronous throw);
 * `#send` owns the protocol: credential in the JSON body, per-attempt timeout, retries, typed errors;
 * transport.ts puts the bytes on the wire (node:http(s) keep-alive by default, or a given fetch).
 *
 * Retries are hand-written rather than taken from ky 1.x or p-retry 7: the policy needs "stop when
 * Retry-After exceeds the remaining budget" and errors that never hold the request (ky's HTTPError keeps the
 * Request, whose body carries the credential). The loop below is ~60 lines and adds no dependency.
 */
import { backoffDelay } from '../../backoff.js';
import { REDACTED, redact } from '../../secrets.js';
import { VeroConfigError } from './errors.js';
import { describeFetchFailure, errorForStatus, networkError, timeoutError } from './failures.js';
import {
  type EditTagsInput,
  type EditUserInput,
  type HeartbeatResult,
  type IdentifyInput,
  type PreparedRequest,
  type ReidentifyInput,
  type TrackEventInput,
  type UserIdInput,
  VERO_OPERATIONS,
  type VeroInputs,
  type VeroOperation,
  type VeroResult,
  type VeroWriteOperation,
} from './operations.js';
import {
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  type RetryPolicy,
  resolveRetryPolicy,
} from './retry.js';
import { fetchTransport, httpTransport, type Transport, TransportTimeout } from './transport.js';
import { BODY_BUILDERS, type WireBody } from './validate.js';
import { DEFAULT_USER_AGENT } from './version.js';

export const DEFAULT_BASE_URL = 'https://api.getvero.com/api/v2';
export const DEFAULT_TIMEOUT_MS = 30_000;
const DUPLICATE_MESSAGE = 'Request already received.';

/** Reported after every attempt; never contains the credential. */
export interface AttemptInfo {
  operation: VeroOperation;
  /** 1 for the first try. */
  attempt: number;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** What went wrong, when it did (e.g. `HTTP 503: "Service Unavailable"`, `timeout after 300 ms`). */
  error?: string;
  /** Wait before the next attempt, when there will be one. */
  delayMs?: number;
}

export interface VeroClientOptions {
  /** Legacy credential, sent as `auth_token` in the JSON body. Give this or `trackingApiKey`. */
  authToken?: string;
  /** Newer credential, sent as `tracking_api_key` in the JSON body. */
  trackingApiKey?: string;
  /** API base, default `https://api.getvero.com/api/v2`; a trailing slash is fine. */
  baseUrl?: string;
  /** Per attempt, default 30 000. */
  timeoutMs?: number;
  /** What a caller changes for a longer timeout, named in timeout errors; default `timeoutMs`. */
  timeoutSetting?: string;
  /** Retry policy for network errors, timeouts, 429, 502, 503, 504; `false` disables retries. */
  retry?: RetryOptions | false;
  /** Send through this fetch instead of the default node:http(s) keep-alive transport. */
  fetch?: typeof fetch;
  /** `User-Agent` header, default `kosmo-vero/<version>`. */
  userAgent?: string;
  /** Logging hook, called after each attempt. Exceptions it throws are ignored. */
  onAttempt?: (info: AttemptInfo) => void;
  /** The clock for the retry budget and `Retry-After` dates; default the system's. Tests pass one they move. */
  now?: () => Date;
  /** How the client waits between attempts; default a timer. Tests pass one that records the wait instead. */
  sleep?: (ms: number) => Promise<void>;
}

type Outcome =
  | { kind: 'status'; status: number; veroMessage: string | undefined; retryAfterMs: number | undefined }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'network'; reason: string };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Vero's `message` from a JSON body, else the (shortened) text, with the credential redacted. Redaction runs on
 * decoded text: a body that echoes the credential with JSON escapes (`\u0041`, `\/`) only spells it out once parsed,
 * so a JSON body without a message is shown re-encoded (escapes undone), never raw.
 */
function messageOf(text: string, secret: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let decoded = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { message?: unknown; error?: unknown };
      if (typeof parsed.message === 'string') decoded = parsed.message;
      else if (typeof parsed.error === 'string') decoded = parsed.error;
      else decoded = JSON.stringify(parsed);
    } catch {
      // Not JSON after all: the raw text is all there is.
    }
  }
  // Redact before cutting: a cut through the secret would leave its prefix unredacted.
  return shortened(redact(decoded, secret));
}

function shortened(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

/** What fetch calls `res.ok`. */
function isOk(status: number): boolean {
  return status >= 200 && status <= 299;
}

function describeOutcome(outcome: Outcome): string {
  if (outcome.kind === 'timeout') return `timeout after ${outcome.timeoutMs} ms`;
  if (outcome.kind === 'network') return `network: ${outcome.reason}`;
  return outcome.veroMessage === undefined
    ? `HTTP ${outcome.status}`
    : `HTTP ${outcome.status}: "${outcome.veroMessage}"`;
}

export class VeroClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #timeoutSetting: string;
  readonly retry: Readonly<RetryPolicy>;
  /** Which credential parameter is sent; the value itself is private. */
  readonly credentialParam: 'auth_token' | 'tracking_api_key';
  readonly #secret: string;
  /** The start of every request body: `{"auth_token":"…"` (the credential goes first, then the fields). */
  readonly #bodyStart: string;
  readonly #transport: Transport;
  readonly #headers: Record<string, string>;
  readonly #onAttempt: ((info: AttemptInfo) => void) | undefined;
  readonly #now: (() => Date) | undefined;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: VeroClientOptions) {
    const { authToken, trackingApiKey } = options;
    const hasToken = typeof authToken === 'string' && authToken !== '';
    const hasKey = typeof trackingApiKey === 'string' && trackingApiKey !== '';
    if (hasToken === hasKey) {
      throw new VeroConfigError(
        hasToken
          ? 'VeroClient: give exactly one credential, authToken or trackingApiKey, not both.'
          : 'VeroClient: a credential is required: set authToken (legacy auth token) or trackingApiKey (tracking API key).',
      );
    }
    this.credentialParam = hasToken ? 'auth_token' : 'tracking_api_key';
    this.#secret = (hasToken ? authToken : trackingApiKey) as string;

    const base = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    let protocol: string;
    try {
      protocol = new URL(base).protocol;
    } catch {
      throw new VeroConfigError(`VeroClient: baseUrl is not a URL: ${JSON.stringify(base)}.`, 'baseUrl');
    }
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new VeroConfigError(
        `VeroClient: baseUrl must be http(s), got ${JSON.stringify(base)}.`,
        'baseUrl',
      );
    }
    this.baseUrl = base;
    this.#bodyStart = `{${JSON.stringify(this.credentialParam)}:${JSON.stringify(this.#secret)}`;

    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new VeroConfigError(`VeroClient: timeoutMs must be a positive number, got ${String(timeoutMs)}.`);
    }
    this.timeoutMs = timeoutMs;
    this.#timeoutSetting = options.timeoutSetting ?? 'timeoutMs';
    this.retry = Object.freeze(resolveRetryPolicy(options.retry));
    this.#transport = options.fetch === undefined ? httpTransport : fetchTransport(options.fetch);
    this.#headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': options.userAgent ?? DEFAULT_USER_AGENT,
    };
    this.#onAttempt = options.onAttempt;
    this.#now = options.now;
    this.#sleep = options.sleep ?? sleep;
  }

  /** Milliseconds for the retry budget: monotonic, unless the caller brought its own clock. */
  #elapsedClock(): number {
    return this.#now?.().getTime() ?? performance.now();
  }

  async identify(input: IdentifyInput): Promise<VeroResult> {
    return this.#send('identify', BODY_BUILDERS.identify(input));
  }

  async editUser(input: EditUserInput): Promise<VeroResult> {
    return this.#send('editUser', BODY_BUILDERS.editUser(input));
  }

  async editTags(input: EditTagsInput): Promise<VeroResult> {
    return this.#send('editTags', BODY_BUILDERS.editTags(input));
  }

  async unsubscribe(input: UserIdInput): Promise<VeroResult> {
    return this.#send('unsubscribe', BODY_BUILDERS.unsubscribe(input));
  }

  async resubscribe(input: UserIdInput): Promise<VeroResult> {
    return this.#send('resubscribe', BODY_BUILDERS.resubscribe(input));
  }

  async reidentify(input: ReidentifyInput): Promise<VeroResult> {
    return this.#send('reidentify', BODY_BUILDERS.reidentify(input));
  }

  async deleteUser(input: UserIdInput): Promise<VeroResult> {
    return this.#send('deleteUser', BODY_BUILDERS.deleteUser(input));
  }

  async trackEvent(input: TrackEventInput): Promise<VeroResult> {
    return this.#send('trackEvent', BODY_BUILDERS.trackEvent(input));
  }

  /** GET /heartbeat without credential or retries. Never throws: a down server is `ok: false` with a reason. */
  async heartbeat(): Promise<HeartbeatResult> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    try {
      const res = await this.#transport({
        url: `${this.baseUrl}${VERO_OPERATIONS.heartbeat.path}`,
        method: 'GET',
        headers: {
          accept: this.#headers.accept as string,
          'user-agent': this.#headers['user-agent'] as string,
        },
        timeoutMs: this.timeoutMs,
      });
      if (isOk(res.status)) return { ok: true, status: res.status, latencyMs: latency() };
      const said = messageOf(res.text, this.#secret);
      return {
        ok: false,
        status: res.status,
        latencyMs: latency(),
        error: said === undefined ? `HTTP ${res.status}` : `HTTP ${res.status}: "${said}"`,
      };
    } catch (err) {
      const error =
        err instanceof TransportTimeout
          ? `timeout after ${this.timeoutMs} ms`
          : `network: ${describeFetchFailure(err, this.#secret)}`;
      return { ok: false, latencyMs: latency(), error };
    }
  }

  /**
   * The request `operation` would send, for dry runs: same validation (throws VeroValidationError), exact
   * body, with the credential value replaced by `'[redacted]'`.
   */
  prepare(operation: 'heartbeat'): PreparedRequest;
  prepare<Op extends VeroWriteOperation>(operation: Op, input: VeroInputs[Op]): PreparedRequest;
  prepare(operation: VeroOperation, input?: unknown): PreparedRequest {
    const endpoint = Object.hasOwn(VERO_OPERATIONS, operation) ? VERO_OPERATIONS[operation] : undefined;
    if (endpoint === undefined) {
      throw new TypeError(
        `VeroClient.prepare: unknown operation ${JSON.stringify(operation)}; known: ${Object.keys(VERO_OPERATIONS).join(', ')}.`,
      );
    }
    const url = `${this.baseUrl}${endpoint.path}`;
    if (operation === 'heartbeat') {
      return { operation, method: endpoint.method, path: endpoint.path, url, body: undefined };
    }
    // Overloads tie `input` to `operation` for callers; here, inside, the builder takes it as given.
    const build = BODY_BUILDERS[operation] as (input: unknown) => WireBody;
    const body = { [this.credentialParam]: REDACTED, ...build(input) };
    return { operation, method: endpoint.method, path: endpoint.path, url, body };
  }

  async #send(operation: VeroWriteOperation, fields: WireBody): Promise<VeroResult> {
    const { method, path } = VERO_OPERATIONS[operation];
    const url = `${this.baseUrl}${path}`;
    // What JSON.stringify({ [credentialParam]: secret, ...fields }) gives (the fields are named properties, never
    // the credential's), without the spread copy of every body.
    const rest = JSON.stringify(fields);
    const payload = rest === '{}' ? `${this.#bodyStart}}` : `${this.#bodyStart},${rest.slice(1)}`;
    const policy = this.retry;
    const started = this.#elapsedClock();

    for (let attempt = 1; ; attempt++) {
      // Never let one attempt run past the total budget.
      const remaining = policy.maxTotalMs - (this.#elapsedClock() - started);
      const attemptTimeout = Math.max(1, Math.min(this.timeoutMs, Math.floor(remaining)));
      let outcome: Outcome;
      let retryable: boolean;
      try {
        const res = await this.#transport({
          url,
          method,
          headers: this.#headers,
          body: payload,
          timeoutMs: attemptTimeout,
        });
        const veroMessage = messageOf(res.text, this.#secret);
        if (isOk(res.status)) {
          this.#report({ operation, attempt, status: res.status });
          const message = veroMessage ?? '';
          return { status: res.status, message, duplicate: message === DUPLICATE_MESSAGE };
        }
        const retryAfterMs = parseRetryAfter(res.headers.retryAfter ?? null, this.#now?.().getTime());
        outcome = { kind: 'status', status: res.status, veroMessage, retryAfterMs };
        retryable = isRetryableStatus(res.status);
      } catch (err) {
        // The transport error is dropped here on purpose: only scrubbed text travels on.
        outcome =
          err instanceof TransportTimeout
            ? { kind: 'timeout', timeoutMs: attemptTimeout }
            : { kind: 'network', reason: describeFetchFailure(err, this.#secret) };
        retryable = true;
      }

      const status = outcome.kind === 'status' ? outcome.status : undefined;
      if (retryable && attempt < policy.attempts) {
        const delayMs =
          (outcome.kind === 'status' ? outcome.retryAfterMs : undefined) ?? backoffDelay(attempt, policy);
        if (this.#elapsedClock() - started + delayMs <= policy.maxTotalMs) {
          this.#report({ operation, attempt, status, error: describeOutcome(outcome), delayMs });
          await this.#sleep(delayMs);
          continue;
        }
      }
      this.#report({ operation, attempt, status, error: describeOutcome(outcome) });
      throw this.#errorFor(path, outcome, attempt);
    }
  }

  #errorFor(endpoint: string, outcome: Outcome, attempts: number): Error {
    if (outcome.kind === 'timeout') {
      return timeoutError(endpoint, outcome.timeoutMs, attempts, this.#timeoutSetting);
    }
    if (outcome.kind === 'network') return networkError(endpoint, outcome.reason, attempts);
    return errorForStatus(endpoint, outcome.status, outcome.veroMessage, outcome.retryAfterMs, attempts);
  }

  #report(info: AttemptInfo): void {
    if (this.#onAttempt === undefined) return;
    try {
      this.#onAttempt(info);
    } catch {
      // A logging hook must not change the outcome of a delivery.
    }
  }
}
