import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { type TrackEventInput, VeroClient } from '../../src/clients/vero/index.js';
import { type EmulatorFault, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { Outbox, type OutboxOptions } from '../../src/outbox/index.js';
import { manualClock, until } from '../support/clock.js';
import { addFaults } from '../support/faults.js';
import { CANARY, job, TEST_DESTINATION, tempDb } from './helpers.js';

let emulator: RunningEmulator;

before(async () => {
  emulator = await startEmulator({ tokens: [CANARY], dedupWindowMs: 0 });
});
after(() => emulator.close());
beforeEach(() => emulator.reset());

const scriptFaults = (faults: EmulatorFault[]) => addFaults(emulator, faults);

function veroOutbox(options: Pick<OutboxOptions, 'maxAttempts' | 'now' | 'pollIntervalMs'> = {}): Outbox {
  // One attempt per delivery: the outbox owns retries, so each failure is visible to it.
  const client = new VeroClient({
    authToken: CANARY,
    baseUrl: emulator.url,
    retry: { attempts: 1 },
    timeoutMs: 2000,
  });
  return new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    baseDelayMs: 5,
    maxDelayMs: 20,
    ...options,
    deliver: (j) => client.trackEvent(j.payload as TrackEventInput),
  });
}

const track = (user: string, seq: number) =>
  job(user, { identity: { id: user }, eventName: 'step', data: { seq } }, 'vero.track_event');

function trackStatuses(): Array<number | null> {
  return emulator
    .state()
    .requests.filter((r) => r.endpoint === '/events/track')
    .map((r) => r.status);
}

test('503 with Retry-After: 1 is retried no sooner than a second later, then delivered', async () => {
  await scriptFaults([{ endpoint: '/events/track', status: 503, retryAfter: '1', count: 1 }]);
  const clock = manualClock('2026-11-30T09:00:00Z');
  const outbox = veroOutbox({ now: () => clock.now().getTime(), pollIntervalMs: 5 });
  const { id } = await outbox.enqueue(track('u1', 1));
  const draining = outbox.drain();
  await until(
    async () => (await outbox.status()).lastErrors[0]?.error.includes('HTTP 503') ?? false,
    'the first attempt failed',
  );
  // 1 ms short of the second: another user's write goes, the waiting one does not.
  clock.advance(999);
  await outbox.enqueue(track('u2', 1));
  await until(() => trackStatuses().length === 2, "the other user's write sent");
  clock.advance(1);
  assert.deepEqual(await draining, { delivered: 2, dead: 0, pending: 0 });
  const [outcome] = await outbox.waitFor([id]);
  assert.equal(outcome?.state, 'delivered');
  assert.match(outcome?.error ?? '', /HTTP 503/);
  assert.deepEqual(outcome?.result, { status: 200, message: 'Success.', duplicate: false });
  assert.deepEqual(
    emulator
      .state()
      .requests.filter((r) => r.endpoint === '/events/track')
      .map((r) => [(r.body as { identity: { id: string } }).identity.id, r.status]),
    [
      ['u1', 503],
      ['u2', 200],
      ['u1', 200],
    ],
  );
  assert.equal(emulator.state().events.length, 2);
  await outbox.close();
});

test('429 and dropped connections are retried; the write lands once', async () => {
  await scriptFaults([
    { endpoint: '/events/track', status: 429, count: 2 },
    { endpoint: '/events/track', drop: true, count: 1 },
  ]);
  const outbox = veroOutbox();
  const { id } = await outbox.enqueue(track('u1', 1));
  assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
  assert.equal((await outbox.waitFor([id]))[0]?.state, 'delivered');
  assert.deepEqual(trackStatuses(), [429, 429, null, 200]);
  assert.equal(emulator.state().events.length, 1);
  await outbox.close();
});

test('a 400 is dead at once with Vero’s message; the user’s later writes wait behind it, then go in order', async () => {
  await scriptFaults([{ endpoint: '/events/track', status: 400, count: 1 }]);
  const outbox = veroOutbox();
  const a = await outbox.enqueue(track('u1', 1));
  const b = await outbox.enqueue(track('u1', 2));
  const other = await outbox.enqueue(track('u2', 1));
  assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 1, pending: 1 });
  const [deadA, waitingB, okOther] = await outbox.waitFor([a.id, b.id, other.id], { timeoutMs: 0 });
  assert.equal(deadA?.state, 'dead');
  assert.match(deadA?.error ?? '', /HTTP 400/);
  assert.equal(waitingB?.state, 'pending', 'held back by the dead write of its user, not sent after it');
  assert.equal(okOther?.state, 'delivered');
  const status = await outbox.status();
  assert.deepEqual(status.counts, { pending: 1, sending: 0, delivered: 1, dead: 1, discarded: 0 });
  assert.deepEqual(
    status.held.map(({ id, keys, waiting }) => ({ id, keys, waiting })),
    [{ id: a.id, keys: ['u1'], waiting: 1 }],
  );
  assert.doesNotMatch(JSON.stringify(status), new RegExp(CANARY));

  // Once the cause is fixed, the dead one goes again first, then the one it held back: the user never goes back.
  assert.equal(await outbox.retry('dead'), 1);
  assert.deepEqual(await outbox.drain(), { delivered: 2, dead: 0, pending: 0 });
  assert.deepEqual(
    emulator.state().events.map((e) => `${e.identity.id}:${e.data.seq}`),
    ['u2:1', 'u1:1', 'u1:2'],
  );
  await outbox.close();
});

test('a Vero that stays down exhausts maxAttempts: dead with the last error', async () => {
  await scriptFaults([{ endpoint: '/events/track', status: 503, forever: true }]);
  const outbox = veroOutbox({ maxAttempts: 3 });
  const { id } = await outbox.enqueue(track('u1', 1));
  assert.deepEqual(await outbox.drain(), { delivered: 0, dead: 1, pending: 0 });
  const [outcome] = await outbox.waitFor([id]);
  assert.equal(outcome?.state, 'dead');
  assert.match(outcome?.error ?? '', /HTTP 503/);
  assert.deepEqual(trackStatuses(), [503, 503, 503]);
  await outbox.close();
});

test('under 50 ms latency, 20 users × 10 events arrive complete and in order per user', async () => {
  await scriptFaults([
    { endpoint: '/events/track', status: 503, count: 5 },
    { endpoint: '/events/track', latencyMs: 50, forever: true },
  ]);
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    concurrency: 16,
    baseDelayMs: 5,
    deliver: (() => {
      const client = new VeroClient({ authToken: CANARY, baseUrl: emulator.url, retry: { attempts: 1 } });
      return (j) => client.trackEvent(j.payload as TrackEventInput);
    })(),
  });
  for (let seq = 0; seq < 10; seq++)
    for (let u = 0; u < 20; u++) await outbox.enqueue(track(`user-${u}`, seq));
  assert.deepEqual(await outbox.drain(), { delivered: 200, dead: 0, pending: 0 });
  const byUser = new Map<string, unknown[]>();
  for (const e of emulator.state().events) {
    const user = e.identity.id ?? '';
    byUser.set(user, [...(byUser.get(user) ?? []), e.data.seq]);
  }
  assert.equal(byUser.size, 20);
  for (const [user, seqs] of byUser) assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], user);
  await outbox.close();
});
