import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { requirePackage } from '../../require-package.js';
import { OutboxError, storageError } from '../errors.js';
import type { IdRange } from '../id-set.js';
import { isOwnerGone, type LockOwner } from '../liveness.js';
import {
  type ClaimRequest,
  type ClaimResult,
  type DeliveryOutcome,
  type DestinationCounts,
  type DestinationRow,
  type NewJob,
  type OpenJob,
  type OutcomeRow,
  type ServedDestination,
  type StateCounts,
  type StoredOutcome,
  storedOutcome,
} from '../storage.js';
import type { Destination, HeldJob, OutboxErrorEntry, OutboxJob, OutboxState } from '../types.js';

/*
 * Jobs in outbox_jobs. A row moves pending -> sending -> delivered | pending (retry later) | dead.
 * 'sending' rows carry a lease (locked_by / locked_pid / locked_host / locked_until): a row whose holder is gone
 * (dead pid on this host) or whose lease ran out is put back to pending by the next claim.
 *
 * Every job belongs to a destination (outbox_destinations: integration, account, endpoint, credential fingerprint).
 * Ordering keys are scoped by destination: `usr_1` in one Vero account and `usr_1` in another are different users.
 * destination_id 0 marks jobs queued before destinations were recorded: nothing serves them until `move` assigns
 * them.
 *
 * outbox_job_keys holds one row per ordering key of each ACTIVE (pending or sending) job, written and deleted in
 * the same transaction as the job's state change. So "an earlier active job shares one of my keys" is one index
 * seek per key, and the table stays as small as the backlog. The job's own `ordering_keys` (JSON array) is the
 * source of truth, used to put the rows back when a dead job is retried.
 *
 * `blocked` caches "an earlier active (or dead) job shares one of my keys" (i.e. not the head of all its keys),
 * kept up to date in every transaction that adds or deletes key rows. The pending index starts with it, so a
 * claim or a due-time lookup reads heads only, and a backlog waiting behind one job costs nothing per write.
 */
const SCHEMA_VERSION = 4;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox_jobs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: ids are never reused, even after purge
  key             TEXT    NOT NULL,                  -- uuid v4 by construction; not UNIQUE to keep enqueue cheap
  integration     TEXT    NOT NULL,
  fn              TEXT    NOT NULL,
  account         TEXT    NOT NULL,                  -- the account name it was accepted for
  ordering_keys   TEXT    NOT NULL,                  -- JSON array of distinct non-empty strings
  payload         TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead', 'discarded')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  interruptions   INTEGER NOT NULL DEFAULT 0,        -- deliveries whose process died before the outcome
  first_failed_at INTEGER,                           -- start of the retry window
  next_attempt_at INTEGER NOT NULL,
  locked_by       TEXT,
  locked_pid      INTEGER,
  locked_host     TEXT,
  locked_until    INTEGER,
  last_error      TEXT,
  result          TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  destination_id  INTEGER NOT NULL DEFAULT 0,
  blocked         INTEGER NOT NULL DEFAULT 0         -- 1: an earlier job holding key rows shares one of its keys
);
-- Partial indexes: each enqueue writes every index its row belongs to (one WAL page each), so only one covers
-- pending rows; delivered rows, the bulk of the table, are in none. Sending rows are few (the concurrency).
-- blocked before the due time: claims and due-time lookups seek straight to the heads (blocked = 0).
CREATE INDEX IF NOT EXISTS outbox_jobs_pending
  ON outbox_jobs (destination_id, blocked, next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_jobs_in_flight ON outbox_jobs (id) WHERE state = 'sending';
CREATE TABLE IF NOT EXISTS outbox_job_keys (
  destination_id INTEGER NOT NULL,
  key            TEXT    NOT NULL,
  job_id         INTEGER NOT NULL,
  PRIMARY KEY (destination_id, key, job_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox_destinations (
  id              INTEGER PRIMARY KEY AUTOINCREMENT, -- from 1: 0 means "no recorded destination"
  integration     TEXT    NOT NULL,
  account         TEXT    NOT NULL,
  endpoint        TEXT    NOT NULL,
  fingerprint     TEXT    NOT NULL,
  credential_hint TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  paused_until    INTEGER,                           -- no claims before (credential refused, account missing)
  pause_reason    TEXT,
  pauses          INTEGER NOT NULL DEFAULT 0,        -- consecutive pauses: each one lasts longer
  UNIQUE (integration, account, endpoint, fingerprint)
);
-- The key of the credential fingerprints: random per file, so a fingerprint means nothing outside this file.
CREATE TABLE IF NOT EXISTS outbox_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO outbox_meta (name, value) VALUES ('fingerprint_key', lower(hex(randomblob(32))));
`;

/*
 * v1 had one `ordering_key` per job and no key table. Its keys become one-element arrays (the v2 shape); the v2
 * step then gives active jobs their key rows.
 */
const MIGRATE_V1 = `
DROP INDEX IF EXISTS outbox_jobs_active;
DROP INDEX IF EXISTS outbox_jobs_sending;
ALTER TABLE outbox_jobs RENAME COLUMN ordering_key TO ordering_keys;
UPDATE outbox_jobs SET ordering_keys = json_array(ordering_keys);
CREATE TABLE outbox_job_keys (key TEXT NOT NULL, job_id INTEGER NOT NULL, PRIMARY KEY (key, job_id)) WITHOUT ROWID;
INSERT OR IGNORE INTO outbox_job_keys (key, job_id)
SELECT k.value, j.id FROM outbox_jobs j, json_each(j.ordering_keys) k WHERE j.state IN ('pending', 'sending');
`;

/*
 * v2 jobs have no destination: they get destination 0 (never delivered until an operator assigns them). The jobs
 * table is rebuilt (its state CHECK gains 'discarded') and the key table gains the destination column; SCHEMA
 * then creates the rest. The AUTOINCREMENT counter is carried over, so ids of purged jobs are never reused.
 */
const MIGRATE_V2 = `
DROP INDEX IF EXISTS outbox_jobs_due;
DROP INDEX IF EXISTS outbox_jobs_in_flight;
ALTER TABLE outbox_jobs RENAME TO outbox_jobs_v2;
ALTER TABLE outbox_job_keys RENAME TO outbox_job_keys_v2;
`;
const MIGRATE_V2_COPY = `
INSERT INTO outbox_jobs (id, key, integration, fn, account, ordering_keys, payload, state, attempts,
  next_attempt_at, locked_by, locked_pid, locked_host, locked_until, last_error, result, created_at, updated_at)
SELECT id, key, integration, fn, account, ordering_keys, payload, state, attempts, next_attempt_at, locked_by,
  locked_pid, locked_host, locked_until, last_error, result, created_at, updated_at FROM outbox_jobs_v2;
INSERT INTO outbox_job_keys (destination_id, key, job_id) SELECT 0, key, job_id FROM outbox_job_keys_v2;
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'outbox_jobs_v2')
 WHERE name = 'outbox_jobs' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox_jobs_v2');
DELETE FROM sqlite_sequence WHERE name = 'outbox_jobs_v2';
DROP TABLE outbox_jobs_v2;
DROP TABLE outbox_job_keys_v2;
`;

/*
 * v3 files gain the blocked column, and the pending index starts with it (SCHEMA creates it); MARK_BLOCKED then
 * fills the column.
 */
const MIGRATE_V3 = `
DROP INDEX IF EXISTS outbox_jobs_due_by_destination;
ALTER TABLE outbox_jobs ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;
`;

/**
 * An earlier job of its destination holding key rows (pending, sending or dead) shares one of j's keys. CROSS JOIN
 * keeps json_each outermost: one key-table seek per key (the planner otherwise may scan the destination's rows).
 */
const EARLIER_SHARES_KEY = `EXISTS (
              SELECT 1 FROM json_each(j.ordering_keys) jk
                CROSS JOIN outbox_job_keys o
                  ON o.destination_id = j.destination_id AND o.key = jk.value AND o.job_id < j.id)`;

const MARK_BLOCKED = `UPDATE outbox_jobs AS j SET blocked = ${EARLIER_SHARES_KEY}
 WHERE j.state IN ('pending', 'sending', 'dead')`;

/**
 * A job's outcome (`j`, joined WITH_DESTINATION). heldBy: the earliest dead job sharing a key with a pending one
 * (what holds it back, when anything does); CROSS JOIN: the key table is read by key, not every key row of the
 * destination for each pending job.
 */
const OUTCOME_COLUMNS = `j.id, j.state, j.last_error AS error, j.result, j.destination_id AS destinationId,
                d.paused_until AS pausedUntil,
                CASE WHEN j.state = 'pending' THEN (
                  SELECT MIN(dead.id) FROM json_each(j.ordering_keys) jk
                    CROSS JOIN outbox_job_keys k
                      ON k.destination_id = j.destination_id AND k.key = jk.value AND k.job_id < j.id
                    JOIN outbox_jobs dead ON dead.id = k.job_id AND dead.state = 'dead') END AS heldBy`;

const WITH_DESTINATION = 'LEFT JOIN outbox_destinations d ON d.id = j.destination_id';

/** Jobs `j` with ids in @ranges (JSON `[[first, last], ...]`), one rowid range each. */
const IN_RANGES = `json_each(@ranges) r
  CROSS JOIN outbox_jobs j ON j.id BETWEEN r.value ->> 0 AND r.value ->> 1`;

const sendingKey = (destinationId: number, key: string): string => `${destinationId}\n${key}`;

/** A due head as a claim first reads it (a raw row: no object per row, as more are read than claimed). */
type Candidate = [id: number, fn: string, orderingKeys: string];

/** A holder of sending rows as `holders` reads it (raw), with the earliest lease of its rows. */
type Holder = [id: string | null, pid: number | null, host: string | null, lockedUntil: number | null];

/** The rest of a candidate marked `sending` (raw, like the candidate). */
type ClaimedRow = [
  key: string,
  payload: string,
  attempts: number,
  createdAt: number,
  firstFailedAt: number | null,
];

interface KeyRows {
  id: number;
  keys: string;
  destinationId: number;
}

const parseKeys = (row: KeyRows) => ({ ...row, keys: JSON.parse(row.keys) as string[] });

/** A held job as SQLite returns it: its keys as JSON text. */
export type HeldRow = Omit<HeldJob, 'keys'> & { keys: string };

/**
 * Opens the file and checks it before anything is queued into it: a damaged file refuses new writes (they could
 * not be read back), and open errors (disk full, no permission) say what they are.
 */
function openChecked(file: string, synchronous: 'normal' | 'full'): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    // `timeout`: how long a statement waits for another connection's write lock before SQLITE_BUSY.
    const Sqlite = requirePackage('better-sqlite3') as typeof import('better-sqlite3');
    db = new Sqlite(file, { timeout: 10_000 });
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL: a commit is in the WAL file (OS cache) before it returns, so a killed process loses nothing;
    // only power loss / OS crash may drop the last commits. FULL fsyncs every commit.
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // The WAL is reused after each checkpoint but keeps its largest size; this truncates it back.
    db.pragma('journal_size_limit = 4194304');
    // SQLite's own default page cache, 2 MB (better-sqlite3 builds with 16 MB): the outbox appends at one end and
    // claims near the other, and a bigger cache only made a process's memory grow with the file.
    db.pragma('cache_size = -2000');
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') {
      throw new OutboxError(
        'outbox_damaged',
        `Outbox ${file} is damaged (integrity check: ${String(check).replace(/\s+/g, ' ')}); nothing was queued into it. Move the file aside (keep it for recovery) and start with a new one.`,
      );
    }
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof OutboxError) throw error;
    throw storageError(file, 'open the outbox', error);
  }
}

/** A count statement (`n` for one @destinationId) summed over destinations: one index seek each. */
function sumPerDestination(count: Database.Statement, destinationIds: number[]): number {
  let total = 0;
  for (const destinationId of destinationIds) total += (count.get({ destinationId }) as { n: number }).n;
  return total;
}

/** All SQL of the outbox, as prepared statements. Synchronous, like better-sqlite3 itself. */
export class OutboxStore {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly transactions;
  private claimRotation = 0;
  /** The claim's candidate query, one per LIMIT (see claimable()). */
  private readonly claimables = new Map<number, Database.Statement>();
  private readonly synchronous: 'normal' | 'full';
  private readonly exchange: (request: ClaimRequest) => ClaimResult;

  constructor(file: string, synchronous: 'normal' | 'full') {
    this.synchronous = synchronous;
    this.db = openChecked(file, synchronous);
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new OutboxError(
        'outbox_invalid_option',
        `Outbox: ${file} was written by a newer kosmo-vero (schema ${version}); upgrade kosmo-vero to use it.`,
      );
    }
    try {
      this.migrate(file, version);
    } catch (error) {
      this.db.close();
      throw error;
    }
    const db = this.db;
    this.stmts = {
      // Before its own key rows: any key row of the same keys is an earlier job's (ids only grow).
      insert: db.prepare(
        `INSERT INTO outbox_jobs (key, integration, fn, account, ordering_keys, payload, state, attempts,
           next_attempt_at, created_at, updated_at, destination_id, blocked)
         VALUES (@key, @integration, @fn, @account, @orderingKeys, @payload, 'pending', 0, @now, @now, @now,
           @destinationId,
           EXISTS (SELECT 1 FROM json_each(@orderingKeys) k
                     CROSS JOIN outbox_job_keys o ON o.destination_id = @destinationId AND o.key = k.value))`,
      ),
      /*
       * After a job's key rows were put back: the job itself and, on each of its keys, the next job after it are
       * the only ones whose head-ness can change (the jobs further back still wait behind that one). One seek per
       * key; rows whose flag is already right are not written.
       */
      refreshBlocked: db.prepare(
        `UPDATE outbox_jobs AS j SET blocked = NOT j.blocked
          WHERE j.id IN (SELECT @id UNION ALL
                         SELECT (SELECT MIN(o.job_id) FROM outbox_job_keys o
                                  WHERE o.destination_id = @destinationId AND o.key = k.value AND o.job_id > @id)
                           FROM json_each(@keys) k)
            AND j.blocked <> ${EARLIER_SHARES_KEY}`,
      ),
      // move() re-points key rows of whole destinations: every job holding key rows there is looked at again.
      refreshBlockedOf: db.prepare(
        `UPDATE outbox_jobs AS j SET blocked = NOT j.blocked
          WHERE j.id IN (SELECT job_id FROM outbox_job_keys WHERE destination_id IN (@from, @to))
            AND j.blocked <> ${EARLIER_SHARES_KEY}`,
      ),
      insertKey: db.prepare(
        `INSERT INTO outbox_job_keys (destination_id, key, job_id) VALUES (@destinationId, @key, @jobId)`,
      ),
      /*
       * The statements run per job while draining (deleteKey, refreshNext, markSending, delivered) take positional
       * parameters: better-sqlite3 looks each named one up on the object passed, about 0.12 µs a parameter.
       */
      // (destinationId, key, id)
      deleteKey: db.prepare(
        `DELETE FROM outbox_job_keys WHERE destination_id = ? AND key = ? AND job_id = ?`,
      ),
      // The job next in line on a key after the given one (which no longer holds it), its flag looked at again.
      // (destinationId, key, id)
      refreshNext: db.prepare(
        `UPDATE outbox_jobs AS j SET blocked = NOT j.blocked
          WHERE j.id = (SELECT MIN(job_id) FROM outbox_job_keys WHERE destination_id = ? AND key = ? AND job_id > ?)
            AND j.blocked <> ${EARLIER_SHARES_KEY}`,
      ),
      /*
       * A head (blocked = 0) still waits while a job of its destination sharing a key is sending: normally that
       * one is earlier and the head is not a head, but after retry() of a v2 dead job or a move() it may be a
       * later one. Read once per claim: sending rows are few (the concurrency), from their own index.
       */
      sendingKeys: db.prepare(
        `SELECT s.destination_id AS destinationId, sk.value AS key
           FROM outbox_jobs s, json_each(s.ordering_keys) sk WHERE s.state = 'sending'`,
      ),
      // (ownerId, pid, host, lockedUntil, now, id). No RETURNING: it cost more than claimedRow's read after it.
      markSending: db.prepare(
        `UPDATE outbox_jobs
            SET state = 'sending', attempts = attempts + 1, locked_by = ?, locked_pid = ?, locked_host = ?,
                locked_until = ?, updated_at = ?
          WHERE id = ? AND state = 'pending'`,
      ),
      // (id): the rest of a claimed candidate.
      claimedRow: db
        .prepare(`SELECT key, payload, attempts, created_at, first_failed_at FROM outbox_jobs WHERE id = ?`)
        .raw(),
      // Every holder of sending rows (ours too) with its earliest lease: the expiry UPDATE runs only when one ran out.
      holders: db
        .prepare(
          `SELECT locked_by, locked_pid, locked_host, MIN(locked_until)
             FROM outbox_jobs WHERE state = 'sending' GROUP BY locked_by, locked_pid, locked_host`,
        )
        .raw(),
      releaseHolder: db.prepare(
        `UPDATE outbox_jobs
            SET state = CASE WHEN interruptions + 1 >= @maxInterruptions THEN 'dead' ELSE 'pending' END,
                interruptions = interruptions + 1, last_error = @error, next_attempt_at = @now,
                locked_by = NULL, locked_pid = NULL, locked_host = NULL, locked_until = NULL, updated_at = @now
          WHERE state = 'sending' AND locked_by IS @holderId`,
      ),
      releaseExpired: db.prepare(
        `UPDATE outbox_jobs
            SET state = CASE WHEN interruptions + 1 >= @maxInterruptions THEN 'dead' ELSE 'pending' END,
                interruptions = interruptions + 1, last_error = @error, next_attempt_at = @now,
                locked_by = NULL, locked_pid = NULL, locked_host = NULL, locked_until = NULL, updated_at = @now
          WHERE state = 'sending' AND locked_until < @now`,
      ),
      renew: db.prepare(
        `UPDATE outbox_jobs SET locked_until = @lockedUntil WHERE state = 'sending' AND locked_by = @ownerId`,
      ),
      // (result, now, id, ownerId)
      delivered: db.prepare(
        `UPDATE outbox_jobs
            SET state = 'delivered', result = ?, locked_by = NULL, locked_pid = NULL, locked_host = NULL,
                locked_until = NULL, updated_at = ?
          WHERE id = ? AND state = 'sending' AND locked_by = ?`,
      ),
      failed: db.prepare(
        `UPDATE outbox_jobs
            SET state = @state, last_error = @error, next_attempt_at = @nextAttemptAt,
                first_failed_at = COALESCE(first_failed_at, @now), locked_by = NULL, locked_pid = NULL,
                locked_host = NULL, locked_until = NULL, updated_at = @now
          WHERE id = @id AND state = 'sending' AND locked_by = @ownerId`,
      ),
      // A refused credential is not the write's fault: it goes back to pending, its attempt not counted.
      pausedJob: db.prepare(
        `UPDATE outbox_jobs
            SET state = 'pending', attempts = attempts - 1, last_error = @error, next_attempt_at = @now,
                locked_by = NULL, locked_pid = NULL, locked_host = NULL, locked_until = NULL, updated_at = @now
          WHERE id = @id AND state = 'sending' AND locked_by = @ownerId`,
      ),
      // Each pause in a row lasts twice as long as the one before, up to maxMs (and never less than `atLeast`).
      pauseDestination: db.prepare(
        `UPDATE outbox_destinations
            SET paused_until = MAX(COALESCE(paused_until, 0), @atLeast,
                                   @now + MIN(@maxMs, @baseMs * (1 << MIN(pauses, 20)))),
                pause_reason = @reason, pauses = pauses + 1
          WHERE id = @destinationId`,
      ),
      unpauseDestination: db.prepare(
        `UPDATE outbox_destinations SET paused_until = NULL, pause_reason = NULL, pauses = 0
          WHERE id = @destinationId AND pauses > 0`,
      ),
      sendingCount: db.prepare(
        `SELECT COUNT(*) AS n FROM outbox_jobs WHERE state = 'sending' AND destination_id = @destinationId`,
      ),
      counts: db.prepare(`SELECT state, COUNT(*) AS n FROM outbox_jobs GROUP BY state`),
      // Active jobs of one destination, from the two partial indexes (called after every outcome while draining).
      activeCount: db.prepare(
        `SELECT (SELECT COUNT(*) FROM outbox_jobs WHERE state = 'pending' AND destination_id = @destinationId)
              + (SELECT COUNT(*) FROM outbox_jobs WHERE state = 'sending' AND destination_id = @destinationId) AS n`,
      ),
      oldestActive: db.prepare(
        `SELECT created_at AS t FROM outbox_jobs
          WHERE id = (SELECT MIN(id) FROM (
            SELECT id FROM outbox_jobs WHERE state = 'pending'
            UNION ALL SELECT id FROM outbox_jobs WHERE state = 'sending'))`,
      ),
      // Earliest due time among heads of their key, of one destination: rows queued behind another row of their
      // key wait for that one's outcome, not for the clock.
      nextDue: db.prepare(
        `SELECT next_attempt_at AS t FROM outbox_jobs
          WHERE state = 'pending' AND destination_id = @destinationId AND blocked = 0
          ORDER BY next_attempt_at LIMIT 1`,
      ),
      lastErrors: db.prepare(
        `SELECT id, fn, account, destination_id AS destinationId, last_error AS error, attempts, state,
                updated_at AS updatedAt
           FROM outbox_jobs WHERE last_error IS NOT NULL AND state IN ('pending', 'dead')
          ORDER BY updated_at DESC, id DESC LIMIT 20`,
      ),
      // Dead jobs keep their key rows, so they hold back the later jobs sharing a key: which, and how many.
      held: db.prepare(
        `SELECT d.id, d.fn, d.account, d.destination_id AS destinationId, d.ordering_keys AS keys,
                d.last_error AS error,
                (SELECT COUNT(DISTINCT k.job_id) FROM json_each(d.ordering_keys) dk
                   CROSS JOIN outbox_job_keys k
                     ON k.destination_id = d.destination_id AND k.key = dk.value AND k.job_id > d.id) AS waiting
           FROM outbox_jobs d WHERE d.state = 'dead' ORDER BY d.id LIMIT 20`,
      ),
      destinationCounts: db.prepare(
        `SELECT destination_id AS destinationId, MIN(integration) AS integration, MIN(account) AS account,
                SUM(state = 'pending') AS pending, SUM(state = 'sending') AS sending, SUM(state = 'dead') AS dead
           FROM outbox_jobs WHERE state IN ('pending', 'sending', 'dead')
          GROUP BY destination_id ORDER BY destination_id`,
      ),
      outcomes: db.prepare(
        `SELECT ${OUTCOME_COLUMNS} FROM outbox_jobs j ${WITH_DESTINATION}
          WHERE j.id IN (SELECT value FROM json_each(@ids))`,
      ),
      // The ranges drive the join (CROSS JOIN): each is one rowid range of the jobs table.
      countStates: db.prepare(
        `SELECT j.state, COUNT(*) AS n, SUM(j.state = 'pending' AND COALESCE(d.paused_until, 0) > @now) AS paused
           FROM ${IN_RANGES} ${WITH_DESTINATION}
          GROUP BY j.state`,
      ),
      undelivered: db.prepare(
        `SELECT ${OUTCOME_COLUMNS} FROM ${IN_RANGES} ${WITH_DESTINATION}
          WHERE j.state <> 'delivered' ORDER BY j.id LIMIT @limit`,
      ),
      // Pending and sending jobs with ids in a range, in no order, from the two partial indexes: as cheap as few
      // are still open, however long the range (see openJobs()).
      openJobsFew: db.prepare(
        `SELECT j.id, j.state, j.destinationId, d.paused_until AS pausedUntil
           FROM (SELECT id, 'pending' AS state, destination_id AS destinationId
                   FROM outbox_jobs INDEXED BY outbox_jobs_pending
                  WHERE state = 'pending' AND id BETWEEN @min AND @max
                 UNION ALL
                 SELECT id, 'sending' AS state, destination_id AS destinationId
                   FROM outbox_jobs INDEXED BY outbox_jobs_in_flight
                  WHERE state = 'sending' AND id BETWEEN @min AND @max) j
           LEFT JOIN outbox_destinations d ON d.id = j.destinationId
          LIMIT @limit`,
      ),
      // The same by id from @min, a page at a time: cheap where the range is mostly open (an import's rows).
      openJobsById: db.prepare(
        `SELECT j.id, j.state, j.destination_id AS destinationId, d.paused_until AS pausedUntil
           FROM outbox_jobs j LEFT JOIN outbox_destinations d ON d.id = j.destination_id
          WHERE j.id BETWEEN @min AND @max AND j.state IN ('pending', 'sending')
          ORDER BY j.id LIMIT @limit`,
      ),
      stateOf: db.prepare(`SELECT state FROM outbox_jobs WHERE id = @id`),
      deadIds: db.prepare(`SELECT id FROM outbox_jobs WHERE state = 'dead' ORDER BY id LIMIT @limit`),
      retryOne: db.prepare(
        `UPDATE outbox_jobs
            SET state = 'pending', attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END,
                interruptions = CASE WHEN state = 'dead' THEN 0 ELSE interruptions END,
                first_failed_at = CASE WHEN state = 'dead' THEN NULL ELSE first_failed_at END,
                next_attempt_at = @now, updated_at = @now
          WHERE id = @id AND state IN ('dead', 'pending')`,
      ),
      // Dead jobs about to be retried (read before the UPDATE: it selects on 'dead').
      deadOne: db.prepare(
        `SELECT id, ordering_keys AS keys, destination_id AS destinationId FROM outbox_jobs
          WHERE id = @id AND state = 'dead'`,
      ),
      deadAll: db.prepare(
        `SELECT id, ordering_keys AS keys, destination_id AS destinationId FROM outbox_jobs WHERE state = 'dead'`,
      ),
      // A dead job becoming active again gets its key rows back (dead under v2, it had none).
      restoreKeys: db.prepare(
        `INSERT OR IGNORE INTO outbox_job_keys (destination_id, key, job_id)
         SELECT @destinationId, value, @id FROM json_each(@keys)`,
      ),
      retryDead: db.prepare(
        `UPDATE outbox_jobs
            SET state = 'pending', attempts = 0, interruptions = 0, first_failed_at = NULL, next_attempt_at = @now,
                updated_at = @now
          WHERE state = 'dead'`,
      ),
      discardOne: db.prepare(
        `UPDATE outbox_jobs SET state = 'discarded', updated_at = @now WHERE id = @id AND state = 'dead'
         RETURNING id, ordering_keys AS keys, destination_id AS destinationId`,
      ),
      discardDead: db.prepare(
        `UPDATE outbox_jobs SET state = 'discarded', updated_at = @now WHERE state = 'dead'
         RETURNING id, ordering_keys AS keys, destination_id AS destinationId`,
      ),
      purgeDelivered: db.prepare(
        `DELETE FROM outbox_jobs WHERE state = 'delivered' AND updated_at <= @before`,
      ),
      fingerprintKey: db.prepare(`SELECT value FROM outbox_meta WHERE name = 'fingerprint_key'`),
      insertDestination: db.prepare(
        `INSERT OR IGNORE INTO outbox_destinations
           (integration, account, endpoint, fingerprint, credential_hint, created_at)
         VALUES (@integration, @account, @endpoint, @fingerprint, @credentialHint, @now)`,
      ),
      findDestination: db.prepare(
        `SELECT id FROM outbox_destinations
          WHERE integration = @integration AND account = @account AND endpoint = @endpoint
            AND fingerprint = @fingerprint`,
      ),
      destinations: db.prepare(
        `SELECT id, integration, account, endpoint, fingerprint, credential_hint AS credentialHint,
                paused_until AS pausedUntil, pause_reason AS pauseReason
           FROM outbox_destinations ORDER BY id`,
      ),
      // Pending and dead jobs change destination; sending ones finish where they are.
      moveJobs: db.prepare(
        `UPDATE outbox_jobs SET destination_id = @to, account = @account, integration = @integration,
                updated_at = @now
          WHERE destination_id = @from AND state IN ('pending', 'dead')
         RETURNING id`,
      ),
      moveKeys: db.prepare(
        `UPDATE outbox_job_keys SET destination_id = @to WHERE destination_id = @from AND job_id = @id`,
      ),
    };

    // Each state change and its key rows commit together: key rows exist exactly for pending and sending jobs.
    const stmts = this.stmts;
    const restoreKeys = (rows: KeyRows[], retry: () => number): number => {
      for (const row of rows) stmts.restoreKeys.run(row);
      const changes = retry();
      for (const row of rows) stmts.refreshBlocked.run(row);
      return changes;
    };
    // BEGIN IMMEDIATE: take the write lock before reading, so two drainers cannot both see a row as claimable.
    this.exchange = db.transaction((request: ClaimRequest): ClaimResult => {
      const recorded = this.recordOutcomes(request.owner, request.outcomes);
      if (request.limit === 0) return { recorded, jobs: [], nextDueAt: null };
      const served = request.serve(this.destinations());
      const jobs = this.claimDue(request, served);
      return { recorded, jobs, nextDueAt: this.nextDueAt(served.map((s) => s.destination.id)) };
    }).immediate;
    this.transactions = {
      insert: db.transaction((job: NewJob): number => {
        const { orderingKeys, destination } = job;
        // Field by field, not `{ ...row, integration, ... }`: V8 (Node 20) moves objects built as a spread
        // followed by more properties to the old generation, where they wait for a major GC: per row queued.
        const id = Number(
          stmts.insert.run({
            key: job.key,
            fn: job.fn,
            payload: job.payload,
            now: job.now,
            integration: destination.integration,
            account: destination.account,
            destinationId: destination.id,
            orderingKeys: JSON.stringify(orderingKeys),
          }).lastInsertRowid,
        );
        for (const key of orderingKeys)
          stmts.insertKey.run({ destinationId: destination.id, key, jobId: id });
        return id;
      }),
      discardOne: db.transaction((id: number, now: number): number => {
        const rows = stmts.discardOne.all({ id, now }) as KeyRows[];
        this.forgetKeys(rows.map(parseKeys));
        return rows.length;
      }),
      discardDead: db.transaction((now: number): number => {
        const rows = stmts.discardDead.all({ now }) as KeyRows[];
        this.forgetKeys(rows.map(parseKeys));
        return rows.length;
      }),
      retryOne: db.transaction((id: number, now: number): number =>
        restoreKeys(stmts.deadOne.all({ id }) as KeyRows[], () => stmts.retryOne.run({ id, now }).changes),
      ),
      retryDead: db.transaction((now: number): number =>
        restoreKeys(stmts.deadAll.all() as KeyRows[], () => stmts.retryDead.run({ now }).changes),
      ),
      destination: db.transaction((input: Omit<DestinationRow, 'id'>, now: number): number => {
        stmts.insertDestination.run({ ...input, now });
        return (stmts.findDestination.get(input) as { id: number }).id;
      }),
      move: db.transaction((from: number, to: Destination, now: number): number => {
        const moved = stmts.moveJobs.all({
          from,
          to: to.id,
          account: to.account,
          integration: to.integration,
          now,
        }) as Array<{ id: number }>;
        for (const { id } of moved) stmts.moveKeys.run({ from, to: to.id, id });
        stmts.refreshBlockedOf.run({ from, to: to.id });
        return moved.length;
      }),
    };
  }

  /** Creates the schema on a new file, or brings an older file to this version; both in one transaction. */
  private migrate(file: string, seenVersion: number): void {
    if (seenVersion === SCHEMA_VERSION) return;
    this.db
      .transaction(() => {
        // Another process may have migrated (or created) the file while we waited for the write lock.
        const version = this.db.pragma('user_version', { simple: true }) as number;
        if (version === SCHEMA_VERSION) return;
        const hasJobs = this.db
          .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox_jobs'`)
          .get();
        const migrating = version >= 1 && version <= 3 && hasJobs;
        if (migrating) {
          if (version === 1) this.db.exec(MIGRATE_V1);
          if (version <= 2) this.db.exec(MIGRATE_V2);
          if (version === 3) this.db.exec(MIGRATE_V3);
        } else if (version !== 0 || hasJobs) {
          throw new OutboxError(
            'outbox_invalid_option',
            `Outbox: ${file} has an unknown outbox schema (version ${version}); point \`path\` at another file.`,
          );
        }
        this.db.exec(SCHEMA);
        if (migrating && version <= 2) this.db.exec(MIGRATE_V2_COPY);
        if (migrating) this.db.exec(MARK_BLOCKED);
        this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })
      .immediate();
  }

  /**
   * Puts back rows claimed by a drainer that is gone (its pid died) or whose lease expired. Such an interrupted
   * delivery may have reached the server; a job interrupted `maxInterruptions` times (it keeps crashing its
   * process) is dead.
   */
  private releaseOrphans(owner: LockOwner, now: number, maxInterruptions: number): void {
    let expired = false;
    for (const [id, pid, host, lockedUntil] of this.stmts.holders.all() as Holder[]) {
      if (lockedUntil !== null && lockedUntil < now) expired = true;
      if (id === null || pid === null || host === null || id === owner.id) continue;
      if (!isOwnerGone({ id, pid, host })) continue;
      this.stmts.releaseHolder.run({
        holderId: id,
        maxInterruptions,
        now,
        error: `interrupted: the process delivering it (pid ${pid}) stopped before recording the outcome`,
      });
    }
    if (!expired) return;
    this.stmts.releaseExpired.run({
      maxInterruptions,
      now,
      error: 'interrupted: its delivery lease expired before the outcome was recorded',
    });
  }

  /** The random key of this file's credential fingerprints (hex). */
  fingerprintKey(): string {
    return (this.stmts.fingerprintKey.get() as { value: string }).value;
  }

  /** The id of a destination, recorded on first use. */
  destinationId(input: Omit<DestinationRow, 'id'>, now: number): number {
    return this.transactions.destination(input, now);
  }

  destinations(): Destination[] {
    return this.stmts.destinations.all() as Destination[];
  }

  insert(job: NewJob): number {
    return this.transactions.insert(job);
  }

  renewLeases(owner: LockOwner, lockedUntil: number): void {
    this.stmts.renew.run({ ownerId: owner.id, lockedUntil });
  }

  /**
   * Records the outcomes, then claims (when `limit` > 0), in one transaction. With `synchronous: 'full'` it commits
   * without an fsync all the same: a claim or an outcome lost to a power cut means one more delivery of the same
   * job (at-least-once), never a lost write; enqueues and operator actions keep their fsync.
   */
  claim(request: ClaimRequest): ClaimResult {
    if (this.synchronous === 'normal') return this.exchange(request);
    // Not a prepared statement: SQLite applies this pragma when it is prepared, not when it runs.
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.exchange(request);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /**
   * Deletes the key rows of jobs leaving the active states (their own `blocked` no longer matters). The next job
   * after each on each of its keys is the only one whose head-ness can change (the jobs further back still wait
   * behind that one). Plain statements per key, no JSON: most jobs have one or two keys.
   */
  private forgetKeys(jobs: Array<{ id: number; destinationId: number; keys: string[] }>): void {
    for (const { id, destinationId, keys } of jobs) {
      for (const key of keys) this.stmts.deleteKey.run(destinationId, key, id);
      for (const key of keys) this.stmts.refreshNext.run(destinationId, key, id);
    }
  }

  /** `recorded[i]` is false when that job was no longer ours (lease lost): its new holder records the outcome. */
  private recordOutcomes(owner: LockOwner, outcomes: DeliveryOutcome[]): boolean[] {
    // Destinations whose pauses in a row this batch has ended (and not paused again since): once is enough.
    const unpaused = new Set<number>();
    return outcomes.map((outcome) => this.recordOutcome(owner, outcome, unpaused));
  }

  private recordOutcome(owner: LockOwner, outcome: DeliveryOutcome, unpaused: Set<number>): boolean {
    const stmts = this.stmts;
    const { job, now } = outcome;
    switch (outcome.kind) {
      case 'delivered':
        if (stmts.delivered.run(outcome.result, now, job.id, owner.id).changes === 0) return false;
        this.forgetKeys([{ id: job.id, destinationId: job.destination.id, keys: outcome.job.orderingKeys }]);
        // A delivery ends its destination's pauses in a row.
        if (!unpaused.has(job.destination.id)) {
          stmts.unpauseDestination.run({ destinationId: job.destination.id });
          unpaused.add(job.destination.id);
        }
        return true;
      case 'failed':
        // A dead job keeps its key rows: later jobs sharing a key wait until it is retried or discarded.
        return (
          stmts.failed.run({
            ownerId: owner.id,
            id: job.id,
            now,
            state: outcome.state,
            error: outcome.error,
            nextAttemptAt: outcome.nextAttemptAt,
          }).changes > 0
        );
      case 'paused':
        if (stmts.pausedJob.run({ ownerId: owner.id, id: job.id, now, error: outcome.error }).changes === 0)
          return false;
        stmts.pauseDestination.run({
          destinationId: job.destination.id,
          ...outcome.pause,
          atLeast: outcome.atLeast,
          now,
          reason: outcome.error,
        });
        unpaused.delete(job.destination.id);
        return true;
    }
  }

  /**
   * Heads of all their ordering keys only, of one destination, read straight from the pending index: the rows
   * waiting behind them are not read at all. Due rows go oldest-due first (fresh rows: in enqueue order). Only what
   * choosing needs, as raw rows: a claim reads more candidates than it takes, and claimedRow the rest.
   * The LIMIT is written into the SQL, one statement per value (a handful: up to four per slot): SQLite prepares a
   * statement whose LIMIT is a bound parameter again on every run (about half of this query's cost).
   */
  private claimable(limit: number): Database.Statement {
    let statement = this.claimables.get(limit);
    if (statement === undefined) {
      statement = this.db
        .prepare(
          `SELECT id, fn, ordering_keys
             FROM outbox_jobs j
            WHERE j.state = 'pending' AND j.destination_id = @destinationId AND j.blocked = 0
              AND j.next_attempt_at <= @now
            ORDER BY j.next_attempt_at, j.id
            LIMIT ${Math.trunc(limit)}`,
        )
        .raw();
      this.claimables.set(limit, statement);
    }
    return statement;
  }

  /** Due heads of all their ordering keys, marked `sending` under `owner`'s lease (within the claim transaction). */
  private claimDue(
    { owner, limit, now, leaseMs, maxInterruptions, gates }: ClaimRequest,
    served: ServedDestination[],
  ): OutboxJob[] {
    this.releaseOrphans(owner, now, maxInterruptions);
    const jobs: OutboxJob[] = [];
    const sending = new Set(
      (this.stmts.sendingKeys.all() as Array<{ destinationId: number; key: string }>).map((row) =>
        sendingKey(row.destinationId, row.key),
      ),
    );
    // Each destination's candidates are read once and serve every pass (a later pass would read the same).
    const candidates = new Map<number, Candidate[]>();
    const claimed = new Set<number>();
    // Start with a different destination each time, so a busy one cannot keep the others waiting.
    const start = served.length > 0 ? this.claimRotation++ % served.length : 0;
    // One pass per gate, while slots are free: e.g. each lane within its share first, then beyond it.
    for (const gate of gates) {
      for (let i = 0; i < served.length && jobs.length < limit; i++) {
        const { destination, account } = served[(start + i) % served.length] as ServedDestination;
        let rows = candidates.get(destination.id);
        if (rows === undefined) {
          // Read a few more than needed: `gate` may turn some down (their lane is full).
          rows = this.claimable((limit - jobs.length) * 4).all({
            destinationId: destination.id,
            now,
          }) as Candidate[];
          candidates.set(destination.id, rows);
        }
        // Lanes only fill up during a pass: a lane its gate turned down here is skipped without reading keys (a
        // claim reads four candidates a slot, and parsing each one's keys cost more than the rest of the loop).
        const turnedDown = new Set<string>();
        for (const [id, fn, keys] of rows) {
          if (jobs.length >= limit) break;
          if (claimed.has(id) || turnedDown.has(fn)) continue;
          const orderingKeys: string[] = JSON.parse(keys);
          if (orderingKeys.some((key) => sending.has(sendingKey(destination.id, key)))) continue;
          if (!gate(destination.id, fn)) {
            turnedDown.add(fn);
            continue;
          }
          claimed.add(id);
          for (const key of orderingKeys) sending.add(sendingKey(destination.id, key));
          // The transaction has held the write lock since the candidate was read: it is still pending. Were it not,
          // the claim rolls back rather than launch a job it does not hold.
          const marked = this.stmts.markSending.run(owner.id, owner.pid, owner.host, now + leaseMs, now, id);
          if (marked.changes !== 1) {
            throw new OutboxError(
              'outbox_damaged',
              `claim: job ${id}, read as pending, could not be marked sending; nothing was claimed. The outbox file may be damaged: move it aside (keep it for recovery) and start with a new one.`,
            );
          }
          const row = this.stmts.claimedRow.get(id) as ClaimedRow;
          const [key, payload, attempts, createdAt, firstFailedAt] = row;
          jobs.push({
            id,
            key,
            fn,
            orderingKeys,
            payload: JSON.parse(payload),
            destination,
            account,
            attempts,
            createdAt,
            firstFailedAt,
          });
        }
      }
      if (jobs.length >= limit) break;
    }
    return jobs;
  }

  sendingCount(destinationIds: number[]): number {
    return sumPerDestination(this.stmts.sendingCount, destinationIds);
  }

  held(): HeldRow[] {
    return this.stmts.held.all() as HeldRow[];
  }

  discardOne(id: number, now: number): number {
    return this.transactions.discardOne(id, now);
  }

  discardDead(now: number): number {
    return this.transactions.discardDead(now);
  }

  counts(): Record<OutboxState, number> {
    const counts: Record<OutboxState, number> = {
      pending: 0,
      sending: 0,
      delivered: 0,
      dead: 0,
      discarded: 0,
    };
    for (const row of this.stmts.counts.all() as Array<{ state: OutboxState; n: number }>)
      counts[row.state] = row.n;
    return counts;
  }

  /** Pending and sending jobs of these destinations. */
  activeCount(destinationIds: number[]): number {
    return sumPerDestination(this.stmts.activeCount, destinationIds);
  }

  oldestActiveCreatedAt(): number | null {
    return (this.stmts.oldestActive.get() as { t: number } | undefined)?.t ?? null;
  }

  /** Earliest time a job of these destinations becomes due, null when none is pending. */
  nextDueAt(destinationIds: number[]): number | null {
    let earliest: number | null = null;
    for (const destinationId of destinationIds) {
      const t = (this.stmts.nextDue.get({ destinationId }) as { t: number } | undefined)?.t;
      if (t !== undefined && (earliest === null || t < earliest)) earliest = t;
    }
    return earliest;
  }

  lastErrors(): OutboxErrorEntry[] {
    return this.stmts.lastErrors.all() as OutboxErrorEntry[];
  }

  destinationCounts(): DestinationCounts[] {
    return this.stmts.destinationCounts.all() as DestinationCounts[];
  }

  /** Outcomes of the given ids that exist (with their destination ids), in no particular order. */
  outcomes(ids: number[]): StoredOutcome[] {
    return (this.stmts.outcomes.all({ ids: JSON.stringify(ids) }) as OutcomeRow[]).map(storedOutcome);
  }

  /** The stored jobs with ids in the ranges, by state; pending ones count as paused when paused past `now`. */
  countStates(ranges: IdRange[], now: number): StateCounts {
    const counts: StateCounts = { pending: 0, sending: 0, delivered: 0, dead: 0, discarded: 0, paused: 0 };
    const rows = this.stmts.countStates.all({ ranges: JSON.stringify(ranges), now }) as Array<{
      state: OutboxState;
      n: number;
      paused: number;
    }>;
    for (const row of rows) {
      counts[row.state] = row.n;
      counts.paused += row.paused;
    }
    return counts;
  }

  /** The first `limit` stored jobs with ids in the ranges that are not delivered, in id order. */
  undelivered(ranges: IdRange[], limit: number): StoredOutcome[] {
    const rows = this.stmts.undelivered.all({ ranges: JSON.stringify(ranges), limit }) as OutcomeRow[];
    return rows.map(storedOutcome);
  }

  /**
   * Pending and sending jobs with ids from `min` to `max`, the first `limit` by id. Neither query is cheap in both
   * cases: the partial indexes hold every open job of the outbox in no id order, and walking rows by id reads the
   * delivered ones too. So the indexes first, for at most one more than a page: where that is all of them (a write
   * in backoff while the rest of an import was delivered), they are the answer.
   */
  openJobs(min: number, max: number, limit: number): OpenJob[] {
    const few = this.stmts.openJobsFew.all({ min, max, limit: limit + 1 }) as OpenJob[];
    if (few.length <= limit) return few.sort((a, b) => a.id - b.id);
    return this.stmts.openJobsById.all({ min, max, limit }) as OpenJob[];
  }

  stateOf(id: number): OutboxState | undefined {
    return (this.stmts.stateOf.get({ id }) as { state: OutboxState } | undefined)?.state;
  }

  deadIds(limit: number): number[] {
    return (this.stmts.deadIds.all({ limit }) as Array<{ id: number }>).map((row) => row.id);
  }

  retryOne(id: number, now: number): number {
    return this.transactions.retryOne(id, now);
  }

  retryDead(now: number): number {
    return this.transactions.retryDead(now);
  }

  /** Re-points the pending and dead jobs of destination `from` (0: unassigned) at `to`. Returns how many. */
  move(from: number, to: Destination, now: number): number {
    return this.transactions.move(from, to, now);
  }

  /** Deletes delivered rows, then gives the space back: VACUUM rewrites the file, the WAL is truncated. */
  purgeDelivered(before: number): number {
    const purged = this.stmts.purgeDelivered.run({ before }).changes;
    if (purged > 0) {
      this.db.exec('VACUUM');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
    return purged;
  }

  close(): void {
    this.db.close();
  }
}
