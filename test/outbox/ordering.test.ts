import assert from 'node:assert/strict';
import { test } from 'node:test';
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
