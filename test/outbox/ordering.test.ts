import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Outbox, type OutboxJob } from '../../src/outbox/index.js';
import { failure, job, sleep, tempDb } from './helpers.js';

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
    const busy = inFlight.get(j.orderingKey) ?? 0;
    if (busy > 0) violations.push(`two in flight for ${j.orderingKey} (job ${j.id})`);
    inFlight.set(j.orderingKey, busy + 1);
    current++;
    maxInFlight = Math.max(maxInFlight, current);
    try {
      await sleep(Math.floor(Math.random() * 4));
      if (options.failEvery && calls % options.failEvery === 0)
        throw failure('HTTP 503', { retryable: true });
      const list = deliveredByKey.get(j.orderingKey) ?? [];
      list.push(j.id);
      deliveredByKey.set(j.orderingKey, list);
      deliveredIds.push(j.id);
      return { ok: true };
    } finally {
      current--;
      inFlight.set(j.orderingKey, (inFlight.get(j.orderingKey) ?? 1) - 1);
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
  const order: string[] = [];
  let failedOnce = false;
  const outbox = new Outbox({
    path: tempDb(),
    baseDelayMs: 1,
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
  await outbox.drain();
  assert.deepEqual(order, ['b1', 'b2', 'a1', 'a2']);
  await outbox.close();
});

test('two drainers on the same file deliver every job exactly once, in order per key', async () => {
  const file = tempDb();
  const probe = orderingProbe();
  const seenBy = new Map<number, string>();
  const make = (name: string) =>
    new Outbox({
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
