/**
 * Where a job goes: an integration's account at an endpoint, with the credential that opens it. The outbox keeps
 * only a keyed fingerprint and a masked hint of the credential, never the credential itself.
 */
export interface DestinationInput {
  integration: string;
  /** The account name the write was accepted for (shown to operators; matching ignores it). */
  account: string;
  /** The API base the account sends to, normalised (e.g. no trailing slash). */
  endpoint: string;
  credential: string;
}

/** A destination as the outbox records it. Two accounts with the same integration, endpoint and credential match. */
export interface Destination {
  id: number;
  integration: string;
  account: string;
  endpoint: string;
  /** Keyed one-way hash of the credential (HMAC-SHA256 with a random key kept in the outbox file), truncated. */
  fingerprint: string;
  /** The credential's last 4 characters when it is long enough (see src/secrets.ts), so operators can tell which. */
  credentialHint: string;
  /** Epoch ms until which nothing is claimed for it (its credential was refused), or null. */
  pausedUntil: number | null;
  pauseReason: string | null;
}

/** What the caller hands to `enqueue`. The payload must never contain a credential. */
export interface OutboxJobInput {
  destination: DestinationInput;
  fn: string;
  /**
   * Non-empty list of non-empty strings (duplicates are ignored), e.g. every identifier the write names. Jobs
   * sharing ANY key are delivered one at a time, in the order they were accepted: a job waits for every earlier
   * job that shares one of its keys, so order also holds transitively across keys.
   */
  orderingKeys: string[];
  /** Any JSON value. */
  payload: unknown;
}

export interface OutboxJob {
  id: number;
  fn: string;
  orderingKeys: string[];
  payload: unknown;
  destination: Destination;
  /** The account of this process that delivers it: the one whose endpoint and credential match the destination. */
  account: string;
  /** Stable uuid of the job: the same on every replay, so a repeated delivery is recognisable. */
  key: string;
  /** Delivery attempts started so far, including the current one (1 on the first delivery). */
  attempts: number;
  /** Epoch milliseconds when it was enqueued. */
  createdAt: number;
  /** Epoch milliseconds of its first failed attempt (the start of its retry window), null before any. */
  firstFailedAt: number | null;
}

/** `discarded`: a dead job an operator gave up on; it no longer holds back later jobs of its keys. */
export type OutboxState = 'pending' | 'sending' | 'delivered' | 'dead' | 'discarded';

export interface OutboxOptions {
  /**
   * Where the jobs are: an SQLite file path, `:memory:` (tests and emulator runs: nothing survives the process), or
   * a PostgreSQL URL, `postgres://user:password@host:5432/database?schema=name` (schema default `kosmo_vero`,
   * created with its tables on first use), shared by producers and drainers on any number of hosts.
   */
  path: string;
  /**
   * The accounts this process can deliver with. Only jobs whose destination matches one of them (integration,
   * endpoint and credential fingerprint) are claimed; the others stay pending, untouched. Default: none.
   */
  destinations?: DestinationInput[];
  /**
   * Sends one job. Resolve with a JSON-serialisable result (kept for `waitFor`). Throw to fail: an error with
   * `retryable === false` is dead at once; anything else is retried (honouring `retryAfterMs` when present).
   */
  deliver: (job: OutboxJob) => Promise<unknown>;
  /**
   * Deliveries in flight at once, across all ordering keys. Default 8. One destination's function (one endpoint)
   * gets more than half of them only when nothing else is due, so a hanging endpoint leaves other writes room.
   */
  concurrency?: number;
  /**
   * How long a job keeps being retried after its first failure before it is dead, when the failure is not its own
   * fault (network, timeouts, 429, 502-504). Default 24 h.
   */
  retryForMs?: number;
  /** A hard cap on attempts, whatever the failure. Default: none (the retry window decides). */
  maxAttempts?: number;
  /**
   * Deliveries interrupted by their process dying (or losing its lease) before a job is dead: a job that keeps
   * crashing its drainer must not loop forever. Default 10.
   */
  maxInterruptions?: number;
  /** First backoff cap; doubles per attempt (full jitter). Default 500 ms. */
  baseDelayMs?: number;
  /** Largest backoff cap. Default 300 000 ms. A server's `retryAfterMs` may exceed it and is still honoured. */
  maxDelayMs?: number;
  /**
   * How long a destination pauses when its credential is refused (or its account is missing); doubles with each
   * pause in a row, up to `maxDelayMs`. Default 60 000 ms.
   */
  pauseMs?: number;
  /** The clock, epoch milliseconds. Default `Date.now`; tests pass their own. */
  now?: () => number;
  /** Start the background drainer at once. Default false. */
  autoStart?: boolean;
  /**
   * How long a claimed row stays ours without renewal. Renewed every third of it while delivering. Default 30 000.
   * On PostgreSQL an expired lease is the only way a crashed drainer's rows come back (no pid checks across hosts),
   * and hosts' clocks must agree to well within it.
   */
  leaseMs?: number;
  /**
   * How often an idle drainer, or `waitFor`, looks for rows changed by other processes. Default 1000 ms. On
   * PostgreSQL other processes' changes also arrive by NOTIFY at once; the poll is the fallback.
   */
  pollIntervalMs?: number;
  /**
   * SQLite `synchronous` (PostgreSQL commits durably as the server is configured). 'normal' (default, with WAL) survives a killed process but may lose the last commits on
   * power loss or OS crash; 'full' survives those too, at a cost per enqueue.
   */
  synchronous?: 'normal' | 'full';
}

export interface DrainProgress {
  delivered: number;
  dead: number;
  /** Jobs of this process's destinations still pending or sending (including those held or paused). */
  pending: number;
}

export interface DrainOptions {
  /** Give up after this many milliseconds from the call; rows still pending stay for later. */
  deadlineMs?: number;
  onProgress?: (progress: DrainProgress) => void;
}

export interface JobOutcome {
  id: number;
  state: OutboxState;
  /** Last error message, when the job failed at least once (always for `dead`). */
  error?: string;
  /** What `deliver` resolved with, when delivered. */
  result?: unknown;
  /** Pending because its destination is paused until then (its credential was refused). */
  pausedUntil?: number;
  /** Pending behind this dead job, which shares one of its keys: it goes once that one is retried or discarded. */
  heldBy?: number;
}

/** What became of a set of queued writes, in counts (`waitForTally`): what a wait for thousands of them needs. */
export interface JobTally {
  /** Distinct ids waited for. */
  total: number;
  /** Delivered, including rows purged since (only delivered rows are purged). */
  delivered: number;
  dead: number;
  discarded: number;
  /** Still pending when the wait ended: paused, held behind a dead job, or out of time. */
  pending: number;
  /** Still being delivered when the wait ran out of time. */
  sending: number;
  /** The first of them that are not delivered (at most `details`), in id order, as `waitFor` reports each. */
  notDelivered: JobOutcome[];
}

/** How long to wait, and who hears how many of the ids are settled each time that number grows. */
export interface WaitOptions {
  timeoutMs?: number;
  onProgress?: (settled: number, total: number) => void;
}

export interface OutboxErrorEntry {
  id: number;
  fn: string;
  account: string;
  /** Destination id; 0 for a job queued before destinations were recorded. */
  destinationId: number;
  error: string;
  attempts: number;
  state: OutboxState;
  updatedAt: number;
}

export interface OutboxStatus {
  counts: Record<OutboxState, number>;
  /** Age of the oldest job not yet delivered nor dead (pending or sending), null when none. */
  oldestPendingAgeMs: number | null;
  /** Most recent failures of jobs still pending or dead, newest first (at most 20). */
  lastErrors: OutboxErrorEntry[];
  /** Work not yet delivered, by destination (destinations with nothing pending, sending or dead are left out). */
  destinations: DestinationStatus[];
  /** Dead jobs, each holding back the later jobs that share one of its keys until retried or discarded. */
  held: HeldJob[];
}

export interface HeldJob {
  id: number;
  fn: string;
  account: string;
  destinationId: number;
  /** The ordering keys (e.g. user ids) it holds. */
  keys: string[];
  error: string | null;
  /** Later jobs sharing one of its keys, waiting for it. */
  waiting: number;
}

export interface DestinationStatus {
  /** 0: jobs queued before destinations were recorded; they are never delivered until assigned (`move`). */
  id: number;
  integration: string;
  /** The account name the jobs were accepted for. */
  account: string;
  /** null for unassigned jobs. */
  endpoint: string | null;
  credentialHint: string | null;
  pending: number;
  sending: number;
  dead: number;
  /** The local account that delivers these jobs here, or null when this process cannot. */
  deliverableAs: string | null;
  /** Epoch ms until which its deliveries are paused (credential refused), or null. */
  pausedUntil: number | null;
  pauseReason: string | null;
}

export interface PurgeFilter {
  delivered: true;
  /** Only rows delivered at least this long ago. */
  olderThanMs?: number;
}
