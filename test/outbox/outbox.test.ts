import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Outbox, OutboxError, type OutboxJob } from '../../src/outbox/index.js';
import { manualClock, until } from '../support/clock.js';
import { CANARY, failure, job, TEST_DESTINATION, tempDb } from './helpers.js';

const ok = async () => ({ status: 200, message: 'Success.' });

test('enqueue commits before returning: a second Outbox on the file sees the jobs', async () => {
  const file = tempDb();
  const first = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: ok });
  const a = first.enqueue(job('u1', { n: 1 }));
  const b = first.enqueue(job('u1', { n: 2 }));
  assert.ok(b.id > a.id);
  assert.match(a.key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a.key, b.key);

  const second = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: ok });
  assert.deepEqual(second.status().counts, { pending: 2, sending: 0, delivered: 0, dead: 0, discarded: 0 });
  await first.close();
  await second.close();
  assert.equal(fs.existsSync(file), true);
});

test('enqueue rejects jobs that are not storable, naming the field', async () => {
  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: tempDb(), deliver: ok });
  assert.throws(() => outbox.enqueue({ ...job('u', {}), fn: '' }), {
    code: 'outbox_invalid_job',
    message: /`fn`/,
  });
  for (const orderingKeys of [[], [''], ['u', 7], 'u', undefined]) {
    assert.throws(() => outbox.enqueue({ ...job('u', {}), orderingKeys: orderingKeys as string[] }), {
      code: 'outbox_invalid_job',
      message: /`orderingKeys`/,
    });
  }
  assert.throws(() => outbox.enqueue(job('u', undefined)), {
    code: 'outbox_invalid_job',
    message: /payload/,
  });
  assert.throws(() => outbox.enqueue(job('u', { n: 1n })), {
    code: 'outbox_invalid_job',
    message: /payload/,
  });
  assert.throws(
    () => new Outbox({ destinations: [TEST_DESTINATION], path: tempDb(), deliver: ok, concurrency: 0 }),
    OutboxError,
  );
  await outbox.close();
  assert.throws(() => outbox.enqueue(job('u', {})), { code: 'outbox_closed' });
});

test('drain delivers everything and waitFor returns what deliver resolved with', async () => {
  const seen: OutboxJob[] = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    deliver: async (j) => {
      seen.push(j);
      return { status: 200, message: `Success for ${(j.payload as { n: number }).n}` };
    },
  });
  const ids = [1, 2, 3].map((n) => outbox.enqueue(job(`u${n}`, { n })).id);
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
  assert.deepEqual(outbox.status().counts, { pending: 0, sending: 0, delivered: 3, dead: 0, discarded: 0 });
  assert.equal(outbox.status().oldestPendingAgeMs, null);
  await outbox.close();
});

test('waitFor sees writes another drainer delivers, reporting how many are settled as it goes', async () => {
  const file = tempDb();
  // This one only waits: it holds no destination, so it never delivers anything itself.
  const waiting = new Outbox({ path: file, pollIntervalMs: 5, deliver: async () => assert.fail('not here') });
  const ids = ['usr_1', 'usr_2', 'usr_1', 'usr_3'].map((key, i) => waiting.enqueue(job(key, { i })).id);
  const settled: number[] = [];
  const outcomes = waiting.waitFor(ids, { onProgress: (count, total) => settled.push(count, total) });
  const other = new Outbox({
    destinations: [TEST_DESTINATION],
    path: file,
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

test('a non-retryable failure is dead at once with its message; it holds back its key until discarded', async () => {
  const calls: number[] = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    deliver: async (j) => {
      const n = (j.payload as { n: number }).n;
      calls.push(n);
      if (n === 1) throw failure('POST /events/track: HTTP 400 "email: invalid"', { retryable: false });
      return 'fine';
    },
  });
  const first = outbox.enqueue(job('u1', { n: 1 }, 'vero.track_event'));
  const second = outbox.enqueue(job('u1', { n: 2 }));
  const other = outbox.enqueue(job('u2', { n: 3 }));
  const result = await outbox.drain();
  assert.deepEqual(result, { delivered: 1, dead: 1, pending: 1 });
  assert.deepEqual(calls, [1, 3], 'the later write of u1 waits behind the dead one; u2 goes');
  const [dead] = await outbox.waitFor([first.id]);
  assert.deepEqual(dead, {
    id: first.id,
    state: 'dead',
    error: 'POST /events/track: HTTP 400 "email: invalid"',
  });
  const status = outbox.status();
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
  assert.throws(() => outbox.discard(second.id), {
    code: 'outbox_not_retryable',
    message: /only dead writes/,
  });
  assert.equal(outbox.discard(first.id), 1);
  assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
  assert.deepEqual(calls, [1, 3, 2]);
  assert.equal((await outbox.waitFor([second.id]))[0]?.state, 'delivered');
  assert.equal((await outbox.waitFor([other.id]))[0]?.state, 'delivered');
  assert.deepEqual(outbox.status().held, []);
  assert.equal(outbox.status().counts.discarded, 1);
  await outbox.close();
});

test('retryable and unknown failures are retried until maxAttempts, then dead', async () => {
  let calls = 0;
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
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
  const { id } = outbox.enqueue(job('u1', {}));
  assert.deepEqual(await outbox.drain(), { delivered: 0, dead: 1, pending: 0 });
  assert.equal(calls, 3);
  assert.deepEqual(await outbox.waitFor([id]), [{ id, state: 'dead', error: 'HTTP 503' }]);
  assert.equal(outbox.status().lastErrors[0]?.attempts, 3);
  await outbox.close();
});

test('backoff waits the retryAfterMs the failure asked for (injected clock)', async () => {
  const clock = manualClock('2026-11-30T09:00:00Z');
  const attempts: Array<[string, number]> = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
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
  const { id } = outbox.enqueue(job('u1', {}));
  const retrying = outbox.drain();
  await until(() => outbox.status().lastErrors[0]?.error === 'HTTP 429', 'the first attempt failed');
  // While it waits for the backoff, the job is pending with its last error visible.
  const status = outbox.status();
  assert.equal(status.counts.pending, 1);
  assert.ok((status.oldestPendingAgeMs ?? -1) >= 0);
  // 1 ms short of the wait: a later job for another user goes, the waiting one does not.
  clock.advance(299);
  outbox.enqueue(job('u2', {}));
  await until(() => attempts.some(([user]) => user === 'u2'), 'the other user delivered');
  clock.advance(1);
  assert.deepEqual(await retrying, { delivered: 2, dead: 0, pending: 0 });
  assert.deepEqual(attempts, [
    ['u1', start],
    ['u2', start + 299],
    ['u1', start + 300],
  ]);
  assert.deepEqual(await outbox.waitFor([id]), [{ id, state: 'delivered', error: 'HTTP 429', result: 'ok' }]);
  await outbox.close();
});

test('drain stops at its deadline and leaves the rest pending', async () => {
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    deliver: async () => {
      throw failure('HTTP 503', { retryable: true, retryAfterMs: 60_000 });
    },
  });
  outbox.enqueue(job('u1', {}));
  assert.deepEqual(await outbox.drain({ deadlineMs: 200 }), { delivered: 0, dead: 0, pending: 1 });
  const { id } = outbox.enqueue(job('u2', {}));
  assert.deepEqual(await outbox.waitFor([id], { timeoutMs: 50 }), [{ id, state: 'pending' }]);
  await outbox.close();
});

test('retry brings dead jobs back with fresh attempts; purge removes delivered rows', async () => {
  let healthy = false;
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    deliver: async () => {
      if (!healthy) throw failure('HTTP 401 Unauthorized', { retryable: false });
      return 'ok';
    },
  });
  const a = outbox.enqueue(job('u1', {}));
  const b = outbox.enqueue(job('u2', {}));
  const c = outbox.enqueue(job('u3', {}));
  await outbox.drain();
  assert.equal(outbox.status().counts.dead, 3);

  healthy = true;
  assert.equal(outbox.retry(a.id), 1);
  assert.throws(() => outbox.retry(999_999), {
    code: 'outbox_unknown_job',
    message: `retry: no write with id 999999 in this outbox (dead writes: ${b.id}, ${c.id}).`,
  });
  assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
  assert.throws(() => outbox.retry(a.id), {
    code: 'outbox_not_retryable',
    message: /already delivered/,
  });
  assert.equal(outbox.retry('dead'), 2);
  assert.deepEqual(await outbox.drain(), { delivered: 2, dead: 0, pending: 0 });
  const outcomes = await outbox.waitFor([a.id, b.id, c.id]);
  assert.deepEqual(
    outcomes.map((o) => o.state),
    ['delivered', 'delivered', 'delivered'],
  );

  assert.equal(outbox.purge({ delivered: true, olderThanMs: 60_000 }), 0);
  assert.equal(outbox.purge({ delivered: true }), 3);
  assert.deepEqual(outbox.status().counts, { pending: 0, sending: 0, delivered: 0, dead: 0, discarded: 0 });
  assert.throws(() => outbox.purge({} as never), { code: 'outbox_invalid_option' });
  await outbox.close();
});

test('the stored error is the message only: no credential from cause, properties or stack', async () => {
  const file = tempDb();
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: file,
    deliver: async () => {
      const error = failure('POST /users/track: HTTP 400 Bad Request', { retryable: false });
      Object.assign(error, { authToken: CANARY, request: { body: { auth_token: CANARY } } });
      error.cause = new Error(`fetch with ${CANARY}`);
      error.stack = `Error: ${CANARY}`;
      throw error;
    },
  });
  const { id } = outbox.enqueue(job('u1', { id: 'u1' }));
  await outbox.drain();
  const [outcome] = await outbox.waitFor([id]);
  assert.equal(outcome?.error, 'POST /users/track: HTTP 400 Bad Request');
  assert.doesNotMatch(JSON.stringify(outbox.status()), new RegExp(CANARY));
  await outbox.close();
  for (const name of fs.readdirSync(path.dirname(file))) {
    const bytes = fs.readFileSync(path.join(path.dirname(file), name));
    assert.equal(bytes.includes(CANARY), false, `${name} contains the canary`);
  }
});

test('a started drainer is woken by enqueue and keeps going until stopped', async () => {
  const delivered: number[] = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    autoStart: true,
    deliver: async (j) => {
      delivered.push(j.id);
      return null;
    },
  });
  const a = outbox.enqueue(job('u1', {}));
  assert.deepEqual(await outbox.waitFor([a.id], { timeoutMs: 60_000 }), [
    { id: a.id, state: 'delivered', result: null },
  ]);
  const b = outbox.enqueue(job('u1', {}));
  assert.deepEqual(await outbox.waitFor([b.id], { timeoutMs: 60_000 }), [
    { id: b.id, state: 'delivered', result: null },
  ]);
  await outbox.stop();
  const c = outbox.enqueue(job('u1', {}));
  assert.deepEqual(await outbox.waitFor([c.id], { timeoutMs: 100 }), [{ id: c.id, state: 'pending' }]);
  assert.deepEqual(delivered, [a.id, b.id]);
  await assert.rejects(outbox.waitFor([123_456]), { code: 'outbox_unknown_job' });
  await outbox.close();
});

test('defaultPath is under the user data directory', () => {
  assert.match(Outbox.defaultPath(), /kosmo-vero[/\\]outbox\.db$/);
});
