import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { type EmulatorFault, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { Outbox } from '../../src/outbox/index.js';
import { type TrackEventInput, VeroClient } from '../../src/vero/index.js';
import { addFaults } from '../support/faults.js';
import { CANARY, job, TEST_DESTINATION, tempDb } from './helpers.js';

let emulator: RunningEmulator;

before(async () => {
  emulator = await startEmulator({ tokens: [CANARY], dedupWindowMs: 0 });
});
after(() => emulator.close());
beforeEach(() => emulator.reset());

const scriptFaults = (faults: EmulatorFault[]) => addFaults(emulator, faults);

function veroOutbox(options: { maxAttempts?: number } = {}): Outbox {
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
  const outbox = veroOutbox();
  const { id } = outbox.enqueue(track('u1', 1));
  const started = Date.now();
  assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
  assert.ok(Date.now() - started >= 1000, 'waited for Retry-After');
  const [outcome] = await outbox.waitFor([id]);
  assert.equal(outcome?.state, 'delivered');
  assert.match(outcome?.error ?? '', /HTTP 503/);
  assert.deepEqual(outcome?.result, { status: 200, message: 'Success.', duplicate: false });
  assert.deepEqual(trackStatuses(), [503, 200]);
  assert.equal(emulator.state().events.length, 1);
  await outbox.close();
});

test('429 and dropped connections are retried; the write lands once', async () => {
  await scriptFaults([
    { endpoint: '/events/track', status: 429, count: 2 },
    { endpoint: '/events/track', drop: true, count: 1 },
  ]);
  const outbox = veroOutbox();
  const { id } = outbox.enqueue(track('u1', 1));
  assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 0, pending: 0 });
  assert.equal((await outbox.waitFor([id]))[0]?.state, 'delivered');
  assert.deepEqual(trackStatuses(), [429, 429, null, 200]);
  assert.equal(emulator.state().events.length, 1);
  await outbox.close();
});

test('400 and 401 are dead at once with Vero’s message; later writes of the user still go', async () => {
  await scriptFaults([
    { endpoint: '/events/track', status: 400, count: 1 },
    { endpoint: '/events/track', status: 401, count: 1 },
  ]);
  const outbox = veroOutbox();
  const a = outbox.enqueue(track('u1', 1));
  const b = outbox.enqueue(track('u1', 2));
  const c = outbox.enqueue(track('u1', 3));
  assert.deepEqual(await outbox.drain(), { delivered: 1, dead: 2, pending: 0 });
  const [deadA, deadB, okC] = await outbox.waitFor([a.id, b.id, c.id]);
  assert.equal(deadA?.state, 'dead');
  assert.match(deadA?.error ?? '', /HTTP 400/);
  assert.equal(deadB?.state, 'dead');
  assert.match(deadB?.error ?? '', /HTTP 401/);
  assert.equal(okC?.state, 'delivered');
  assert.deepEqual(trackStatuses(), [400, 401, 200]);
  const status = outbox.status();
  assert.deepEqual(status.counts, { pending: 0, sending: 0, delivered: 1, dead: 2 });
  assert.doesNotMatch(JSON.stringify(status), new RegExp(CANARY));

  // Once the cause is fixed, the dead ones can be sent again.
  assert.equal(outbox.retry('dead'), 2);
  assert.deepEqual(await outbox.drain(), { delivered: 2, dead: 0, pending: 0 });
  assert.deepEqual(
    emulator.state().events.map((e) => e.data.seq),
    [3, 1, 2],
  );
  await outbox.close();
});

test('a Vero that stays down exhausts maxAttempts: dead with the last error', async () => {
  await scriptFaults([{ endpoint: '/events/track', status: 503, forever: true }]);
  const outbox = veroOutbox({ maxAttempts: 3 });
  const { id } = outbox.enqueue(track('u1', 1));
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
  for (let seq = 0; seq < 10; seq++) for (let u = 0; u < 20; u++) outbox.enqueue(track(`user-${u}`, seq));
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
