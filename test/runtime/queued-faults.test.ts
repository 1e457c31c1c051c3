import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import { createRuntime } from '../../src/index.js';
import type { RuntimeOptions } from '../../src/runtime/runtime.js';
import { CANARY } from '../support/canary.js';
import { manualClock, until } from '../support/clock.js';
import { addFaults } from '../support/faults.js';
import { type Harness, startHarness } from '../support/runtime.js';

const HOUR = 3_600_000;

describe('queued writes under Vero faults (runtime, emulator, injected clock)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    // The emulator first: its close ends hung connections, so deliveries in flight finish at once.
    await h?.emulator.close();
    await h?.runtime.close();
    h = undefined;
  });

  const start = async (clock: ReturnType<typeof manualClock>, options: RuntimeOptions = {}) => {
    h = await startHarness({
      delivery: 'queued',
      background: false,
      now: clock.now,
      queue: { pollIntervalMs: 5 },
      ...options,
    });
    return h;
  };
  const trackRequests = (harness: Harness) =>
    harness.emulator.state().requests.filter((r) => r.path.endsWith('/events/track'));
  /** Failed attempts the outbox has recorded for a write (the clock may move only once they are recorded). */
  const failedAttempts = async (harness: Harness, id: unknown) =>
    (await harness.runtime.outbox().status()).lastErrors.find((e) => e.id === id && e.state === 'pending')
      ?.attempts ?? 0;

  test('an outage of hours loses nothing: writes wait with their errors, then go when Vero is back', async () => {
    const clock = manualClock('2026-11-30T09:00:00Z');
    const { runtime, emulator } = await start(clock);
    await addFaults(emulator, [{ endpoint: '/events/track', status: 503, forever: true }]);
    const queued = await runtime.call('vero.track_event', { identity: 'usr_1', event_name: 'During outage' });
    runtime.outbox().start();
    // Six hours of failures, an hour between attempts: never dead, the last error kept.
    for (let hour = 1; hour <= 6; hour++) {
      await until(
        async () => (await failedAttempts(h as Harness, queued.outbox_id)) >= hour,
        `attempt ${hour}`,
      );
      clock.advance(HOUR);
    }
    const waiting = await runtime.outbox().status();
    assert.equal(waiting.counts.dead, 0);
    assert.equal(waiting.counts.pending + waiting.counts.sending, 1);
    assert.match(waiting.lastErrors[0]?.error ?? '', /HTTP 503/);

    emulator.reset();
    const [outcome] = await runtime.waitForDelivery([queued.outbox_id as number]);
    assert.equal(outcome?.state, 'delivered');
    assert.deepEqual(
      emulator.state().events.map((e) => e.event_name),
      ['During outage'],
    );
  });

  test('a write that keeps failing past the retry window (24 h) is dead, with the last error', async () => {
    const clock = manualClock('2026-11-30T09:00:00Z');
    const { runtime, emulator } = await start(clock);
    await addFaults(emulator, [{ endpoint: '/events/track', status: 503, forever: true }]);
    const queued = await runtime.call('vero.track_event', { identity: 'usr_2', event_name: 'Never' });
    runtime.outbox().start();
    await until(async () => (await failedAttempts(h as Harness, queued.outbox_id)) >= 1, 'first attempt');
    clock.advance(23 * HOUR);
    await until(
      async () => (await failedAttempts(h as Harness, queued.outbox_id)) >= 2,
      'an attempt inside the window',
    );
    assert.equal((await runtime.outbox().status()).counts.dead, 0);
    clock.advance(2 * HOUR);
    const [outcome] = await runtime.waitForDelivery([queued.outbox_id as number]);
    assert.equal(outcome?.state, 'dead');
    assert.match(outcome?.error ?? '', /HTTP 503/);
  });

  test('one HTTP 500 is retried; a 500 that persists is dead after a few attempts', async () => {
    const clock = manualClock('2026-11-30T09:00:00Z');
    const { runtime, emulator } = await start(clock);
    await addFaults(emulator, [{ endpoint: '/events/track', status: 500, count: 1 }]);
    const once = await runtime.call('vero.track_event', { identity: 'usr_3', event_name: 'After one 500' });
    runtime.outbox().start();
    await until(async () => (await failedAttempts(h as Harness, once.outbox_id)) >= 1, 'the 500 recorded');
    clock.advance(HOUR);
    const [first] = await runtime.waitForDelivery([once.outbox_id as number]);
    assert.equal(first?.state, 'delivered');
    assert.deepEqual(
      trackRequests(h as Harness).map((r) => r.status),
      [500, 200],
    );

    emulator.reset();
    await addFaults(emulator, [{ endpoint: '/events/track', status: 500, forever: true }]);
    const broken = await runtime.call('vero.track_event', { identity: 'usr_4', event_name: 'Always 500' });
    for (let attempt = 1; attempt < 5; attempt++) {
      await until(
        async () => (await failedAttempts(h as Harness, broken.outbox_id)) >= attempt,
        `attempt ${attempt}`,
      );
      clock.advance(HOUR);
    }
    const [dead] = await runtime.waitForDelivery([broken.outbox_id as number]);
    assert.equal(dead?.state, 'dead');
    assert.equal(trackRequests(h as Harness).length, 5);
  });

  test('a refused credential (401) pauses the account: nothing dies, later writes wait, all go after the pause', async () => {
    const clock = manualClock('2026-11-30T09:00:00Z');
    const { runtime, emulator } = await start(clock);
    await addFaults(emulator, [{ endpoint: '/events/track', status: 401, count: 1 }]);
    const first = await runtime.call('vero.track_event', { identity: 'usr_5', event_name: 'Refused once' });
    runtime.outbox().start();
    // waitForDelivery returns once the account is paused: the write is pending, not dead.
    const [paused] = await runtime.waitForDelivery([first.outbox_id as number]);
    assert.equal(paused?.state, 'pending');
    assert.ok((paused?.pausedUntil ?? 0) > clock.now().getTime());
    const second = await runtime.call('vero.identify_user', { id: 'usr_6', email: 'six@example.com' });
    const [waiting] = await runtime.waitForDelivery([second.outbox_id as number]);
    assert.equal(waiting?.state, 'pending', 'a write queued during the pause waits too');
    const status = await runtime.outbox().status();
    assert.equal(status.counts.dead, 0);
    const [destination] = status.destinations;
    assert.match(destination?.pauseReason ?? '', /HTTP 401/);
    assert.equal(emulator.state().requests.length, 1, 'nothing else was tried during the pause');

    clock.advance(2 * 60_000);
    const after = await runtime.waitForDelivery([first.outbox_id as number, second.outbox_id as number]);
    assert.deepEqual(
      after.map((o) => o.state),
      ['delivered', 'delivered'],
    );
    assert.equal((await runtime.outbox().status()).destinations.length, 0);
    assert.ok(!JSON.stringify(status).includes(CANARY));
  });

  test('a hanging endpoint never holds every delivery slot: writes to other endpoints keep flowing', async () => {
    const clock = manualClock('2026-11-30T09:00:00Z');
    const { runtime, emulator } = await start(clock, { queue: { pollIntervalMs: 5, concurrency: 4 } });
    await addFaults(emulator, [{ endpoint: '/events/track', hang: true, forever: true }]);
    for (let user = 0; user < 6; user++) {
      await runtime.call('vero.track_event', { identity: `hung_${user}`, event_name: 'Hangs' });
    }
    runtime.outbox().start();
    // With nothing else due, the hanging endpoint takes all slots but one.
    await until(() => trackRequests(h as Harness).length === 3, 'three track_event requests hanging');
    const others = [];
    for (let user = 0; user < 6; user++) {
      others.push(
        await runtime.call('vero.identify_user', { id: `flowing_${user}`, email: `f${user}@example.com` }),
      );
    }
    const outcomes = await runtime.waitForDelivery(others.map((o) => o.outbox_id as number));
    assert.deepEqual(
      outcomes.map((o) => o.state),
      Array(6).fill('delivered'),
    );
    assert.equal(trackRequests(h as Harness).length, 3, 'the hanging endpoint got no fourth slot');
  });

  test('Vero stopped for hours and started again (same port, same --db): every write arrives once, in order', async () => {
    const clock = manualClock('2026-11-30T09:00:00Z');
    const dir = mkdtempSync(join(tmpdir(), 'kosmo-restart-'));
    const dbPath = join(dir, 'vero.db');
    const first = await startEmulator({ tokens: [CANARY], dbPath });
    const runtime = createRuntime({
      env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: first.url },
      outbox: join(dir, 'outbox.db'),
      delivery: 'queued',
      background: false,
      now: clock.now,
      queue: { pollIntervalMs: 5 },
    });
    try {
      await runtime.call('vero.identify_user', { id: 'usr_r', email: 'r@example.com', data: { step: 1 } });
      const [before] = await runtime.waitForDelivery([1]);
      assert.equal(before?.state, 'delivered');
      await first.close();

      const ids: number[] = [];
      for (let step = 2; step <= 4; step++) {
        const queued = await runtime.call('vero.update_user', { id: 'usr_r', data: { step } });
        ids.push(queued.outbox_id as number);
      }
      runtime.outbox().start();
      // Connection refused for three hours: the first write keeps failing, the others wait behind it.
      for (let hour = 1; hour <= 3; hour++) {
        await until(
          async () =>
            ((await runtime.outbox().status()).lastErrors.find((e) => e.id === ids[0])?.attempts ?? 0) >=
            hour,
          `attempt ${hour} against a stopped Vero`,
        );
        if (hour < 3) clock.advance(HOUR);
      }
      assert.equal((await runtime.outbox().status()).counts.dead, 0);

      // Vero is back before the clock reaches the next attempt: started after it, an attempt still failing
      // when it listens would be put off past a clock that no longer moves.
      const again = await startEmulator({ tokens: [CANARY], dbPath, port: first.port });
      clock.advance(HOUR);
      try {
        const outcomes = await runtime.waitForDelivery(ids);
        assert.deepEqual(
          outcomes.map((o) => o.state),
          ['delivered', 'delivered', 'delivered'],
        );
        const user = again.state().users.find((u) => u.id === 'usr_r');
        assert.equal(user?.data.step, 4, 'the newest value last');
        assert.equal(user?.email, 'r@example.com', 'the state from before the stop is still there');
      } finally {
        await again.close();
      }
    } finally {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
