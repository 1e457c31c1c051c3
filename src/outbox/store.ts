import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OutboxError } from './errors.js';
import { isOwnerGone, type LockOwner } from './liveness.js';
import type { JobOutcome, OutboxErrorEntry, OutboxJob, OutboxState } from './types.js';

/*
 * One table. A row moves pending -> sending -> delivered | pending (retry later) | dead.
 * 'sending' rows carry a lease (locked_by / locked_pid / locked_host / locked_until): a row whose holder is gone
 * (dead pid on this host) or whose lease ran out is put back to pending by the next claim.
 */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox_jobs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: ids are never reused, even after purge
  key             TEXT    NOT NULL,                  -- uuid v4 by construction; not UNIQUE to keep enqueue cheap
  integration     TEXT    NOT NULL,
  fn              TEXT    NOT NULL,
  account         TEXT    NOT NULL,
  ordering_key    TEXT    NOT NULL,
  payload         TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  locked_by       TEXT,
  locked_pid      INTEGER,
  locked_host     TEXT,
  locked_until    INTEGER,
  last_error      TEXT,
  result          TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
-- Partial indexes: each enqueue writes every index its row belongs to (one WAL page each), so only two cover
-- pending rows; delivered rows, the bulk of the table, are in none.
CREATE INDEX IF NOT EXISTS outbox_jobs_due ON outbox_jobs (next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_jobs_active ON outbox_jobs (ordering_key, id)
  WHERE state IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS outbox_jobs_sending ON outbox_jobs (ordering_key) WHERE state = 'sending';
`;

interface JobRow {
  id: number;
  key: string;
  integration: string;
  fn: string;
  account: string;
  ordering_key: string;
  payload: string;
  attempts: number;
  created_at: number;
}

export interface NewJob {
  key: string;
  integration: string;
  fn: string;
  account: string;
  orderingKey: string;
  payload: string;
  now: number;
}

/** All SQL of the outbox, as prepared statements. Synchronous, like better-sqlite3 itself. */
export class OutboxStore {
  readonly db: Database.Database;
  private readonly stmts;
  readonly claim: (
    owner: LockOwner,
    limit: number,
    now: number,
    leaseMs: number,
    maxAttempts: number,
  ) => OutboxJob[];

  constructor(file: string, synchronous: 'normal' | 'full') {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    // `timeout`: how long a statement waits for another connection's write lock before SQLITE_BUSY.
    this.db = new Database(file, { timeout: 10_000 });
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL: a commit is in the WAL file (OS cache) before it returns, so a killed process loses nothing;
    // only power loss / OS crash may drop the last commits. FULL fsyncs every commit.
    this.db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new OutboxError(
        'outbox_invalid_option',
        `Outbox: ${file} was written by a newer kosmo-vero (schema ${version}); upgrade kosmo-vero to use it.`,
      );
    }
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO outbox_jobs (key, integration, fn, account, ordering_key, payload, state, attempts,
           next_attempt_at, created_at, updated_at)
         VALUES (@key, @integration, @fn, @account, @orderingKey, @payload, 'pending', 0, @now, @now, @now)`,
      ),
      // Heads of their ordering key only: no row of the same key is sending, and none before it is pending.
      // Due rows go oldest-due first (fresh rows: in enqueue order), read straight from outbox_jobs_due.
      claimable: db.prepare(
        `SELECT id, key, integration, fn, account, ordering_key, payload, attempts, created_at
           FROM outbox_jobs j
          WHERE j.state = 'pending' AND j.next_attempt_at <= @now
            AND NOT EXISTS (
              SELECT 1 FROM outbox_jobs o
               WHERE o.ordering_key = j.ordering_key AND o.state IN ('pending', 'sending') AND o.id < j.id)
            AND NOT EXISTS (
              SELECT 1 FROM outbox_jobs s WHERE s.ordering_key = j.ordering_key AND s.state = 'sending')
          ORDER BY j.next_attempt_at, j.id
          LIMIT @limit`,
      ),
      markSending: db.prepare(
        `UPDATE outbox_jobs
            SET state = 'sending', attempts = attempts + 1, locked_by = @ownerId, locked_pid = @pid,
                locked_host = @host, locked_until = @lockedUntil, updated_at = @now
          WHERE id = @id AND state = 'pending'`,
      ),
      foreignHolders: db.prepare(
        `SELECT DISTINCT locked_by AS id, locked_pid AS pid, locked_host AS host
           FROM outbox_jobs WHERE state = 'sending' AND locked_by IS NOT @ownerId`,
      ),
      releaseHolder: db.prepare(
        `UPDATE outbox_jobs
            SET state = CASE WHEN attempts >= @maxAttempts THEN 'dead' ELSE 'pending' END,
                last_error = @error, next_attempt_at = @now, locked_by = NULL, locked_pid = NULL,
                locked_host = NULL, locked_until = NULL, updated_at = @now
          WHERE state = 'sending' AND locked_by IS @holderId`,
      ),
      releaseExpired: db.prepare(
        `UPDATE outbox_jobs
            SET state = CASE WHEN attempts >= @maxAttempts THEN 'dead' ELSE 'pending' END,
                last_error = @error, next_attempt_at = @now, locked_by = NULL, locked_pid = NULL,
                locked_host = NULL, locked_until = NULL, updated_at = @now
          WHERE state = 'sending' AND locked_until < @now`,
      ),
      renew: db.prepare(
        `UPDATE outbox_jobs SET locked_until = @lockedUntil WHERE state = 'sending' AND locked_by = @ownerId`,
      ),
      delivered: db.prepare(
        `UPDATE outbox_jobs
            SET state = 'delivered', result = @result, locked_by = NULL, locked_pid = NULL, locked_host = NULL,
                locked_until = NULL, updated_at = @now
          WHERE id = @id AND state = 'sending' AND locked_by = @ownerId`,
      ),
      failed: db.prepare(
        `UPDATE outbox_jobs
            SET state = @state, last_error = @error, next_attempt_at = @nextAttemptAt, locked_by = NULL,
                locked_pid = NULL, locked_host = NULL, locked_until = NULL, updated_at = @now
          WHERE id = @id AND state = 'sending' AND locked_by = @ownerId`,
      ),
      counts: db.prepare(`SELECT state, COUNT(*) AS n FROM outbox_jobs GROUP BY state`),
      activeCount: db.prepare(`SELECT COUNT(*) AS n FROM outbox_jobs WHERE state IN ('pending', 'sending')`),
      oldestActive: db.prepare(
        `SELECT created_at AS t FROM outbox_jobs
          WHERE id = (SELECT MIN(id) FROM outbox_jobs WHERE state IN ('pending', 'sending'))`,
      ),
      // Earliest due time among heads of their key: rows queued behind another row of their key wait for that
      // one's outcome, not for the clock.
      nextDue: db.prepare(
        `SELECT next_attempt_at AS t FROM outbox_jobs j
          WHERE j.state = 'pending'
            AND NOT EXISTS (
              SELECT 1 FROM outbox_jobs o
               WHERE o.ordering_key = j.ordering_key AND o.state IN ('pending', 'sending') AND o.id < j.id)
          ORDER BY j.next_attempt_at LIMIT 1`,
      ),
      lastErrors: db.prepare(
        `SELECT id, fn, account, last_error AS error, attempts, state, updated_at AS updatedAt
           FROM outbox_jobs WHERE last_error IS NOT NULL AND state IN ('pending', 'dead')
          ORDER BY updated_at DESC, id DESC LIMIT 20`,
      ),
      outcomes: db.prepare(
        `SELECT id, state, last_error AS error, result
           FROM outbox_jobs WHERE id IN (SELECT value FROM json_each(@ids))`,
      ),
      retryOne: db.prepare(
        `UPDATE outbox_jobs
            SET state = 'pending', attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END,
                next_attempt_at = @now, updated_at = @now
          WHERE id = @id AND state IN ('dead', 'pending')`,
      ),
      retryDead: db.prepare(
        `UPDATE outbox_jobs SET state = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
          WHERE state = 'dead'`,
      ),
      purgeDelivered: db.prepare(
        `DELETE FROM outbox_jobs WHERE state = 'delivered' AND updated_at <= @before`,
      ),
    };

    // BEGIN IMMEDIATE: take the write lock before reading, so two drainers cannot both see a row as claimable.
    this.claim = db.transaction(
      (owner: LockOwner, limit: number, now: number, leaseMs: number, maxAttempts: number): OutboxJob[] => {
        this.releaseOrphans(owner, now, maxAttempts);
        const rows = this.stmts.claimable.all({ now, limit }) as JobRow[];
        const jobs: OutboxJob[] = [];
        for (const row of rows) {
          this.stmts.markSending.run({
            id: row.id,
            ownerId: owner.id,
            pid: owner.pid,
            host: owner.host,
            lockedUntil: now + leaseMs,
            now,
          });
          jobs.push({
            id: row.id,
            key: row.key,
            integration: row.integration,
            fn: row.fn,
            account: row.account,
            orderingKey: row.ordering_key,
            payload: JSON.parse(row.payload),
            attempts: row.attempts + 1,
            createdAt: row.created_at,
          });
        }
        return jobs;
      },
    ).immediate;
  }

  /** Puts back rows claimed by a drainer that is gone (its pid died) or whose lease expired. */
  private releaseOrphans(owner: LockOwner, now: number, maxAttempts: number): void {
    const holders = this.stmts.foreignHolders.all({ ownerId: owner.id }) as Array<{
      id: string | null;
      pid: number | null;
      host: string | null;
    }>;
    for (const holder of holders) {
      if (holder.id === null || holder.pid === null || holder.host === null) continue;
      if (!isOwnerGone({ id: holder.id, pid: holder.pid, host: holder.host })) continue;
      this.stmts.releaseHolder.run({
        holderId: holder.id,
        maxAttempts,
        now,
        error: `interrupted: the process delivering it (pid ${holder.pid}) stopped before recording the outcome`,
      });
    }
    this.stmts.releaseExpired.run({
      maxAttempts,
      now,
      error: 'interrupted: its delivery lease expired before the outcome was recorded',
    });
  }

  insert(job: NewJob): number {
    return Number(this.stmts.insert.run(job).lastInsertRowid);
  }

  renewLeases(owner: LockOwner, lockedUntil: number): void {
    this.stmts.renew.run({ ownerId: owner.id, lockedUntil });
  }

  /** Returns false when the row was no longer ours (lease lost): its new holder records the outcome. */
  markDelivered(owner: LockOwner, id: number, result: string, now: number): boolean {
    return this.stmts.delivered.run({ ownerId: owner.id, id, result, now }).changes > 0;
  }

  markFailed(
    owner: LockOwner,
    id: number,
    state: 'pending' | 'dead',
    error: string,
    nextAttemptAt: number,
    now: number,
  ): boolean {
    return this.stmts.failed.run({ ownerId: owner.id, id, state, error, nextAttemptAt, now }).changes > 0;
  }

  counts(): Record<OutboxState, number> {
    const counts: Record<OutboxState, number> = { pending: 0, sending: 0, delivered: 0, dead: 0 };
    for (const row of this.stmts.counts.all() as Array<{ state: OutboxState; n: number }>)
      counts[row.state] = row.n;
    return counts;
  }

  activeCount(): number {
    return (this.stmts.activeCount.get() as { n: number }).n;
  }

  oldestActiveCreatedAt(): number | null {
    return (this.stmts.oldestActive.get() as { t: number } | undefined)?.t ?? null;
  }

  nextDueAt(): number | null {
    return (this.stmts.nextDue.get() as { t: number } | undefined)?.t ?? null;
  }

  lastErrors(): OutboxErrorEntry[] {
    return this.stmts.lastErrors.all() as OutboxErrorEntry[];
  }

  /** Outcomes of the given ids that exist, in no particular order. */
  outcomes(ids: number[]): JobOutcome[] {
    const rows = this.stmts.outcomes.all({ ids: JSON.stringify(ids) }) as Array<{
      id: number;
      state: OutboxState;
      error: string | null;
      result: string | null;
    }>;
    return rows.map((row) => {
      const outcome: JobOutcome = { id: row.id, state: row.state };
      if (row.error !== null) outcome.error = row.error;
      if (row.state === 'delivered' && row.result !== null) outcome.result = JSON.parse(row.result);
      return outcome;
    });
  }

  retryOne(id: number, now: number): number {
    return this.stmts.retryOne.run({ id, now }).changes;
  }

  retryDead(now: number): number {
    return this.stmts.retryDead.run({ now }).changes;
  }

  purgeDelivered(before: number): number {
    return this.stmts.purgeDelivered.run({ before }).changes;
  }

  close(): void {
    this.db.close();
  }
}
