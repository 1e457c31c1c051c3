import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { requirePackage } from '../../require-package.js';
import type { IdRange } from '../id-set.js';
import type { LockOwner } from '../liveness.js';
import {
  type ClaimRequest,
  type ClaimResult,
  type DeliveryOutcome,
  type DestinationCounts,
  type DestinationRow,
  type NewJob,
  type OpenJob,
  type OutboxStorage,
  type OutcomeRow,
  type ServedDestination,
  type StateCounts,
  type StorageChange,
  type StoredOutcome,
  storedOutcome,
} from '../storage.js';
import type { Destination, HeldJob, OutboxErrorEntry, OutboxJob, OutboxState } from '../types.js';
import { isTransientPostgresError, postgresFailure } from './failure.js';
import { ChangeListener } from './listener.js';
import { parsePostgresLocation } from './location.js';
import { migrate } from './schema.js';

// int8 (ids, epoch milliseconds, counts) as numbers: every value stays far below 2^53.
const INT8 = 20;
function int8AsNumber(driver: typeof pg): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8
        ? Number
        : driver.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
  };
}

/** How often claims look for expired leases. */
const RELEASE_EVERY_MS = 1000;

/** A transaction that hit a deadlock or a serialization failure runs again, at most this many times. */
const TX_ATTEMPTS = 5;

export const NOTIFY_CHANNEL = 'kosmo_vero_outbox';

/** Ranges as two parallel arrays (firsts, lasts), for unnest. */
const rangeColumns = (ranges: IdRange[]): [number[], number[]] => [
  ranges.map(([first]) => first),
  ranges.map(([, last]) => last),
];

interface JobRow {
  id: number;
  key: string;
  fn: string;
  ordering_keys: string[];
  payload: string;
  attempts: number;
  created_at: number;
  first_failed_at: number | null;
}

/**
 * The outbox in PostgreSQL: any number of producers and drainers, on any number of hosts, share one schema.
 * Claims lock due head jobs with `FOR UPDATE SKIP LOCKED` (two drainers never wait for, nor take, each other's
 * rows); a claimed job carries a lease (`locked_until`) its holder renews, and an expired lease is the only way a
 * job is taken back: no pid checks across machines. Changes are announced with NOTIFY, so drainers and waiters in
 * other processes hear of new work at once. See schema.ts for the tables and the ordering invariant.
 */
export class PostgresStorage implements OutboxStorage {
  readonly label: string;
  private readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly ready: Promise<void>;
  private readonly instance = randomUUID();
  private readonly connectionString: string;
  private listener: ChangeListener | undefined;
  private claimRotation = 0;
  private nextRelease = Number.NEGATIVE_INFINITY;
  private readonly t: { jobs: string; keys: string; destinations: string; meta: string };
  private readonly selectDestinations: string;

  constructor(location: string, poolSize: number) {
    const parsed = parsePostgresLocation(location);
    this.label = parsed.label;
    this.schema = parsed.schema;
    this.connectionString = parsed.connectionString;
    const s = `"${parsed.schema}"`;
    this.t = {
      jobs: `${s}.outbox_jobs`,
      keys: `${s}.outbox_job_keys`,
      destinations: `${s}.outbox_destinations`,
      meta: `${s}.outbox_meta`,
    };
    this.selectDestinations = `SELECT id, integration, account, endpoint, fingerprint,
        credential_hint AS "credentialHint", paused_until AS "pausedUntil", pause_reason AS "pauseReason"
      FROM ${this.t.destinations} ORDER BY id`;
    // allowExitOnIdle: idle connections do not keep the process alive (a background drainer must not).
    const driver = requirePackage('pg') as typeof pg;
    this.pool = new driver.Pool({
      connectionString: parsed.connectionString,
      max: poolSize,
      allowExitOnIdle: true,
      application_name: `kosmo-vero outbox ${parsed.schema}`,
      types: int8AsNumber(driver),
    });
    // An idle connection the server dropped: the pool discards it; the next query opens another.
    this.pool.on('error', () => {});
    this.ready = this.open();
    // Reported by the first operation that awaits it; never an unhandled rejection.
    this.ready.catch(() => {});
  }

  private async open(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await migrate(client, this.schema, this.label);
    } finally {
      client.release();
    }
  }

  /** Runs `work` in one transaction on one connection; a deadlock or serialization failure runs it again. */
  private async tx<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready;
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollback: Error) => {
          broken = rollback;
        });
        if (attempt < TX_ATTEMPTS && isTransientPostgresError(error)) continue;
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    await this.ready;
    return (await this.pool.query<R>(sql, params)).rows;
  }

  /** The payload announcing a change of this kind from this store. */
  private payload(change: StorageChange): string {
    return `${this.schema} ${this.instance} ${change}`;
  }

  /** Announces changes to the other processes (delivered at commit, with the transaction). */
  private notify(client: pg.PoolClient, ...changes: StorageChange[]): Promise<unknown> {
    return client.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [
      NOTIFY_CHANNEL,
      changes.map((change) => this.payload(change)),
    ]);
  }

  /**
   * Serialises every change to the key rows of these (destination, key) pairs: inserting a job and removing a
   * job's key rows. Taken in sorted order, so two transactions never wait for each other in a circle.
   */
  private lockKeys(client: pg.PoolClient, destinationId: number, keys: string[]): Promise<unknown> {
    return client.query(
      `SELECT count(pg_advisory_xact_lock($1::integer, hashtext(k)))
         FROM (SELECT k FROM unnest($2::text[]) AS k ORDER BY k) AS sorted`,
      [destinationId, keys],
    );
  }

  /**
   * Deletes the key rows of these jobs; the next job of each key they headed loses a blocker (and becomes claimable
   * when it has none left). Keys must be locked (lockKeys) by the caller.
   */
  private async forgetKeys(client: pg.PoolClient, jobIds: number[]): Promise<void> {
    await client.query(
      `WITH gone AS (
         DELETE FROM ${this.t.keys} WHERE job_id = ANY($1::bigint[]) RETURNING destination_id, key, job_id
       ), headed AS (
         SELECT g.destination_id, g.key FROM gone g
          WHERE NOT EXISTS (SELECT 1 FROM ${this.t.keys} e
                             WHERE e.destination_id = g.destination_id AND e.key = g.key AND e.job_id < g.job_id
                               AND NOT e.job_id = ANY($1::bigint[]))
       ), next AS (
         SELECT (SELECT min(n.job_id) FROM ${this.t.keys} n
                  WHERE n.destination_id = h.destination_id AND n.key = h.key
                    AND NOT n.job_id = ANY($1::bigint[])) AS id
           FROM (SELECT DISTINCT destination_id, key FROM headed) h
       )
       UPDATE ${this.t.jobs} j SET blockers = j.blockers - n.count
         FROM (SELECT id, count(*)::integer AS count FROM next WHERE id IS NOT NULL GROUP BY id) n
        WHERE j.id = n.id`,
      [jobIds],
    );
  }

  /** Counts every active job's blockers of these destinations again (after key rows moved between them). */
  private recountBlockers(client: pg.PoolClient, destinationIds: number[]): Promise<unknown> {
    return client.query(
      `UPDATE ${this.t.jobs} j
          SET blockers = (SELECT count(*) FROM unnest(j.ordering_keys) AS k
                           WHERE EXISTS (SELECT 1 FROM ${this.t.keys} o
                                          WHERE o.destination_id = j.destination_id AND o.key = k
                                            AND o.job_id < j.id))
        WHERE j.destination_id = ANY($1::bigint[]) AND j.state IN ('pending', 'sending', 'dead')`,
      [destinationIds],
    );
  }

  async fingerprintKey(): Promise<string> {
    const rows = await this.query<{ value: string }>(
      `SELECT value FROM ${this.t.meta} WHERE name = 'fingerprint_key'`,
    );
    return (rows[0] as { value: string }).value;
  }

  async destinationId(row: DestinationRow, now: number): Promise<number> {
    const params = [row.integration, row.account, row.endpoint, row.fingerprint];
    const inserted = await this.query<{ id: number }>(
      `INSERT INTO ${this.t.destinations}
         (integration, account, endpoint, fingerprint, credential_hint, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (integration, account, endpoint, fingerprint) DO NOTHING RETURNING id`,
      [...params, row.credentialHint, now],
    );
    if (inserted[0]) return inserted[0].id;
    const found = await this.query<{ id: number }>(
      `SELECT id FROM ${this.t.destinations}
        WHERE integration = $1 AND account = $2 AND endpoint = $3 AND fingerprint = $4`,
      params,
    );
    return (found[0] as { id: number }).id;
  }

  destinations(): Promise<Destination[]> {
    return this.query<Destination>(this.selectDestinations);
  }

  insert(job: NewJob): Promise<number> {
    const destinationId = job.destination.id;
    return this.tx(async (client) => {
      // The lock first, in its own statement: the next statement's snapshot then sees every job of these keys
      // committed before us, and none can commit between our count and our key rows.
      await this.lockKeys(client, destinationId, job.orderingKeys);
      const { rows } = await client.query<{ id: number }>(
        `WITH job AS (
           INSERT INTO ${this.t.jobs} (key, integration, fn, account, ordering_keys, payload, state, blockers,
             next_attempt_at, created_at, updated_at, destination_id)
           VALUES ($1, $2, $3, $4, $5::text[], $6, 'pending',
             (SELECT count(*) FROM unnest($5::text[]) AS k
               WHERE EXISTS (SELECT 1 FROM ${this.t.keys} o WHERE o.destination_id = $8 AND o.key = k)),
             $7, $7, $7, $8)
           RETURNING id
         ), keys AS (
           INSERT INTO ${this.t.keys} (destination_id, key, job_id) SELECT $8, k, job.id FROM job, unnest($5::text[]) AS k
         ), notified AS (SELECT pg_notify($9, $10))
         SELECT id FROM job, notified`,
        [
          job.key,
          job.destination.integration,
          job.fn,
          job.destination.account,
          job.orderingKeys,
          job.payload,
          job.now,
          destinationId,
          NOTIFY_CHANNEL,
          this.payload('work'),
        ],
      );
      return (rows[0] as { id: number }).id;
    });
  }

  claim(request: ClaimRequest): Promise<ClaimResult> {
    // Expired leases are looked for at most once a second: a crashed drainer's rows wait a lease anyway.
    const { now, limit } = request;
    const release = limit > 0 && (now >= this.nextRelease || now < this.nextRelease - RELEASE_EVERY_MS);
    if (release) this.nextRelease = now + RELEASE_EVERY_MS;
    return this.tx(async (client) => {
      const changes = new Set<StorageChange>();
      const recorded = await this.recordOutcomes(client, request.owner, request.outcomes, changes);
      let claimed: Omit<ClaimResult, 'recorded'> = { jobs: [], nextDueAt: null };
      if (limit > 0) {
        const served = request.serve((await client.query<Destination>(this.selectDestinations)).rows);
        const jobs = await this.claimDue(client, request, served, release, changes);
        claimed = {
          jobs,
          nextDueAt: await this.nextDueOf(
            client,
            served.map((s) => s.destination.id),
          ),
        };
      }
      if (changes.size > 0) await this.notify(client, ...changes);
      return { recorded, ...claimed };
    });
  }

  /** Due heads, marked `sending` under `owner`'s lease, after putting back expired leases when `release`. */
  private async claimDue(
    client: pg.PoolClient,
    { owner, limit, now, leaseMs, maxInterruptions, gates }: ClaimRequest,
    served: ServedDestination[],
    release: boolean,
    changes: Set<StorageChange>,
  ): Promise<OutboxJob[]> {
    if (release) {
      const released = await client.query(
        `UPDATE ${this.t.jobs}
            SET state = CASE WHEN interruptions + 1 >= $2 THEN 'dead' ELSE 'pending' END,
                interruptions = interruptions + 1,
                last_error = 'interrupted: its delivery lease expired before the outcome was recorded',
                next_attempt_at = $1, locked_by = NULL, locked_until = NULL, updated_at = $1
          WHERE id IN (SELECT id FROM ${this.t.jobs} WHERE state = 'sending' AND locked_until < $1
                        FOR UPDATE SKIP LOCKED)`,
        [now, maxInterruptions],
      );
      if ((released.rowCount ?? 0) > 0) changes.add('work').add('outcome');
    }
    const chosen: Array<{ row: JobRow; served: ServedDestination }> = [];
    const taken = new Set<number>();
    // Rows read (and locked) per destination; `all` when the read returned everything due there.
    const read = new Map<number, { rows: JobRow[]; all: boolean }>();
    const start = served.length > 0 ? this.claimRotation++ % served.length : 0;
    for (const gate of gates) {
      for (let i = 0; i < served.length && chosen.length < limit; i++) {
        const destination = served[(start + i) % served.length] as ServedDestination;
        const id = destination.destination.id;
        let candidates = read.get(id);
        if (!candidates?.all) {
          // Due heads, oldest due first, skipping rows another drainer is claiming right now. A few more than
          // needed: `gate` may turn some down (their lane is full).
          const want = (limit - chosen.length) * 4;
          const { rows } = await client.query<JobRow>(
            `SELECT id, key, fn, ordering_keys, payload, attempts, created_at, first_failed_at
               FROM ${this.t.jobs}
              WHERE state = 'pending' AND blockers = 0 AND destination_id = $1 AND next_attempt_at <= $2
                AND NOT id = ANY($4::bigint[])
              ORDER BY next_attempt_at, id LIMIT $3
              FOR UPDATE SKIP LOCKED`,
            [id, now, want, [...taken]],
          );
          candidates = { rows, all: rows.length < want };
          read.set(id, candidates);
        }
        for (const row of candidates.rows) {
          if (chosen.length >= limit) break;
          if (taken.has(row.id) || !gate(id, row.fn)) continue;
          chosen.push({ row, served: destination });
          taken.add(row.id);
        }
      }
      if (chosen.length >= limit) break;
    }
    if (chosen.length === 0) return [];
    await client.query(
      `UPDATE ${this.t.jobs}
          SET state = 'sending', attempts = attempts + 1, locked_by = $2, locked_until = $3, updated_at = $4
        WHERE id = ANY($1::bigint[])`,
      [[...taken], owner.id, now + leaseMs, now],
    );
    return chosen.map(
      ({ row, served: { destination, account } }): OutboxJob => ({
        id: row.id,
        key: row.key,
        fn: row.fn,
        orderingKeys: row.ordering_keys,
        payload: JSON.parse(row.payload),
        destination,
        account,
        attempts: row.attempts + 1,
        createdAt: row.created_at,
        firstFailedAt: row.first_failed_at,
      }),
    );
  }

  async renewLeases(owner: LockOwner, lockedUntil: number): Promise<void> {
    await this.query(
      `UPDATE ${this.t.jobs} SET locked_until = $2 WHERE state = 'sending' AND locked_by = $1`,
      [owner.id, lockedUntil],
    );
  }

  /**
   * Records this owner's outcomes in order; false for a job that was no longer ours (lease lost). The keys of the
   * delivered jobs are locked first, all at once, in (destination, key) order like every other key lock.
   */
  private async recordOutcomes(
    client: pg.PoolClient,
    owner: LockOwner,
    outcomes: DeliveryOutcome[],
    changes: Set<StorageChange>,
  ): Promise<boolean[]> {
    const keysByDestination = new Map<number, Set<string>>();
    for (const outcome of outcomes) {
      if (outcome.kind !== 'delivered') continue;
      const keys = keysByDestination.get(outcome.job.destination.id) ?? new Set<string>();
      for (const key of outcome.job.orderingKeys) keys.add(key);
      keysByDestination.set(outcome.job.destination.id, keys);
    }
    for (const [destinationId, keys] of [...keysByDestination].sort(([a], [b]) => a - b))
      await this.lockKeys(client, destinationId, [...keys]);
    const recorded: boolean[] = [];
    for (const outcome of outcomes) {
      const ours = await this.recordOutcome(client, owner, outcome, changes);
      // Waiters elsewhere hear of outcomes; idle drainers elsewhere only when a job became claimable.
      if (ours) changes.add('outcome');
      recorded.push(ours);
    }
    return recorded;
  }

  private async recordOutcome(
    client: pg.PoolClient,
    owner: LockOwner,
    outcome: DeliveryOutcome,
    changes: Set<StorageChange>,
  ): Promise<boolean> {
    const { job, now } = outcome;
    switch (outcome.kind) {
      case 'delivered': {
        // One statement: the outcome, the key rows gone, the next head of each key freed, the destination
        // unpaused. Its CTEs share one snapshot, so they read the key rows as they were before the DELETE.
        const { rows } = await client.query<{ unblocked: number }>(
          `WITH done AS (
           UPDATE ${this.t.jobs}
              SET state = 'delivered', result = $3, locked_by = NULL, locked_until = NULL, updated_at = $4
            WHERE id = $1 AND state = 'sending' AND locked_by = $2
           RETURNING id, destination_id
         ), gone AS (
           DELETE FROM ${this.t.keys} k USING done WHERE k.job_id = done.id
           RETURNING k.destination_id, k.key
         ), next AS (
           SELECT (SELECT min(n.job_id) FROM ${this.t.keys} n
                    WHERE n.destination_id = g.destination_id AND n.key = g.key AND n.job_id > $1) AS id
             FROM gone g
            WHERE NOT EXISTS (SELECT 1 FROM ${this.t.keys} e
                               WHERE e.destination_id = g.destination_id AND e.key = g.key AND e.job_id < $1)
         ), freed AS (
           UPDATE ${this.t.jobs} j SET blockers = j.blockers - n.count
             FROM (SELECT id, count(*)::integer AS count FROM next WHERE id IS NOT NULL GROUP BY id) n
            WHERE j.id = n.id
           RETURNING j.blockers
         ), unpaused AS (
           UPDATE ${this.t.destinations} SET paused_until = NULL, pause_reason = NULL, pauses = 0
            WHERE id IN (SELECT destination_id FROM done) AND pauses > 0
         )
         SELECT (SELECT count(*)::integer FROM freed WHERE blockers = 0) AS unblocked FROM done`,
          [job.id, owner.id, outcome.result, now],
        );
        const done = rows[0];
        if (done && done.unblocked > 0) changes.add('work');
        return done !== undefined;
      }
      case 'failed': {
        // A dead job keeps its key rows: later jobs sharing a key wait until it is retried or discarded.
        const changed = await client.query(
          `UPDATE ${this.t.jobs}
              SET state = $3, last_error = $4, next_attempt_at = $5, first_failed_at = COALESCE(first_failed_at, $6),
                  locked_by = NULL, locked_until = NULL, updated_at = $6
            WHERE id = $1 AND state = 'sending' AND locked_by = $2`,
          [job.id, owner.id, outcome.state, outcome.error, outcome.nextAttemptAt, now],
        );
        return (changed.rowCount ?? 0) > 0;
      }
      case 'paused': {
        // A refused credential is not the write's fault: back to pending, its attempt not counted.
        const changed = await client.query(
          `UPDATE ${this.t.jobs}
              SET state = 'pending', attempts = attempts - 1, last_error = $3, next_attempt_at = $4,
                  locked_by = NULL, locked_until = NULL, updated_at = $4
            WHERE id = $1 AND state = 'sending' AND locked_by = $2`,
          [job.id, owner.id, outcome.error, now],
        );
        if (changed.rowCount === 0) return false;
        // Each pause in a row lasts twice as long as the one before, up to maxMs (and never less than atLeast).
        await client.query(
          `UPDATE ${this.t.destinations}
              SET paused_until = GREATEST(COALESCE(paused_until, 0), $2::bigint,
                                          $3::bigint + LEAST($4::bigint, $5::bigint * (1::bigint << LEAST(pauses, 20)))),
                  pause_reason = $6, pauses = pauses + 1
            WHERE id = $1`,
          [
            job.destination.id,
            outcome.atLeast,
            now,
            outcome.pause.maxMs,
            outcome.pause.baseMs,
            outcome.error,
          ],
        );
        return true;
      }
    }
  }

  async sendingCount(destinationIds: number[]): Promise<number> {
    const rows = await this.query<{ n: number }>(
      `SELECT count(*) AS n FROM ${this.t.jobs} WHERE state = 'sending' AND destination_id = ANY($1::bigint[])`,
      [destinationIds],
    );
    return rows[0]?.n ?? 0;
  }

  async activeCount(destinationIds: number[]): Promise<number> {
    const rows = await this.query<{ n: number }>(
      `SELECT count(*) AS n FROM ${this.t.jobs}
        WHERE state IN ('pending', 'sending') AND destination_id = ANY($1::bigint[])`,
      [destinationIds],
    );
    return rows[0]?.n ?? 0;
  }

  async hasWork(destinationIds: number[]): Promise<boolean> {
    const rows = await this.query<{ busy: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.t.jobs}
                       WHERE destination_id = ANY($1::bigint[])
                         AND (state = 'sending' OR (state = 'pending' AND blockers = 0))) AS busy`,
      [destinationIds],
    );
    return rows[0]?.busy ?? false;
  }

  /** Heads only: a job queued behind another of its key waits for that one's outcome, not for the clock. */
  private async nextDueOf(client: pg.PoolClient, destinationIds: number[]): Promise<number | null> {
    const { rows } = await client.query<{ t: number | null }>(
      `SELECT min(next_attempt_at) AS t FROM ${this.t.jobs}
        WHERE state = 'pending' AND blockers = 0 AND destination_id = ANY($1::bigint[])`,
      [destinationIds],
    );
    return rows[0]?.t ?? null;
  }

  held(): Promise<HeldJob[]> {
    return this.query<HeldJob>(
      `SELECT d.id, d.fn, d.account, d.destination_id AS "destinationId", d.ordering_keys AS keys,
              d.last_error AS error,
              (SELECT count(DISTINCT k.job_id) FROM ${this.t.keys} k
                WHERE k.destination_id = d.destination_id AND k.key = ANY(d.ordering_keys) AND k.job_id > d.id)::integer
                AS waiting
         FROM ${this.t.jobs} d WHERE d.state = 'dead' ORDER BY d.id LIMIT 20`,
    );
  }

  async counts(): Promise<Record<OutboxState, number>> {
    const counts: Record<OutboxState, number> = {
      pending: 0,
      sending: 0,
      delivered: 0,
      dead: 0,
      discarded: 0,
    };
    const rows = await this.query<{ state: OutboxState; n: number }>(
      `SELECT state, count(*) AS n FROM ${this.t.jobs} GROUP BY state`,
    );
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async oldestActiveCreatedAt(): Promise<number | null> {
    const rows = await this.query<{ t: number }>(
      `SELECT created_at AS t FROM ${this.t.jobs} WHERE state IN ('pending', 'sending') ORDER BY id LIMIT 1`,
    );
    return rows[0]?.t ?? null;
  }

  lastErrors(): Promise<OutboxErrorEntry[]> {
    return this.query<OutboxErrorEntry>(
      `SELECT id, fn, account, destination_id AS "destinationId", last_error AS error, attempts, state,
              updated_at AS "updatedAt"
         FROM ${this.t.jobs} WHERE last_error IS NOT NULL AND state IN ('pending', 'dead')
        ORDER BY updated_at DESC, id DESC LIMIT 20`,
    );
  }

  destinationCounts(): Promise<DestinationCounts[]> {
    return this.query<DestinationCounts>(
      `SELECT destination_id AS "destinationId", min(integration) AS integration, min(account) AS account,
              count(*) FILTER (WHERE state = 'pending')::integer AS pending,
              count(*) FILTER (WHERE state = 'sending')::integer AS sending,
              count(*) FILTER (WHERE state = 'dead')::integer AS dead
         FROM ${this.t.jobs} WHERE state IN ('pending', 'sending', 'dead')
        GROUP BY destination_id ORDER BY destination_id`,
    );
  }

  async outcomes(ids: number[]): Promise<StoredOutcome[]> {
    const rows = await this.query<OutcomeRow>(
      `SELECT ${this.outcomeColumns} FROM ${this.t.jobs} j ${this.withDestination} WHERE j.id = ANY($1::bigint[])`,
      [ids],
    );
    return rows.map(storedOutcome);
  }

  async countStates(ranges: IdRange[], now: number): Promise<StateCounts> {
    const counts: StateCounts = { pending: 0, sending: 0, delivered: 0, dead: 0, discarded: 0, paused: 0 };
    const rows = await this.query<{ state: OutboxState; n: number; paused: number }>(
      `SELECT j.state, count(*) AS n,
              count(*) FILTER (WHERE j.state = 'pending' AND d.paused_until > $3) AS paused
         FROM ${this.inRanges} ${this.withDestination}
        GROUP BY j.state`,
      [...rangeColumns(ranges), now],
    );
    for (const row of rows) {
      counts[row.state] = row.n;
      counts.paused += row.paused;
    }
    return counts;
  }

  async undelivered(ranges: IdRange[], limit: number): Promise<StoredOutcome[]> {
    const rows = await this.query<OutcomeRow>(
      `SELECT ${this.outcomeColumns} FROM ${this.inRanges} ${this.withDestination}
        WHERE j.state <> 'delivered' ORDER BY j.id LIMIT $3`,
      [...rangeColumns(ranges), limit],
    );
    return rows.map(storedOutcome);
  }

  /**
   * A job's outcome (`j`, joined withDestination). heldBy: the earliest dead job sharing a key with a pending one
   * (what holds it back, when anything does).
   */
  private get outcomeColumns(): string {
    return `j.id, j.state, j.last_error AS error, j.result, j.destination_id AS "destinationId",
            d.paused_until AS "pausedUntil",
            CASE WHEN j.state = 'pending' THEN (
              SELECT min(dead.id) FROM ${this.t.keys} k
                JOIN ${this.t.jobs} dead ON dead.id = k.job_id AND dead.state = 'dead'
               WHERE k.destination_id = j.destination_id AND k.key = ANY(j.ordering_keys) AND k.job_id < j.id)
            END AS "heldBy"`;
  }

  private get withDestination(): string {
    return `LEFT JOIN ${this.t.destinations} d ON d.id = j.destination_id`;
  }

  /** Jobs `j` with ids in the ranges given as $1 (firsts) and $2 (lasts): one primary-key range each. */
  private get inRanges(): string {
    return `unnest($1::bigint[], $2::bigint[]) AS r(first_id, last_id)
      JOIN ${this.t.jobs} j ON j.id BETWEEN r.first_id AND r.last_id`;
  }

  /** As the SQLite store's: the open jobs' partial index first, for one more than a page; by id when more. */
  async openJobs(min: number, max: number, limit: number): Promise<OpenJob[]> {
    const select = `SELECT j.id, j.state, j.destination_id AS "destinationId", d.paused_until AS "pausedUntil"
         FROM ${this.t.jobs} j LEFT JOIN ${this.t.destinations} d ON d.id = j.destination_id
        WHERE j.state IN ('pending', 'sending') AND j.id BETWEEN $1 AND $2`;
    const few = await this.query<OpenJob>(`${select} LIMIT $3`, [min, max, limit + 1]);
    if (few.length <= limit) return few.sort((a, b) => a.id - b.id);
    return this.query<OpenJob>(`${select} ORDER BY j.id LIMIT $3`, [min, max, limit]);
  }

  async stateOf(id: number): Promise<OutboxState | undefined> {
    const rows = await this.query<{ state: OutboxState }>(`SELECT state FROM ${this.t.jobs} WHERE id = $1`, [
      id,
    ]);
    return rows[0]?.state;
  }

  async deadIds(limit: number): Promise<number[]> {
    const rows = await this.query<{ id: number }>(
      `SELECT id FROM ${this.t.jobs} WHERE state = 'dead' ORDER BY id LIMIT $1`,
      [limit],
    );
    return rows.map((row) => row.id);
  }

  /** A dead job keeps its key rows, so retrying one only changes its state: it is still the head it was. */
  private retry(where: string, params: unknown[]): Promise<number> {
    return this.tx(async (client) => {
      const changed = await client.query(
        `UPDATE ${this.t.jobs}
            SET state = 'pending', attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END,
                interruptions = CASE WHEN state = 'dead' THEN 0 ELSE interruptions END,
                first_failed_at = CASE WHEN state = 'dead' THEN NULL ELSE first_failed_at END,
                next_attempt_at = $1, updated_at = $1
          WHERE ${where}`,
        params,
      );
      if ((changed.rowCount ?? 0) > 0) await this.notify(client, 'work');
      return changed.rowCount ?? 0;
    });
  }

  retryOne(id: number, now: number): Promise<number> {
    return this.retry(`id = $2 AND state IN ('dead', 'pending')`, [now, id]);
  }

  retryDead(now: number): Promise<number> {
    return this.retry(`state = 'dead'`, [now]);
  }

  /** Dead jobs become `discarded` and give up their key rows: the jobs they held back go. */
  private discard(where: string, params: unknown[], now: number): Promise<number> {
    return this.tx(async (client) => {
      const dead = await client.query<{ id: number; destination_id: number; ordering_keys: string[] }>(
        `SELECT id, destination_id, ordering_keys FROM ${this.t.jobs} WHERE ${where} ORDER BY id FOR UPDATE`,
        params,
      );
      if (dead.rows.length === 0) return 0;
      const byDestination = new Map<number, Set<string>>();
      for (const row of dead.rows) {
        const keys = byDestination.get(row.destination_id) ?? new Set<string>();
        for (const key of row.ordering_keys) keys.add(key);
        byDestination.set(row.destination_id, keys);
      }
      for (const [destinationId, keys] of [...byDestination].sort(([a], [b]) => a - b))
        await this.lockKeys(client, destinationId, [...keys]);
      const ids = dead.rows.map((row) => row.id);
      await client.query(
        `UPDATE ${this.t.jobs} SET state = 'discarded', updated_at = $2 WHERE id = ANY($1::bigint[])`,
        [ids, now],
      );
      await this.forgetKeys(client, ids);
      await this.notify(client, 'work', 'outcome');
      return ids.length;
    });
  }

  discardOne(id: number, now: number): Promise<number> {
    return this.discard(`id = $1 AND state = 'dead'`, [id], now);
  }

  discardDead(now: number): Promise<number> {
    return this.discard(`state = 'dead'`, [], now);
  }

  move(from: number, to: Destination, now: number): Promise<number> {
    return this.tx(async (client) => {
      // Rare and operator-driven: hold off every other change to key rows, then count blockers afresh.
      await client.query(`LOCK TABLE ${this.t.keys} IN SHARE ROW EXCLUSIVE MODE`);
      const moved = await client.query<{ id: number }>(
        `UPDATE ${this.t.jobs} SET destination_id = $2, account = $3, integration = $4, updated_at = $5
          WHERE destination_id = $1 AND state IN ('pending', 'dead') RETURNING id`,
        [from, to.id, to.account, to.integration, now],
      );
      if (moved.rows.length === 0) return 0;
      await client.query(
        `UPDATE ${this.t.keys} SET destination_id = $2 WHERE destination_id = $1 AND job_id = ANY($3::bigint[])`,
        [from, to.id, moved.rows.map((row) => row.id)],
      );
      await this.recountBlockers(client, [from, to.id]);
      await this.notify(client, 'work');
      return moved.rows.length;
    });
  }

  async purgeDelivered(before: number): Promise<number> {
    await this.ready;
    const result = await this.pool.query(
      `DELETE FROM ${this.t.jobs} WHERE state = 'delivered' AND updated_at <= $1`,
      [before],
    );
    // Autovacuum gives the space back to the table; no VACUUM here (it would lock out nothing, but takes long).
    return result.rowCount ?? 0;
  }

  onChange(listener: (change: StorageChange) => void): void {
    if (this.listener) return;
    const name = `kosmo-vero outbox listener ${this.schema}`;
    this.listener = new ChangeListener(this.connectionString, NOTIFY_CHANNEL, name, (payload) => {
      const [schema, instance, change] = payload.split(' ');
      // Other schemas share the channel; our own changes are known here already.
      if (schema !== this.schema || instance === this.instance) return;
      if (change === 'work' || change === 'outcome') listener(change);
    });
  }

  isTransient(error: unknown): boolean {
    return isTransientPostgresError(error);
  }

  failure(doing: string, error: unknown) {
    return postgresFailure(this.label, doing, error);
  }

  async close(): Promise<void> {
    // Idle connections do not hold the process open (allowExitOnIdle), so closing them would not either: the
    // caller awaiting close() must not see the process exit first.
    const holdOpen = setInterval(() => {}, 60_000);
    try {
      await this.listener?.close();
      await this.pool.end();
    } finally {
      clearInterval(holdOpen);
    }
  }
}
