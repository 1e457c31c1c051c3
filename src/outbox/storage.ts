import type { OutboxError } from './errors.js';
import type { IdRange } from './id-set.js';
import type { LockOwner } from './liveness.js';
import type { Destination, HeldJob, JobOutcome, OutboxErrorEntry, OutboxJob, OutboxState } from './types.js';

/*
 * The one storage interface of the outbox. The Outbox class holds the delivery logic (lanes, backoff, waiters);
 * an engine holds the rows and answers these questions atomically. Two engines: SQLite (a file, the default) and
 * PostgreSQL (any number of processes on any number of hosts). Every method is async so both fit; the SQLite
 * engine answers from its synchronous driver.
 */

/** A destination row as it is recorded (no id, no pause yet). */
export type DestinationRow = Omit<Destination, 'id' | 'pausedUntil' | 'pauseReason'>;

/** What the storage needs to know of a claimed job to record its outcome. */
export interface JobRef {
  id: number;
  destination: { id: number };
}

/** How long a destination pauses: `baseMs` doubled per pause in a row, at most `maxMs`. */
export interface PauseLength {
  baseMs: number;
  maxMs: number;
}

export interface NewJob {
  key: string;
  destination: Destination;
  fn: string;
  /** Distinct, non-empty. */
  orderingKeys: string[];
  payload: string;
  now: number;
}

/** A destination this process delivers to, and the local account that does it. */
export interface ServedDestination {
  destination: Destination;
  account: string;
}

/** What became of one of this owner's deliveries, to record; `now` is when it was known. */
export type DeliveryOutcome =
  | { kind: 'delivered'; job: JobRef & { orderingKeys: string[] }; result: string; now: number }
  | {
      kind: 'failed';
      job: JobRef;
      state: 'pending' | 'dead';
      error: string;
      nextAttemptAt: number;
      now: number;
    }
  /** The job back to pending and its destination paused (longer with each pause in a row, at least `atLeast`). */
  | { kind: 'paused'; job: JobRef; error: string; pause: PauseLength; atLeast: number; now: number };

/**
 * Outcomes of this owner's finished deliveries to record, then up to `limit` due jobs to claim (0: record only)
 * for the destinations `serve` picks from the recorded ones, in one pass per gate (see Outbox's lanes).
 */
export interface ClaimRequest {
  owner: LockOwner;
  outcomes: DeliveryOutcome[];
  limit: number;
  now: number;
  leaseMs: number;
  maxInterruptions: number;
  /** Called with the recorded destinations, read in the claim's transaction (pauses by others are seen). */
  serve: (recorded: Destination[]) => ServedDestination[];
  /** Each takes a slot of its lane when it lets a job through; one that turns a lane down does so until the pass ends. */
  gates: Array<(destinationId: number, fn: string) => boolean>;
}

export interface ClaimResult {
  /** Per outcome: false when that job was no longer ours (its lease lost): its new holder records it. */
  recorded: boolean[];
  jobs: OutboxJob[];
  /** After the claim: the earliest due time of a pending head of the served destinations; null when none. */
  nextDueAt: number | null;
}

export interface DestinationCounts {
  destinationId: number;
  integration: string;
  account: string;
  pending: number;
  sending: number;
  dead: number;
}

export type StoredOutcome = JobOutcome & { destinationId: number };

/** A job's outcome as both engines select it (`outcomes`, `undelivered`). */
export interface OutcomeRow {
  id: number;
  state: OutboxState;
  error: string | null;
  result: string | null;
  destinationId: number;
  pausedUntil: number | null;
  heldBy: number | null;
}

/** Only what applies: a pause for pending jobs, the result (parsed) for delivered ones. */
export function storedOutcome(row: OutcomeRow): StoredOutcome {
  const outcome: StoredOutcome = { id: row.id, state: row.state, destinationId: row.destinationId };
  if (row.error !== null) outcome.error = row.error;
  if (row.state === 'pending' && row.pausedUntil !== null) outcome.pausedUntil = row.pausedUntil;
  if (row.heldBy !== null) outcome.heldBy = row.heldBy;
  if (row.state === 'delivered' && row.result !== null) outcome.result = JSON.parse(row.result);
  return outcome;
}

/** Stored jobs counted by state; `paused`: those of the pending ones whose destination is paused. */
export type StateCounts = Record<OutboxState, number> & { paused: number };

/** A job not final yet, as a waiter polls it. */
export interface OpenJob {
  id: number;
  state: 'pending' | 'sending';
  destinationId: number;
  pausedUntil: number | null;
}

/** `work`: jobs became claimable (queued, retried, released); `outcome`: jobs were delivered, failed or paused. */
export type StorageChange = 'work' | 'outcome';

export interface OutboxStorage {
  /** Where the rows are, for messages: the file path, or the database URL with its password masked. */
  readonly label: string;
  /** The random key of this store's credential fingerprints (hex), created with the store. */
  fingerprintKey(): Promise<string>;
  /** The id of a destination, recorded on first use. */
  destinationId(row: DestinationRow, now: number): Promise<number>;
  destinations(): Promise<Destination[]>;
  /** Commits the job (and its ordering keys) before it resolves; resolves with its id. */
  insert(job: NewJob): Promise<number>;
  /**
   * Records the outcomes, then, when `limit` > 0, puts back jobs whose holder is gone (lease expired; on SQLite
   * also a dead pid on this host), marks due heads of all their ordering keys `sending` under `owner`'s lease and
   * looks up when the next head is due. All in one transaction: a delivered job's key rows are gone before the
   * heads are read, so the next job of its keys can go in the same claim, and one commit (one round trip of
   * locks) serves a whole batch. No two owners ever claim the same job.
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  renewLeases(owner: LockOwner, lockedUntil: number): Promise<void>;
  sendingCount(destinationIds: number[]): Promise<number>;
  /** Pending and sending jobs of these destinations. */
  activeCount(destinationIds: number[]): Promise<number>;
  /**
   * Whether a job of these destinations is sending, or pending as the head of its keys (due now or after a
   * backoff): in one read, so a job claimed meanwhile is seen as one or the other.
   */
  hasWork(destinationIds: number[]): Promise<boolean>;
  held(): Promise<HeldJob[]>;
  counts(): Promise<Record<OutboxState, number>>;
  oldestActiveCreatedAt(): Promise<number | null>;
  lastErrors(): Promise<OutboxErrorEntry[]>;
  destinationCounts(): Promise<DestinationCounts[]>;
  /** Outcomes of the given ids that exist (with their destination ids), in no particular order. */
  outcomes(ids: number[]): Promise<StoredOutcome[]>;
  /** The stored jobs with ids in the ranges, by state; pending ones count as paused when paused past `now`. */
  countStates(ranges: IdRange[], now: number): Promise<StateCounts>;
  /** The first `limit` stored jobs with ids in the ranges that are not delivered, in id order. */
  undelivered(ranges: IdRange[], limit: number): Promise<StoredOutcome[]>;
  /**
   * Pending and sending jobs with ids from `min` to `max`, with their destination's pause: the first `limit` of
   * them, ascending by id.
   */
  openJobs(min: number, max: number, limit: number): Promise<OpenJob[]>;
  stateOf(id: number): Promise<OutboxState | undefined>;
  deadIds(limit: number): Promise<number[]>;
  retryOne(id: number, now: number): Promise<number>;
  retryDead(now: number): Promise<number>;
  discardOne(id: number, now: number): Promise<number>;
  discardDead(now: number): Promise<number>;
  /** Re-points the pending and dead jobs of destination `from` (0: unassigned) at `to`. Resolves with how many. */
  move(from: number, to: Destination, now: number): Promise<number>;
  /** Deletes delivered rows updated at or before `before` and gives the space back. */
  purgeDelivered(before: number): Promise<number>;
  /**
   * Calls `listener` when another process changed jobs, so a drainer (`work`) or a waiter (`outcome`) need not
   * wait for its poll. Engines without such a signal never call it: the Outbox's poll covers them.
   */
  onChange(listener: (change: StorageChange) => void): void;
  /** Contention worth trying again shortly (a lock held elsewhere), as opposed to a storage failure. */
  isTransient(error: unknown): boolean;
  /** A storage failure as an operator should read it; `doing` says what could not be done. */
  failure(doing: string, error: unknown): OutboxError;
  close(): Promise<void>;
}
