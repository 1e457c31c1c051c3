import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import { OutboxError } from '../errors.js';

/*
 * The PostgreSQL outbox's tables, in the schema named by the URL. Versions live in `outbox_schema_version`; each
 * entry of MIGRATIONS brings the schema one version up. Migrating runs in one transaction under an advisory lock
 * per schema, so processes starting together on several hosts neither race nor see a half-made schema.
 *
 * Ordering: `outbox_job_keys` holds one row per ordering key of each pending, sending or dead job (as in SQLite).
 * Each job also keeps `blockers`, the number of its keys for which an earlier such row exists: 0 means it is the
 * head of every one of its keys. Inserting a job and deleting a job's key rows take an advisory lock per
 * (destination, key), so `blockers` stays exact under concurrent producers and drainers; a claim is then a plain
 * index range over due heads (`outbox_jobs_heads`), whatever the backlog.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE outbox_destinations (
    id              bigserial PRIMARY KEY,           -- from 1: 0 means "no recorded destination"
    integration     text   NOT NULL,
    account         text   NOT NULL,
    endpoint        text   NOT NULL,
    fingerprint     text   NOT NULL,
    credential_hint text   NOT NULL,
    created_at      bigint NOT NULL,
    paused_until    bigint,
    pause_reason    text,
    pauses          integer NOT NULL DEFAULT 0,
    UNIQUE (integration, account, endpoint, fingerprint)
  );
  CREATE TABLE outbox_meta (name text PRIMARY KEY, value text NOT NULL);
  CREATE TABLE outbox_jobs (
    id              bigserial PRIMARY KEY,           -- a sequence: ids are never reused, even after purge
    key             text    NOT NULL,
    integration     text    NOT NULL,
    fn              text    NOT NULL,
    account         text    NOT NULL,
    ordering_keys   text[]  NOT NULL,
    payload         text    NOT NULL,
    state           text    NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead', 'discarded')),
    blockers        integer NOT NULL,                -- keys with an earlier pending/sending/dead job
    attempts        integer NOT NULL DEFAULT 0,
    interruptions   integer NOT NULL DEFAULT 0,
    first_failed_at bigint,
    next_attempt_at bigint  NOT NULL,
    locked_by       text,
    locked_until    bigint,
    last_error      text,
    result          text,
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    destination_id  bigint  NOT NULL DEFAULT 0
  );
  CREATE INDEX outbox_jobs_heads ON outbox_jobs (destination_id, next_attempt_at, id)
    WHERE state = 'pending' AND blockers = 0;
  CREATE INDEX outbox_jobs_active ON outbox_jobs (destination_id) WHERE state IN ('pending', 'sending');
  CREATE INDEX outbox_jobs_sending ON outbox_jobs (locked_until) WHERE state = 'sending';
  CREATE INDEX outbox_jobs_dead ON outbox_jobs (id) WHERE state = 'dead';
  CREATE INDEX outbox_jobs_delivered ON outbox_jobs (updated_at) WHERE state = 'delivered';
  CREATE TABLE outbox_job_keys (
    destination_id bigint NOT NULL,
    key            text   NOT NULL,
    job_id         bigint NOT NULL,
    PRIMARY KEY (destination_id, key, job_id)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Creates the schema, or brings it to this version; refuses one written by a newer kosmo-vero. */
export async function migrate(client: PoolClient, schema: string, label: string): Promise<void> {
  await client.query('BEGIN');
  try {
    // One lock per schema: a second starter waits here, then finds the work done.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `kosmo-vero outbox schema ${schema}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET LOCAL search_path TO "${schema}"`);
    await client.query('CREATE TABLE IF NOT EXISTS outbox_schema_version (version integer NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM outbox_schema_version');
    const version = rows[0]?.version ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new OutboxError(
        'outbox_invalid_option',
        `Outbox: schema "${schema}" at ${label} was written by a newer kosmo-vero (version ${version}); upgrade kosmo-vero to use it.`,
      );
    }
    for (const step of MIGRATIONS.slice(version)) await client.query(step);
    if (rows.length === 0)
      await client.query('INSERT INTO outbox_schema_version VALUES ($1)', [SCHEMA_VERSION]);
    else await client.query('UPDATE outbox_schema_version SET version = $1', [SCHEMA_VERSION]);
    // The key of the credential fingerprints: random per schema, so a fingerprint means nothing outside it.
    await client.query(
      `INSERT INTO outbox_meta (name, value) VALUES ('fingerprint_key', $1) ON CONFLICT (name) DO NOTHING`,
      [randomBytes(32).toString('hex')],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
