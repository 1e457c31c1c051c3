/** What the caller hands to `enqueue`. Must never contain a credential: store the account NAME. */
export interface OutboxJobInput {
  integration: string;
  fn: string;
  account: string;
  /**
   * Non-empty list of non-empty strings (duplicates are ignored), e.g. every identifier the write names. Jobs
   * sharing ANY key are delivered one at a time, in the order they were accepted: a job waits for every earlier
   * job that shares one of its keys, so order also holds transitively across keys.
   */
  orderingKeys: string[];
  /** Any JSON value. */
  payload: unknown;
}

export interface OutboxJob extends OutboxJobInput {
  id: number;
  /** Stable uuid of the job: the same on every replay, so a repeated delivery is recognisable. */
  key: string;
  /** Delivery attempts started so far, including the current one (1 on the first delivery). */
  attempts: number;
  /** Epoch milliseconds when it was enqueued. */
  createdAt: number;
}

export type OutboxState = 'pending' | 'sending' | 'delivered' | 'dead';

export interface OutboxOptions {
  /** SQLite file path, or `:memory:` (tests only: nothing survives the process). */
  path: string;
  /**
   * Sends one job. Resolve with a JSON-serialisable result (kept for `waitFor`). Throw to fail: an error with
   * `retryable === false` is dead at once; anything else is retried (honouring `retryAfterMs` when present).
   */
  deliver: (job: OutboxJob) => Promise<unknown>;
  /** Deliveries in flight at once, across all ordering keys. Default 8. */
  concurrency?: number;
  /** Attempts before a job is dead. Default 8. */
  maxAttempts?: number;
  /** First backoff cap; doubles per attempt (full jitter). Default 500 ms. */
  baseDelayMs?: number;
  /** Largest backoff cap. Default 60 000 ms. A server's `retryAfterMs` may exceed it and is still honoured. */
  maxDelayMs?: number;
  /** Start the background drainer at once. Default false. */
  autoStart?: boolean;
  /** How long a claimed row stays ours without renewal. Renewed every third of it while delivering. Default 30 000. */
  leaseMs?: number;
  /** How often an idle drainer, or `waitFor`, looks for rows changed by other processes. Default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * SQLite `synchronous`. 'normal' (default, with WAL) survives a killed process but may lose the last commits on
   * power loss or OS crash; 'full' survives those too, at a cost per enqueue.
   */
  synchronous?: 'normal' | 'full';
}

export interface DrainProgress {
  delivered: number;
  dead: number;
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
}

export interface OutboxErrorEntry {
  id: number;
  fn: string;
  account: string;
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
}

export interface PurgeFilter {
  delivered: true;
  /** Only rows delivered at least this long ago. */
  olderThanMs?: number;
}
