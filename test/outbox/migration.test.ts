import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Outbox } from '../../src/outbox/index.js';
import { until } from '../support/clock.js';
import { job, TEST_DESTINATION, tempDb } from './helpers.js';

/** The v1 schema as it shipped: one ordering_key per job, no key table. */
const V1_SCHEMA = `
CREATE TABLE outbox_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, integration TEXT NOT NULL, fn TEXT NOT NULL,
  account TEXT NOT NULL, ordering_key TEXT NOT NULL, payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, locked_by TEXT, locked_pid INTEGER,
  locked_host TEXT, locked_until INTEGER, last_error TEXT, result TEXT, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_jobs_active ON outbox_jobs (ordering_key, id) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_jobs_sending ON outbox_jobs (ordering_key) WHERE state = 'sending';
PRAGMA user_version = 1;
`;

function writeV1(file: string, rows: Array<{ orderingKey: string; name: string; state: string }>): void {
  const db = new Database(file);
  db.exec(V1_SCHEMA);
  const insert = db.prepare(
    `INSERT INTO outbox_jobs (key, integration, fn, account, ordering_key, payload, state, next_attempt_at,
       created_at, updated_at)
     VALUES (lower(hex(randomblob(16))), 'test', 'test.write', 'default', ?, ?, ?, 0, 0, 0)`,
  );
  for (const row of rows) insert.run(row.orderingKey, JSON.stringify({ name: row.name }), row.state);
  db.close();
}

test('a v1 file is migrated: its jobs wait, unassigned, until moved to a destination; then they keep their order', async () => {
  const file = tempDb();
  writeV1(file, [
    { orderingKey: 'usr_1', name: 'old delivered', state: 'delivered' },
    { orderingKey: 'usr_1', name: 'old 1', state: 'pending' },
    { orderingKey: 'usr_1', name: 'old 2', state: 'pending' },
    { orderingKey: 'usr_2', name: 'old dead', state: 'dead' },
  ]);
  const order: string[] = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: file,
    deliver: async (j) => {
      order.push(`${(j.payload as { name: string }).name} ${j.orderingKeys.join('+')}`);
    },
  });
  assert.deepEqual((await outbox.status()).counts, {
    pending: 2,
    sending: 0,
    delivered: 1,
    dead: 1,
    discarded: 0,
  });
  assert.deepEqual(
    (await outbox.status()).destinations.map(({ id, endpoint, pending, dead, deliverableAs }) => ({
      id,
      endpoint,
      pending,
      dead,
      deliverableAs,
    })),
    [{ id: 0, endpoint: null, pending: 2, dead: 1, deliverableAs: null }],
  );
  // Jobs with no recorded destination are never delivered implicitly, and do not hold up new ones.
  assert.deepEqual(await outbox.drain(), { delivered: 0, dead: 0, pending: 0 });
  await outbox.enqueue(job(['a@x.com', 'usr_1'], { name: 'new' }));
  await outbox.drain();
  assert.deepEqual(order, ['new a@x.com+usr_1']);
  assert.equal((await outbox.status()).counts.pending, 2);

  // The operator assigns them; they go in their own order, and the dead one keeps its key and can be retried.
  assert.equal(await outbox.move(0, TEST_DESTINATION), 3);
  await outbox.drain();
  assert.deepEqual(order, ['new a@x.com+usr_1', 'old 1 usr_1', 'old 2 usr_1']);
  assert.equal(await outbox.retry('dead'), 1);
  await outbox.drain();
  assert.equal(order.at(-1), 'old dead usr_2');
  await outbox.close();

  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), 4);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM outbox_job_keys').get() as { n: number }).n, 0);
  db.close();
});

/** An outbox on the file delivering one job at a time (a deterministic order), recording payload names. */
function namesInOrder(file: string): { outbox: Outbox; order: string[] } {
  const order: string[] = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: file,
    concurrency: 1,
    deliver: async (j) => {
      order.push((j.payload as { name: string }).name);
    },
  });
  return { outbox, order };
}

/** The v2 schema as it shipped: ordering keys as a JSON array, a key table without destinations. */
const V2_SCHEMA = `
CREATE TABLE outbox_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, integration TEXT NOT NULL, fn TEXT NOT NULL,
  account TEXT NOT NULL, ordering_keys TEXT NOT NULL, payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, locked_by TEXT, locked_pid INTEGER,
  locked_host TEXT, locked_until INTEGER, last_error TEXT, result TEXT, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_jobs_in_flight ON outbox_jobs (id) WHERE state = 'sending';
CREATE TABLE outbox_job_keys (key TEXT NOT NULL, job_id INTEGER NOT NULL, PRIMARY KEY (key, job_id)) WITHOUT ROWID;
PRAGMA user_version = 2;
`;

function writeV2(file: string, rows: Array<[keys: string[], name: string, state: 'pending' | 'dead']>): void {
  const v2 = new Database(file);
  v2.exec(V2_SCHEMA);
  const insert = v2.prepare(
    `INSERT INTO outbox_jobs (key, integration, fn, account, ordering_keys, payload, state, next_attempt_at,
       created_at, updated_at)
     VALUES (lower(hex(randomblob(16))), 'test', 'test.write', 'default', ?, ?, ?, 0, 0, 0)`,
  );
  for (const [keys, name, state] of rows) {
    const id = insert.run(JSON.stringify(keys), JSON.stringify({ name }), state).lastInsertRowid;
    // v2 kept key rows for pending and sending jobs only: its dead jobs held nothing back.
    if (state === 'pending')
      for (const key of keys)
        v2.prepare('INSERT INTO outbox_job_keys (key, job_id) VALUES (?, ?)').run(key, id);
  }
  v2.close();
}

test('a v2 file is migrated: its pending jobs keep their key rows and wait for an operator to assign them', async () => {
  const file = tempDb();
  writeV2(file, [
    [['usr_1', 'a@x.com'], 'first', 'pending'],
    [['a@x.com'], 'second', 'pending'],
    [['usr_9'], 'old dead', 'dead'],
    [['usr_9'], 'after dead', 'pending'],
  ]);

  const { outbox, order } = namesInOrder(file);
  await outbox.drain();
  assert.deepEqual(order, []);
  assert.equal(await outbox.move(0, TEST_DESTINATION), 4);
  // Retried before the write behind it went: it gets its key rows back and goes first.
  assert.equal(await outbox.retry('dead'), 1);
  await outbox.drain();
  assert.deepEqual(order, ['first', 'second', 'old dead', 'after dead']);
  await outbox.close();
});

test('a v2 dead job retried while a later write of its user is being delivered waits for that one', async () => {
  const file = tempDb();
  writeV2(file, [[['usr_9'], 'old dead', 'dead']]);
  const order: string[] = [];
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: file,
    deliver: async (j) => {
      const { name } = j.payload as { name: string };
      if (name === 'newer') await held;
      order.push(name);
    },
  });
  assert.equal(await outbox.move(0, TEST_DESTINATION), 1);
  // Queued after the dead one, and nothing holds it back (v2 dead jobs hold no keys): it is being delivered.
  await outbox.enqueue(job('usr_9', { name: 'newer' }));
  const drained = outbox.drain();
  await until(async () => (await outbox.status()).counts.sending === 1, 'the newer write is being delivered');
  // The dead one comes back ahead of it in the key's order, but one write of a user at a time: it waits. A write
  // of another user queued after it shows that a claim looked at both and took only that one.
  assert.equal(await outbox.retry('dead'), 1);
  const other = await outbox.enqueue(job('usr_2', { name: 'other user' }));
  // Waited for as recorded (an outcome is written with the next claim, a tick after its delivery returns).
  assert.equal((await outbox.waitFor([other.id]))[0]?.state, 'delivered');
  assert.deepEqual(order, ['other user']);
  assert.equal((await outbox.status()).counts.sending, 1);
  release();
  await drained;
  assert.deepEqual(order, ['other user', 'newer', 'old dead']);
  await outbox.close();
});

/** The v3 schema as it shipped: destinations, keys per destination, no head flag. */
const V3_SCHEMA = `
CREATE TABLE outbox_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, integration TEXT NOT NULL, fn TEXT NOT NULL,
  account TEXT NOT NULL, ordering_keys TEXT NOT NULL, payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead', 'discarded')),
  attempts INTEGER NOT NULL DEFAULT 0, interruptions INTEGER NOT NULL DEFAULT 0, first_failed_at INTEGER,
  next_attempt_at INTEGER NOT NULL, locked_by TEXT, locked_pid INTEGER, locked_host TEXT, locked_until INTEGER,
  last_error TEXT, result TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  destination_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_jobs_due_by_destination ON outbox_jobs (destination_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_jobs_in_flight ON outbox_jobs (id) WHERE state = 'sending';
CREATE TABLE outbox_job_keys (
  destination_id INTEGER NOT NULL, key TEXT NOT NULL, job_id INTEGER NOT NULL,
  PRIMARY KEY (destination_id, key, job_id)
) WITHOUT ROWID;
CREATE TABLE outbox_destinations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, integration TEXT NOT NULL, account TEXT NOT NULL, endpoint TEXT NOT NULL,
  fingerprint TEXT NOT NULL, credential_hint TEXT NOT NULL, created_at INTEGER NOT NULL, paused_until INTEGER,
  pause_reason TEXT, pauses INTEGER NOT NULL DEFAULT 0, UNIQUE (integration, account, endpoint, fingerprint)
);
CREATE TABLE outbox_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = 3;
`;

test('a v3 file is migrated: only the heads of their keys are claimable, the rest follow in order', async () => {
  const file = tempDb();
  const v3 = new Database(file);
  v3.exec(V3_SCHEMA);
  const fingerprintKey = 'ab'.repeat(32);
  v3.prepare(`INSERT INTO outbox_meta (name, value) VALUES ('fingerprint_key', ?)`).run(fingerprintKey);
  v3.prepare(
    `INSERT INTO outbox_destinations (integration, account, endpoint, fingerprint, credential_hint, created_at)
     VALUES (?, ?, ?, ?, 'test…0001', 0)`,
  ).run(
    TEST_DESTINATION.integration,
    TEST_DESTINATION.account,
    TEST_DESTINATION.endpoint,
    createHmac('sha256', fingerprintKey).update(TEST_DESTINATION.credential).digest('hex').slice(0, 32),
  );
  const insert = v3.prepare(
    `INSERT INTO outbox_jobs (key, integration, fn, account, ordering_keys, payload, state, next_attempt_at,
       created_at, updated_at, destination_id)
     VALUES (lower(hex(randomblob(16))), 'test', 'test.write', 'default', ?, ?, ?, 0, 0, 0, 1)`,
  );
  const insertKey = v3.prepare('INSERT INTO outbox_job_keys (destination_id, key, job_id) VALUES (1, ?, ?)');
  const rows: Array<[string[], string, string]> = [
    [['usr_1'], 'u1 first', 'pending'],
    [['usr_1', 'a@x.com'], 'u1 second', 'pending'],
    [['a@x.com'], 'a third', 'pending'],
    [['usr_2'], 'u2 dead', 'dead'],
    [['usr_2'], 'u2 after dead', 'pending'],
    [['usr_3'], 'u3 delivered', 'delivered'],
    [['usr_3'], 'u3', 'pending'],
  ];
  for (const [keys, name, state] of rows) {
    const id = insert.run(JSON.stringify(keys), JSON.stringify({ name }), state).lastInsertRowid;
    // Key rows as v3 kept them: for pending, sending and dead jobs.
    if (state !== 'delivered') for (const key of keys) insertKey.run(key, id);
  }
  v3.close();

  const { outbox, order } = namesInOrder(file);
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), 4);
  assert.deepEqual(
    db.prepare(`SELECT id, blocked FROM outbox_jobs WHERE state <> 'delivered' ORDER BY id`).all(),
    [
      { id: 1, blocked: 0 },
      { id: 2, blocked: 1 },
      { id: 3, blocked: 1 },
      { id: 4, blocked: 0 },
      { id: 5, blocked: 1 },
      { id: 7, blocked: 0 },
    ],
  );
  assert.deepEqual(
    db
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'outbox_jobs_%' ORDER BY name`,
      )
      .all(),
    [{ name: 'outbox_jobs_in_flight' }, { name: 'outbox_jobs_pending' }],
  );
  db.close();

  assert.deepEqual(await outbox.drain(), { delivered: 4, dead: 0, pending: 1 });
  assert.deepEqual(order, ['u1 first', 'u1 second', 'a third', 'u3']);
  assert.equal(await outbox.retry('dead'), 1);
  await outbox.drain();
  assert.deepEqual(order.slice(4), ['u2 dead', 'u2 after dead']);
  await outbox.close();
});

test('a file from a newer schema, or not an outbox, is refused with a clear message', async () => {
  const newer = tempDb();
  const db = new Database(newer);
  db.pragma('user_version = 99');
  db.close();
  assert.throws(
    () => new Outbox({ destinations: [TEST_DESTINATION], path: newer, deliver: async () => undefined }),
    {
      code: 'outbox_invalid_option',
      message: /newer kosmo-vero/,
    },
  );
  const other = tempDb();
  const foreign = new Database(other);
  foreign.exec('CREATE TABLE outbox_jobs (x); PRAGMA user_version = 0');
  foreign.close();
  assert.throws(
    () => new Outbox({ destinations: [TEST_DESTINATION], path: other, deliver: async () => undefined }),
    {
      code: 'outbox_invalid_option',
      message: /unknown outbox schema/,
    },
  );
});

test('key rows exist only for pending and sending jobs', async () => {
  const file = tempDb();
  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: async () => undefined });
  for (let i = 0; i < 50; i++) await outbox.enqueue(job([`u${i % 5}`, `e${i % 7}`, `u${i % 5}`], { i }));
  const db = new Database(file, { readonly: true });
  const keyRows = () => (db.prepare('SELECT COUNT(*) AS n FROM outbox_job_keys').get() as { n: number }).n;
  assert.equal(keyRows(), 100, 'duplicates within a job are stored once');
  await outbox.drain();
  assert.equal(keyRows(), 0);
  db.close();
  await outbox.close();
});
