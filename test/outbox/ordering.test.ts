import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Outbox, type OutboxJob } from '../../src/outbox/index.js';
import { manualClock, until } from '../support/clock.js';
import { failure, job, sleep, TEST_DESTINATION, tempDb } from './helpers.js';

/** A deliver callback that checks the ordering contract as it goes and records successful deliveries. */
function orderingProbe(options: { failEvery?: number } = {}) {
  const inFlight = new Map<string, number>();
  const deliveredByKey = new Map<string, number[]>();
  const deliveredIds: number[] = [];
  const violations: string[] = [];
  let calls = 0;
  let maxInFlight = 0;
  let current = 0;
  const deliver = async (j: OutboxJob) => {
    calls++;
    for (const key of j.orderingKeys) {
      const busy = inFlight.get(key) ?? 0;
      if (busy > 0) violations.push(`two in flight for ${key} (job ${j.id})`);
      inFlight.set(key, busy + 1);
    }
    current++;
    maxInFlight = Math.max(maxInFlight, current);
    try {
      await sleep(Math.floor(Math.random() * 4));
      if (options.failEvery && calls % options.failEvery === 0)
        throw failure('HTTP 503', { retryable: true });
      for (const key of j.orderingKeys) deliveredByKey.set(key, [...(deliveredByKey.get(key) ?? []), j.id]);
      deliveredIds.push(j.id);
      return { ok: true };
    } finally {
      current--;
      for (const key of j.orderingKeys) inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
    }
  };
  return { deliver, deliveredByKey, deliveredIds, violations, maxInFlight: () => maxInFlight };
}

function enqueueSpread(outbox: Outbox, keys: number, perKey: number): Map<string, number[]> {
  const expected = new Map<string, number[]>();
  for (let i = 0; i < keys * perKey; i++) {
    const key = `user-${Math.floor(Math.random() * keys)}`;
    const { id } = outbox.enqueue(job(key, { i }));
    expected.set(key, [...(expected.get(key) ?? []), id]);
  }
  return expected;
}

test('per-key order under concurrency with retries: one in flight per key, accepted order, each once', async () => {
  const probe = orderingProbe({ failEvery: 5 });
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    deliver: probe.deliver,
    concurrency: 8,
    baseDelayMs: 2,
    maxDelayMs: 10,
  });
  const expected = enqueueSpread(outbox, 20, 25);
  const result = await outbox.drain();
  assert.deepEqual(result, { delivered: 500, dead: 0, pending: 0 });
  assert.deepEqual(probe.violations, []);
  assert.deepEqual(Object.fromEntries(probe.deliveredByKey), Object.fromEntries(expected));
  assert.ok(probe.maxInFlight() > 1 && probe.maxInFlight() <= 8, `max in flight ${probe.maxInFlight()}`);
  await outbox.close();
});

test('a job waiting for its backoff holds back later jobs of its key, not other keys', async () => {
  const clock = manualClock('2026-11-30T09:00:00Z');
  const order: string[] = [];
  let failedOnce = false;
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    baseDelayMs: 1,
    now: () => clock.now().getTime(),
    pollIntervalMs: 5,
    deliver: async (j) => {
      const name = (j.payload as { name: string }).name;
      if (name === 'a1' && !failedOnce) {
        failedOnce = true;
        throw failure('HTTP 429', { retryable: true, retryAfterMs: 150 });
      }
      order.push(name);
    },
  });
  outbox.enqueue(job('a', { name: 'a1' }));
  outbox.enqueue(job('a', { name: 'a2' }));
  outbox.enqueue(job('b', { name: 'b1' }));
  outbox.enqueue(job('b', { name: 'b2' }));
  const draining = outbox.drain();
  // The clock stands still until key b is done, so a1's backoff cannot end before.
  await until(() => order.length === 2, 'key b delivered while a1 waits');
  clock.advance(150);
  await draining;
  assert.deepEqual(order, ['b1', 'b2', 'a1', 'a2']);
  await outbox.close();
});

test('two drainers on the same file deliver every job exactly once, in order per key', async () => {
  const file = tempDb();
  const probe = orderingProbe();
  const seenBy = new Map<number, string>();
  const make = (name: string) =>
    new Outbox({
      destinations: [TEST_DESTINATION],
      path: file,
      concurrency: 4,
      // Rows held by the other drainer are noticed by polling (there is no cross-process wake-up).
      pollIntervalMs: 20,
      deliver: async (j) => {
        const previous = seenBy.get(j.id);
        if (previous) probe.violations.push(`job ${j.id} delivered by ${previous} and ${name}`);
        seenBy.set(j.id, name);
        return probe.deliver(j);
      },
    });
  const first = make('first');
  const second = make('second');
  const expected = enqueueSpread(first, 10, 30);
  const [a, b] = await Promise.all([first.drain(), second.drain()]);
  assert.equal((a?.delivered ?? 0) + (b?.delivered ?? 0), 300);
  assert.ok((a?.delivered ?? 0) > 0 && (b?.delivered ?? 0) > 0, 'both drainers took part');
  assert.deepEqual(probe.violations, []);
  assert.deepEqual(Object.fromEntries(probe.deliveredByKey), Object.fromEntries(expected));
  await first.close();
  await second.close();
});

test('order holds along shared keys: identify(id, email) < track(email); identify < alias(id -> new) < track(new)', async () => {
  const order: string[] = [];
  const others = () => order.filter((name) => name.startsWith('other ')).length;
  const probe = orderingProbe();
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    concurrency: 8,
    deliver: async (j) => {
      const name = (j.payload as { name: string }).name;
      // The first write stays in flight until every other user's write is done: anything not waiting for it
      // would overtake it, and other users must not be held back by it.
      if (name === 'identify') await until(() => others() === 20, "other users' writes delivered");
      await probe.deliver(j);
      order.push(name);
    },
  });
  outbox.enqueue(job(['usr_1', 'a@x.com'], { name: 'identify' }));
  outbox.enqueue(job('a@x.com', { name: 'track email' }));
  outbox.enqueue(job(['usr_1', 'usr_9'], { name: 'alias' }));
  outbox.enqueue(job('usr_9', { name: 'track new id' }));
  // Unrelated users proceed meanwhile.
  for (let i = 0; i < 20; i++) outbox.enqueue(job(`other-${i % 4}`, { name: `other ${i}` }));
  const result = await outbox.drain();
  assert.deepEqual(result, { delivered: 24, dead: 0, pending: 0 });
  assert.deepEqual(probe.violations, []);
  // The order the shared keys impose; "track email" and "alias" share no key, so either may go first.
  const at = (name: string) => order.indexOf(name);
  assert.ok(at('identify') < at('track email'), 'identify (usr_1, a@x.com) before track (a@x.com)');
  assert.ok(at('identify') < at('alias'), 'identify (usr_1) before alias (usr_1)');
  assert.ok(at('alias') < at('track new id'), 'alias (usr_9) before track (usr_9)');
  assert.ok(order.indexOf('identify') > order.indexOf('other 0'), 'other users were not held back');
  await outbox.close();
});

test('random multi-key jobs under concurrency and retries: every key sees its jobs in accepted order', async () => {
  const probe = orderingProbe({ failEvery: 7 });
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    deliver: probe.deliver,
    concurrency: 8,
    baseDelayMs: 2,
    maxDelayMs: 10,
  });
  const expected = new Map<string, number[]>();
  for (let i = 0; i < 300; i++) {
    const keys = [`k${Math.floor(Math.random() * 30)}`];
    if (i % 3 === 0) keys.push(`k${Math.floor(Math.random() * 30)}`);
    const { id } = outbox.enqueue(job(keys, { i }));
    for (const key of new Set(keys)) expected.set(key, [...(expected.get(key) ?? []), id]);
  }
  const result = await outbox.drain();
  assert.deepEqual(result, { delivered: 300, dead: 0, pending: 0 });
  assert.deepEqual(probe.violations, []);
  assert.deepEqual(Object.fromEntries(probe.deliveredByKey), Object.fromEntries(expected));
  await outbox.close();
});

test('a dead job holds back every later job sharing any of its keys until retried; then all go in order', async () => {
  let failFirst = true;
  const order: string[] = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    deliver: async (j) => {
      const name = (j.payload as { name: string }).name;
      if (name === 'first' && failFirst) {
        failFirst = false;
        throw failure('HTTP 400', { retryable: false });
      }
      order.push(name);
    },
  });
  const first = outbox.enqueue(job(['a', 'b'], { name: 'first' }));
  outbox.enqueue(job('b', { name: 'later b' }));
  outbox.enqueue(job(['c', 'a'], { name: 'later a' }));
  outbox.enqueue(job('c', { name: 'behind later a' }));
  outbox.enqueue(job('d', { name: 'unrelated' }));
  assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 1, pending: 3 });
  assert.deepEqual(order, ['unrelated']);
  assert.deepEqual(
    outbox.status().held.map(({ id, keys, waiting }) => ({ id, keys, waiting })),
    [{ id: first.id, keys: ['a', 'b'], waiting: 2 }],
  );
  assert.equal(outbox.retry(first.id), 1);
  assert.deepEqual(await outbox.drain(), { delivered: 4, dead: 0, pending: 0 });
  const at = (name: string) => order.indexOf(name);
  assert.equal(order.length, 5);
  assert.ok(at('first') < at('later b'), order.join(', '));
  assert.ok(at('first') < at('later a') && at('later a') < at('behind later a'), order.join(', '));
  await outbox.close();
});

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
  for (const d of [TEST_DESTINATION, other]) outbox.enqueue(job('probe', { fail: null }, 'test.write', d));
  const idOf = new Map(outbox.status().destinations.map((d) => [d.account, d.id]));
  await outbox.drain();

  for (let round = 0; round < 25; round++) {
    for (let i = 0; i < 8; i++) {
      const jobKeys = [pick(keys), pick(keys), pick(keys)].slice(0, 1 + Math.floor(random() * 3));
      const fail = pick(['dead', 'retry', null, null, null] as const);
      outbox.enqueue(job(jobKeys, { fail }, 'test.write', pick([TEST_DESTINATION, other])));
    }
    check(`round ${round}, queued`);
    const operation = pick(['drain', 'drain', 'retry', 'discard', 'move'] as const);
    if (operation === 'drain') await outbox.drain();
    if (operation === 'retry') outbox.retry('dead');
    if (operation === 'discard') {
      const dead = outbox.status().held[0];
      if (dead) outbox.discard(dead.id);
    }
    if (operation === 'move') {
      const [from, to] = random() < 0.5 ? [other, TEST_DESTINATION] : [TEST_DESTINATION, other];
      outbox.move(idOf.get(from.account) as number, to);
    }
    check(`round ${round}, after ${operation}`);
  }
  // A flag stuck at 1 would leave writes behind for good: everything goes once the dead are retried.
  while (outbox.status().counts.dead > 0 || outbox.status().counts.pending > 0) {
    outbox.retry('dead');
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
