import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Outbox, type OutboxJob } from '../../src/outbox/index.js';
import { manualClock, until } from '../support/clock.js';
import { failure, job, sleep, TEST_DESTINATION } from './helpers.js';

/*
 * The outbox's contract, run against each storage engine (conformance-sqlite.test.ts, conformance-postgres.test.ts):
 * commit before acknowledging, per-key order over several keys, dead letters that hold back their keys, retry and
 * discard, backoff, destinations, leases, two drainers on one store. Engine-specific behaviour (SQLite files and
 * pids, PostgreSQL schemas and notifications) is tested beside each engine.
 */
export interface Engine {
  name: string;
  /** A fresh, empty outbox location (an SQLite file, a PostgreSQL URL with a schema of its own). */
  location(): Promise<string>;
  /** Removes what the locations made (run once, after the suite). */
  cleanup?(): Promise<void>;
  /** Set when the engine cannot run here: the suite is reported as skipped, with this reason. */
  skip?: string;
}

const ok = async () => ({ status: 200, message: 'Success.' });

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

async function enqueueSpread(outbox: Outbox, keys: number, perKey: number): Promise<Map<string, number[]>> {
  const expected = new Map<string, number[]>();
  for (let i = 0; i < keys * perKey; i++) {
    const key = `user-${Math.floor(Math.random() * keys)}`;
    const { id } = await outbox.enqueue(job(key, { i }));
    expected.set(key, [...(expected.get(key) ?? []), id]);
  }
  return expected;
}

/** The whole contract against one engine. */
export function outboxConformance(engine: Engine): void {
  describe(`outbox on ${engine.name}`, { skip: engine.skip }, () => {
    after(async () => {
      await engine.cleanup?.();
    });

    test('enqueue commits before returning: a second Outbox on the same store sees the jobs', async () => {
      const file = await engine.location();
      const first = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: ok });
      const a = await first.enqueue(job('u1', { n: 1 }));
      const b = await first.enqueue(job('u1', { n: 2 }));
      assert.ok(b.id > a.id);
      assert.match(a.key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.notEqual(a.key, b.key);

      const second = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: ok });
      assert.deepEqual((await second.status()).counts, {
        pending: 2,
        sending: 0,
        delivered: 0,
        dead: 0,
        discarded: 0,
      });
      await first.close();
      await second.close();
    });

    test('drain delivers everything and waitFor returns what deliver resolved with', async () => {
      const seen: OutboxJob[] = [];
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        deliver: async (j) => {
          seen.push(j);
          return { status: 200, message: `Success for ${(j.payload as { n: number }).n}` };
        },
      });
      const ids: number[] = [];
      for (const n of [1, 2, 3]) ids.push((await outbox.enqueue(job(`u${n}`, { n }))).id);
      const progress: number[] = [];
      const result = await outbox.drain({ onProgress: (p) => progress.push(p.delivered) });
      assert.deepEqual(result, { delivered: 3, dead: 0, pending: 0 });
      assert.deepEqual(progress, [1, 2, 3]);
      assert.equal(seen[0]?.attempts, 1);
      assert.equal(seen[0]?.destination.integration, 'test');
      assert.equal(seen[0]?.account, 'default');
      assert.deepEqual(
        await outbox.waitFor(ids),
        ids.map((id, i) => ({
          id,
          state: 'delivered',
          result: { status: 200, message: `Success for ${i + 1}` },
        })),
      );
      assert.deepEqual((await outbox.status()).counts, {
        pending: 0,
        sending: 0,
        delivered: 3,
        dead: 0,
        discarded: 0,
      });
      assert.equal((await outbox.status()).oldestPendingAgeMs, null);
      await outbox.close();
    });

    test('waitFor sees writes another drainer delivers, reporting how many are settled as it goes', async () => {
      const location = await engine.location();
      // This one only waits: it holds no destination, so it never delivers anything itself.
      const waiting = new Outbox({
        path: location,
        pollIntervalMs: 5,
        deliver: async () => assert.fail('not here'),
      });
      const ids: number[] = [];
      for (const [i, key] of ['usr_1', 'usr_2', 'usr_1', 'usr_3'].entries())
        ids.push((await waiting.enqueue(job(key, { i }))).id);
      const settled: number[] = [];
      const outcomes = waiting.waitFor(ids, { onProgress: (count, total) => settled.push(count, total) });
      const other = new Outbox({
        destinations: [TEST_DESTINATION],
        path: location,
        deliver: async () => ({ ok: true }),
      });
      assert.deepEqual(await other.drain(), { delivered: 4, dead: 0, pending: 0 });
      assert.deepEqual(
        (await outcomes).map((o) => o.state),
        ['delivered', 'delivered', 'delivered', 'delivered'],
      );
      assert.deepEqual(settled.slice(0, 2), [0, 4], 'the first report: none settled yet');
      assert.deepEqual(settled.slice(-2), [4, 4]);
      await Promise.all([waiting.close(), other.close()]);
    });

    test('waitForTally counts what became of many writes, details the first few not delivered, and skips writes of others between them', async () => {
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        deliver: async (j) => {
          if ([1, 4, 99].includes((j.payload as { n: number }).n)) {
            throw failure('HTTP 400 "email: invalid"', { retryable: false });
          }
          return { ok: true };
        },
      });
      const a = await outbox.enqueue(job('u1', { n: 1 }));
      const b = await outbox.enqueue(job('u1', { n: 2 }));
      // Another producer's write among the waited ones: dead too, and not counted.
      await outbox.enqueue(job('u9', { n: 99 }));
      const c = await outbox.enqueue(job('u2', { n: 3 }));
      const d = await outbox.enqueue(job('u3', { n: 4 }));
      const e = await outbox.enqueue(job('u4', { n: 5 }));
      assert.deepEqual(await outbox.drain(), { delivered: 2, dead: 3, pending: 1 });
      const ids = [a.id, b.id, c.id, d.id, e.id, a.id];
      const settled: Array<[number, number]> = [];
      assert.deepEqual(
        await outbox.waitForTally(ids, { details: 2, onProgress: (n, total) => settled.push([n, total]) }),
        {
          total: 5,
          delivered: 2,
          dead: 2,
          discarded: 0,
          pending: 1,
          sending: 0,
          notDelivered: [
            { id: a.id, state: 'dead', error: 'HTTP 400 "email: invalid"' },
            { id: b.id, state: 'pending', heldBy: a.id },
          ],
        },
      );
      assert.deepEqual(
        settled.at(-1),
        [4, 5],
        'the held write is not settled; the wait ends as it can only wait',
      );
      // Purged rows were delivered: they still count as delivered.
      assert.equal(await outbox.purge({ delivered: true }), 2);
      assert.equal(await outbox.discard(d.id), 1);
      const after = await outbox.waitForTally(ids, { details: 0 });
      assert.deepEqual(after, {
        total: 5,
        delivered: 2,
        dead: 1,
        discarded: 1,
        pending: 1,
        sending: 0,
        notDelivered: [],
      });
      assert.deepEqual(await outbox.waitForTally([]), {
        total: 0,
        delivered: 0,
        dead: 0,
        discarded: 0,
        pending: 0,
        sending: 0,
        notDelivered: [],
      });
      await assert.rejects(outbox.waitForTally([a.id, 0]), { code: 'outbox_unknown_job' });
      await assert.rejects(outbox.waitForTally([a.id], { details: 1.5 }), { code: 'outbox_invalid_option' });
      await outbox.close();
    });

    test('a wait reads open writes a page at a time: what is settled on either side of a page boundary is counted once, what is held stays open', async () => {
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        deliver: async (j) => {
          if ([50, 1095].includes((j.payload as { n: number }).n)) {
            throw failure('HTTP 400 "id: invalid"', { retryable: false });
          }
          return { ok: true };
        },
      });
      // 50 dies and holds 51-1050 behind it: the first page of 1000 open writes ends at 1050, and 1051 right
      // after it is delivered. 1095 dies and holds 1096-1100. Every other write is a user's own.
      const keyOf = (n: number) => (n >= 50 && n <= 1050 ? 'held' : n >= 1095 ? 'held-too' : `u${n}`);
      const ids: number[] = [];
      for (let n = 1; n <= 1100; n++) ids.push((await outbox.enqueue(job(keyOf(n), { n }))).id);
      assert.deepEqual(await outbox.drain(), { delivered: 93, dead: 2, pending: 1005 });
      const settled: Array<[number, number]> = [];
      const tally = await outbox.waitForTally(ids, {
        details: 0,
        onProgress: (n, total) => settled.push([n, total]),
      });
      assert.deepEqual([tally.delivered, tally.dead, tally.pending], [93, 2, 1005]);
      // The look itself counts all 95 settled (a later count from the store would report a larger number again).
      assert.deepEqual(settled, [
        [0, 1100],
        [95, 1100],
      ]);
      await outbox.close();
    });

    test('waitForTally reports progress through delivery, one write at a time, and what is left on a timeout', async () => {
      const release: Array<() => void> = [];
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        concurrency: 1,
        deliver: () => new Promise((resolve) => release.push(() => resolve('sent'))),
      });
      const ids: number[] = [];
      for (const user of ['u1', 'u2', 'u3']) ids.push((await outbox.enqueue(job(user, {}))).id);
      // Nothing delivers yet: out of time at once, all three pending.
      const early = await outbox.waitForTally(ids, { timeoutMs: 0, details: 1 });
      assert.deepEqual(
        [early.pending, early.delivered, early.notDelivered],
        [3, 0, [{ id: ids[0], state: 'pending' }]],
      );
      const settled: number[] = [];
      const tally = outbox.waitForTally(ids, { onProgress: (n) => settled.push(n) });
      outbox.start();
      for (let i = 1; i <= 3; i++) {
        await until(() => release.length === i, `delivery ${i} started`);
        assert.deepEqual(
          settled,
          Array.from({ length: i }, (_, n) => n),
          `before delivery ${i} finishes`,
        );
        release[i - 1]?.();
        await until(() => settled.length === i + 1, `delivery ${i} reported`);
      }
      assert.deepEqual(settled, [0, 1, 2, 3]);
      assert.deepEqual(await tally, {
        total: 3,
        delivered: 3,
        dead: 0,
        discarded: 0,
        pending: 0,
        sending: 0,
        notDelivered: [],
      });
      await outbox.close();
    });

    test('a non-retryable failure is dead at once with its message; it holds back its key until discarded', async () => {
      const calls: number[] = [];
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        deliver: async (j) => {
          const n = (j.payload as { n: number }).n;
          calls.push(n);
          if (n === 1) throw failure('POST /events/track: HTTP 400 "email: invalid"', { retryable: false });
          return 'fine';
        },
      });
      const first = await outbox.enqueue(job('u1', { n: 1 }, 'vero.track_event'));
      const second = await outbox.enqueue(job('u1', { n: 2 }));
      const other = await outbox.enqueue(job('u2', { n: 3 }));
      const result = await outbox.drain();
      assert.deepEqual(result, { delivered: 1, dead: 1, pending: 1 });
      assert.deepEqual(calls, [1, 3], 'the later write of u1 waits behind the dead one; u2 goes');
      const [dead] = await outbox.waitFor([first.id]);
      assert.deepEqual(dead, {
        id: first.id,
        state: 'dead',
        error: 'POST /events/track: HTTP 400 "email: invalid"',
      });
      const status = await outbox.status();
      assert.deepEqual(status.counts, { pending: 1, sending: 0, delivered: 1, dead: 1, discarded: 0 });
      assert.equal(status.lastErrors.length, 1);
      assert.deepEqual(
        { ...status.lastErrors[0], updatedAt: 0 },
        {
          id: first.id,
          fn: 'vero.track_event',
          account: 'default',
          destinationId: 1,
          error: 'POST /events/track: HTTP 400 "email: invalid"',
          attempts: 1,
          state: 'dead',
          updatedAt: 0,
        },
      );
      assert.deepEqual(status.held, [
        {
          id: first.id,
          fn: 'vero.track_event',
          account: 'default',
          destinationId: 1,
          keys: ['u1'],
          error: 'POST /events/track: HTTP 400 "email: invalid"',
          waiting: 1,
        },
      ]);
      // Waiting for the held write ends at once: it can only wait for an operator, and it says for which write.
      assert.deepEqual(await outbox.waitFor([second.id]), [
        { id: second.id, state: 'pending', heldBy: first.id },
      ]);
      await assert.rejects(async () => outbox.discard(second.id), {
        code: 'outbox_not_retryable',
        message: /only dead writes/,
      });
      assert.equal(await outbox.discard(first.id), 1);
      assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
      assert.deepEqual(calls, [1, 3, 2]);
      assert.equal((await outbox.waitFor([second.id]))[0]?.state, 'delivered');
      assert.equal((await outbox.waitFor([other.id]))[0]?.state, 'delivered');
      assert.deepEqual((await outbox.status()).held, []);
      assert.equal((await outbox.status()).counts.discarded, 1);
      await outbox.close();
    });

    test('retryable and unknown failures are retried until maxAttempts, then dead', async () => {
      let calls = 0;
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        maxAttempts: 3,
        baseDelayMs: 1,
        maxDelayMs: 5,
        deliver: async () => {
          calls++;
          // First a plain Error (no `retryable`: treated as retryable), then a string, then a marked one.
          if (calls === 1) throw new Error('socket hang up');
          if (calls === 2) throw 'weird failure';
          throw failure('HTTP 503', { retryable: true });
        },
      });
      const { id } = await outbox.enqueue(job('u1', {}));
      assert.deepEqual(await outbox.drain(), { delivered: 0, dead: 1, pending: 0 });
      assert.equal(calls, 3);
      assert.deepEqual(await outbox.waitFor([id]), [{ id, state: 'dead', error: 'HTTP 503' }]);
      assert.equal((await outbox.status()).lastErrors[0]?.attempts, 3);
      await outbox.close();
    });

    test('backoff waits the retryAfterMs the failure asked for (injected clock)', async () => {
      const clock = manualClock('2026-11-30T09:00:00Z');
      const attempts: Array<[string, number]> = [];
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        baseDelayMs: 1,
        maxDelayMs: 10,
        now: () => clock.now().getTime(),
        pollIntervalMs: 5,
        deliver: async (j) => {
          const user = j.orderingKeys[0] ?? '';
          attempts.push([user, clock.now().getTime()]);
          if (attempts.length === 1) throw failure('HTTP 429', { retryable: true, retryAfterMs: 300 });
          return 'ok';
        },
      });
      const start = clock.now().getTime();
      const { id } = await outbox.enqueue(job('u1', {}));
      const retrying = outbox.drain();
      await until(
        async () => (await outbox.status()).lastErrors[0]?.error === 'HTTP 429',
        'the first attempt failed',
      );
      // While it waits for the backoff, the job is pending with its last error visible.
      const status = await outbox.status();
      assert.equal(status.counts.pending, 1);
      assert.ok((status.oldestPendingAgeMs ?? -1) >= 0);
      // 1 ms short of the wait: a later job for another user goes, the waiting one does not.
      clock.advance(299);
      await outbox.enqueue(job('u2', {}));
      await until(() => attempts.some(([user]) => user === 'u2'), 'the other user delivered');
      clock.advance(1);
      assert.deepEqual(await retrying, { delivered: 2, dead: 0, pending: 0 });
      assert.deepEqual(attempts, [
        ['u1', start],
        ['u2', start + 299],
        ['u1', start + 300],
      ]);
      assert.deepEqual(await outbox.waitFor([id]), [
        { id, state: 'delivered', error: 'HTTP 429', result: 'ok' },
      ]);
      await outbox.close();
    });

    test('retry brings dead jobs back with fresh attempts; purge removes delivered rows', async () => {
      let healthy = false;
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        deliver: async () => {
          if (!healthy) throw failure('HTTP 401 Unauthorized', { retryable: false });
          return 'ok';
        },
      });
      const a = await outbox.enqueue(job('u1', {}));
      const b = await outbox.enqueue(job('u2', {}));
      const c = await outbox.enqueue(job('u3', {}));
      await outbox.drain();
      assert.equal((await outbox.status()).counts.dead, 3);

      healthy = true;
      assert.equal(await outbox.retry(a.id), 1);
      await assert.rejects(async () => outbox.retry(999_999), {
        code: 'outbox_unknown_job',
        message: `retry: no write with id 999999 in this outbox (dead writes: ${b.id}, ${c.id}).`,
      });
      assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
      await assert.rejects(async () => outbox.retry(a.id), {
        code: 'outbox_not_retryable',
        message: /already delivered/,
      });
      assert.equal(await outbox.retry('dead'), 2);
      assert.deepEqual(await outbox.drain(), { delivered: 2, dead: 0, pending: 0 });
      const outcomes = await outbox.waitFor([a.id, b.id, c.id]);
      assert.deepEqual(
        outcomes.map((o) => o.state),
        ['delivered', 'delivered', 'delivered'],
      );

      assert.equal(await outbox.purge({ delivered: true, olderThanMs: 60_000 }), 0);
      assert.equal(await outbox.purge({ delivered: true }), 3);
      assert.deepEqual((await outbox.status()).counts, {
        pending: 0,
        sending: 0,
        delivered: 0,
        dead: 0,
        discarded: 0,
      });
      await assert.rejects(async () => outbox.purge({} as never), { code: 'outbox_invalid_option' });
      await outbox.close();
    });

    test('a started drainer is woken by enqueue and keeps going until stopped', async () => {
      const delivered: number[] = [];
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        autoStart: true,
        deliver: async (j) => {
          delivered.push(j.id);
          return null;
        },
      });
      const a = await outbox.enqueue(job('u1', {}));
      assert.deepEqual(await outbox.waitFor([a.id], { timeoutMs: 60_000 }), [
        { id: a.id, state: 'delivered', result: null },
      ]);
      const b = await outbox.enqueue(job('u1', {}));
      assert.deepEqual(await outbox.waitFor([b.id], { timeoutMs: 60_000 }), [
        { id: b.id, state: 'delivered', result: null },
      ]);
      await outbox.stop();
      const c = await outbox.enqueue(job('u1', {}));
      assert.deepEqual(await outbox.waitFor([c.id], { timeoutMs: 100 }), [{ id: c.id, state: 'pending' }]);
      assert.deepEqual(delivered, [a.id, b.id]);
      await assert.rejects(outbox.waitFor([123_456]), { code: 'outbox_unknown_job' });
      await outbox.close();
    });

    test('per-key order under concurrency with retries: one in flight per key, accepted order, each once', async () => {
      const probe = orderingProbe({ failEvery: 5 });
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        deliver: probe.deliver,
        concurrency: 8,
        baseDelayMs: 2,
        maxDelayMs: 10,
      });
      const expected = await enqueueSpread(outbox, 20, 25);
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
        path: await engine.location(),
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
      await outbox.enqueue(job('a', { name: 'a1' }));
      await outbox.enqueue(job('a', { name: 'a2' }));
      await outbox.enqueue(job('b', { name: 'b1' }));
      await outbox.enqueue(job('b', { name: 'b2' }));
      const draining = outbox.drain();
      // The clock stands still until key b is done, so a1's backoff cannot end before.
      await until(() => order.length === 2, 'key b delivered while a1 waits');
      clock.advance(150);
      await draining;
      assert.deepEqual(order, ['b1', 'b2', 'a1', 'a2']);
      await outbox.close();
    });

    test('two drainers on the same store deliver every job exactly once, in order per key', async () => {
      const file = await engine.location();
      const probe = orderingProbe();
      const seenBy = new Map<number, string>();
      const make = (name: string) =>
        new Outbox({
          destinations: [TEST_DESTINATION],
          path: file,
          concurrency: 4,
          // Rows the other drainer changes are noticed by its notification (PostgreSQL) or by polling (SQLite).
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
      const expected = await enqueueSpread(first, 10, 30);
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
        path: await engine.location(),
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
      await outbox.enqueue(job(['usr_1', 'a@x.com'], { name: 'identify' }));
      await outbox.enqueue(job('a@x.com', { name: 'track email' }));
      await outbox.enqueue(job(['usr_1', 'usr_9'], { name: 'alias' }));
      await outbox.enqueue(job('usr_9', { name: 'track new id' }));
      // Unrelated users proceed meanwhile.
      for (let i = 0; i < 20; i++) await outbox.enqueue(job(`other-${i % 4}`, { name: `other ${i}` }));
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
        path: await engine.location(),
        deliver: probe.deliver,
        concurrency: 8,
        baseDelayMs: 2,
        maxDelayMs: 10,
      });
      const expected = new Map<string, number[]>();
      for (let i = 0; i < 300; i++) {
        const keys = [`k${Math.floor(Math.random() * 30)}`];
        if (i % 3 === 0) keys.push(`k${Math.floor(Math.random() * 30)}`);
        const { id } = await outbox.enqueue(job(keys, { i }));
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
        path: await engine.location(),
        deliver: async (j) => {
          const name = (j.payload as { name: string }).name;
          if (name === 'first' && failFirst) {
            failFirst = false;
            throw failure('HTTP 400', { retryable: false });
          }
          order.push(name);
        },
      });
      const first = await outbox.enqueue(job(['a', 'b'], { name: 'first' }));
      await outbox.enqueue(job('b', { name: 'later b' }));
      await outbox.enqueue(job(['c', 'a'], { name: 'later a' }));
      await outbox.enqueue(job('c', { name: 'behind later a' }));
      await outbox.enqueue(job('d', { name: 'unrelated' }));
      assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 1, pending: 3 });
      assert.deepEqual(order, ['unrelated']);
      assert.deepEqual(
        (await outbox.status()).held.map(({ id, keys, waiting }) => ({ id, keys, waiting })),
        [{ id: first.id, keys: ['a', 'b'], waiting: 2 }],
      );
      assert.equal(await outbox.retry(first.id), 1);
      assert.deepEqual(await outbox.drain(), { delivered: 4, dead: 0, pending: 0 });
      const at = (name: string) => order.indexOf(name);
      assert.equal(order.length, 5);
      assert.ok(at('first') < at('later b'), order.join(', '));
      assert.ok(at('first') < at('later a') && at('later a') < at('behind later a'), order.join(', '));
      await outbox.close();
    });

    test('an expired lease hands a claimed job to another drainer, with no pid check; the late outcome is ignored', async () => {
      const location = await engine.location();
      const start = Date.parse('2026-11-30T09:00:00Z');
      let finishStuck: (value: string) => void = () => {};
      const stuck = new Promise<string>((resolve) => {
        finishStuck = resolve;
      });
      const claimedByFirst: OutboxJob[] = [];
      // The first drainer's clock stands still: its lease renewals never reach past start + leaseMs.
      const first = new Outbox({
        destinations: [TEST_DESTINATION],
        path: location,
        leaseMs: 30_000,
        now: () => start,
        deliver: async (j) => {
          claimedByFirst.push(j);
          return stuck;
        },
      });
      const a = await first.enqueue(job('u1', { n: 1 }));
      const b = await first.enqueue(job('u1', { n: 2 }));
      first.start();
      await until(() => claimedByFirst.length === 1, 'the first drainer claimed the job');
      // It claims nothing more (as if it had crashed); its delivery in flight never ends until released below.
      const stopping = first.stop();

      const clock = { now: start };
      const seen: OutboxJob[] = [];
      const second = new Outbox({
        destinations: [TEST_DESTINATION],
        path: location,
        leaseMs: 30_000,
        pollIntervalMs: 5,
        now: () => clock.now,
        deliver: async (j) => {
          seen.push(j);
          return 'again';
        },
      });
      second.start();
      // While the lease runs, the second drainer leaves u1 alone: a write of another user is the gate.
      const gate = await second.enqueue(job('u2', {}));
      await second.waitFor([gate.id]);
      assert.deepEqual(
        seen.map((j) => j.id),
        [gate.id],
      );
      clock.now = start + 30_001;
      const outcomes = await second.waitFor([a.id, b.id]);
      assert.deepEqual(
        outcomes.map((o) => [o.id, o.state, o.result]),
        [
          [a.id, 'delivered', 'again'],
          [b.id, 'delivered', 'again'],
        ],
      );
      const replay = seen.find((j) => j.id === a.id);
      assert.equal(replay?.key, claimedByFirst[0]?.key, 'the replay carries the same key');
      assert.equal(replay?.attempts, 2);
      assert.deepEqual(
        seen.map((j) => j.id),
        [gate.id, a.id, b.id],
        'u1 in order, after the lease expired',
      );
      finishStuck('late');
      await stopping;
      await first.close();
      assert.deepEqual(await second.waitFor([a.id]), [
        { id: a.id, state: 'delivered', result: 'again', error: outcomes[0]?.error },
      ]);
      await second.close();
    });

    test('only destinations this process holds are claimed; keys are per destination; move hands jobs over', async () => {
      const location = await engine.location();
      const elsewhere = { ...TEST_DESTINATION, credential: 'another-credential-0002' };
      const delivered: number[] = [];
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: location,
        deliver: async (j) => {
          delivered.push(j.id);
          return null;
        },
      });
      const foreign = await outbox.enqueue(job('u1', { n: 1 }, 'test.write', elsewhere));
      const mine = await outbox.enqueue(job('u1', { n: 2 }));
      assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
      assert.deepEqual(delivered, [mine.id], 'u1 of another destination does not hold back u1 here');
      const waiting = (await outbox.status()).destinations;
      assert.deepEqual(
        waiting.map((d) => [d.pending, d.deliverableAs, d.credentialHint]),
        [[1, null, '…0002']],
      );
      assert.equal(await outbox.move(waiting[0]?.id as number, TEST_DESTINATION), 1);
      assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
      assert.deepEqual(delivered, [mine.id, foreign.id]);
      await outbox.close();
    });

    test('deliveries that finish together are recorded in the order they finished: the last word on a pause holds', async () => {
      const clock = manualClock('2026-11-30T09:00:00Z');
      const refused = () => Object.assign(new Error('HTTP 401'), { pauseDestination: true });
      for (const steps of [
        ['delivered', 'refused'],
        ['refused', 'delivered'],
        ['delivered', 'refused', 'delivered'],
      ] as const) {
        const held = new Map<number, { resolve: (value: string) => void; reject: (error: Error) => void }>();
        let holding = true;
        const outbox = new Outbox({
          destinations: [TEST_DESTINATION],
          path: await engine.location(),
          concurrency: 4,
          pauseMs: 60_000,
          now: () => clock.now().getTime(),
          deliver: (j) =>
            holding
              ? new Promise((resolve, reject) => held.set(j.id, { resolve, reject }))
              : Promise.resolve('again'),
        });
        const ids: number[] = [];
        for (const [i] of steps.entries()) ids.push((await outbox.enqueue(job(`u${i}`, {}))).id);
        outbox.start();
        await until(() => held.size === steps.length, 'every job in flight');
        // They settle in one go, so one claim records them all (in one transaction), in this order.
        holding = false;
        for (const [i, step] of steps.entries()) {
          const gate = held.get(ids[i] as number);
          if (step === 'delivered') gate?.resolve('ok');
          else gate?.reject(refused());
        }
        const outcomes = await outbox.waitFor(ids);
        if (steps.at(-1) === 'refused') {
          // The refusal came last: the destination pauses, and the refused job waits for it.
          assert.deepEqual(
            outcomes.map((o) => [o.state, o.pausedUntil]),
            steps.map((step) =>
              step === 'delivered' ? ['delivered', undefined] : ['pending', clock.now().getTime() + 60_000],
            ),
          );
          const [destination] = (await outbox.status()).destinations;
          assert.equal(destination?.pauseReason, 'HTTP 401');
        } else {
          // A delivery came last: it ends the pause (a paused job would be returned pending), so the refused job
          // goes again.
          assert.deepEqual(
            outcomes.map((o) => [o.state, o.result]),
            steps.map((step) => ['delivered', step === 'delivered' ? 'ok' : 'again']),
          );
        }
        await outbox.close();
      }
    });

    test('a refused credential pauses its destination: the job stays pending, its attempt not counted', async () => {
      const clock = manualClock('2026-11-30T09:00:00Z');
      let refuse = true;
      const outbox = new Outbox({
        destinations: [TEST_DESTINATION],
        path: await engine.location(),
        pauseMs: 60_000,
        pollIntervalMs: 5,
        now: () => clock.now().getTime(),
        deliver: async () => {
          if (refuse) throw Object.assign(new Error('HTTP 401'), { pauseDestination: true });
          return 'ok';
        },
      });
      const { id } = await outbox.enqueue(job('u1', {}));
      assert.deepEqual(await outbox.drain(), { delivered: 0, dead: 0, pending: 1 });
      const [paused] = await outbox.waitFor([id]);
      assert.equal(paused?.state, 'pending');
      assert.equal(paused?.pausedUntil, clock.now().getTime() + 60_000);
      const [destination] = (await outbox.status()).destinations;
      assert.equal(destination?.pauseReason, 'HTTP 401');
      refuse = false;
      clock.advance(60_000);
      assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
      assert.equal((await outbox.status()).lastErrors.length, 0);
      await outbox.close();
    });
  });
}
