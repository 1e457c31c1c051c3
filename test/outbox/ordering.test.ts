import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Outbox } from '../../src/outbox/index.js';
import { failure, job, TEST_DESTINATION, tempDb } from './helpers.js';

test('the stored head flag always matches the key rows, through failures, dead jobs, retries, discards and moves', async () => {
  const other = { ...TEST_DESTINATION, account: 'other', credential: 'test-credential-0002' };
  const failedOnce = new Set<number>();
  const file = tempDb();
  const mismatches: string[] = [];
  let reader: Database.Database | undefined;
  // Every job holding key rows: its flag is 1 exactly when an earlier job of its destination holds a row of one
  // of its keys. Checked while deliveries are in flight, and between operations.
  const check = (when: string) => {
    reader ??= new Database(file, { readonly: true });
    const wrong = reader
      .prepare(
        `SELECT j.id, j.state, j.blocked FROM outbox_jobs j
          WHERE j.state IN ('pending', 'sending', 'dead')
            AND j.blocked <> EXISTS (
              SELECT 1 FROM json_each(j.ordering_keys) jk JOIN outbox_job_keys o
                ON o.destination_id = j.destination_id AND o.key = jk.value AND o.job_id < j.id)`,
      )
      .all();
    if (wrong.length > 0) mismatches.push(`${when}: ${JSON.stringify(wrong)}`);
  };
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION, other],
    path: file,
    concurrency: 4,
    baseDelayMs: 1,
    maxDelayMs: 2,
    deliver: async (j) => {
      check(`delivering ${j.id}`);
      const { fail } = j.payload as { fail: 'dead' | 'retry' | null };
      if (fail !== null && !failedOnce.has(j.id)) {
        failedOnce.add(j.id);
        throw failure(fail === 'dead' ? 'HTTP 400' : 'HTTP 503', { retryable: fail === 'retry' });
      }
      return { ok: true };
    },
  });
  const random = seeded(7);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  const keys = ['usr_1', 'usr_2', 'usr_3', 'a@x.com', 'b@x.com', 'usr_4'];
  for (const d of [TEST_DESTINATION, other])
    await outbox.enqueue(job('probe', { fail: null }, 'test.write', d));
  const idOf = new Map((await outbox.status()).destinations.map((d) => [d.account, d.id]));
  await outbox.drain();

  for (let round = 0; round < 25; round++) {
    for (let i = 0; i < 8; i++) {
      const jobKeys = [pick(keys), pick(keys), pick(keys)].slice(0, 1 + Math.floor(random() * 3));
      const fail = pick(['dead', 'retry', null, null, null] as const);
      await outbox.enqueue(job(jobKeys, { fail }, 'test.write', pick([TEST_DESTINATION, other])));
    }
    check(`round ${round}, queued`);
    const operation = pick(['drain', 'drain', 'retry', 'discard', 'move'] as const);
    if (operation === 'drain') await outbox.drain();
    if (operation === 'retry') await outbox.retry('dead');
    if (operation === 'discard') {
      const dead = (await outbox.status()).held[0];
      if (dead) await outbox.discard(dead.id);
    }
    if (operation === 'move') {
      const [from, to] = random() < 0.5 ? [other, TEST_DESTINATION] : [TEST_DESTINATION, other];
      await outbox.move(idOf.get(from.account) as number, to);
    }
    check(`round ${round}, after ${operation}`);
  }
  // A flag stuck at 1 would leave writes behind for good: everything goes once the dead are retried.
  while ((await outbox.status()).counts.dead > 0 || (await outbox.status()).counts.pending > 0) {
    await outbox.retry('dead');
    await outbox.drain();
  }
  check('the end');
  reader?.close();
  await outbox.close();
  assert.deepEqual(mismatches, []);
  assert.ok(failedOnce.size > 10, `failures happened (${failedOnce.size})`);
});

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
