/**
 * Events keep their time: track_event sends extras.created_at, read from the runtime's clock when the call is made,
 * for direct and queued delivery alike. The clock is injected (the `now` option); nothing here waits on real time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import { CANARY } from '../support/canary.js';
import { manualClock } from '../support/clock.js';
import { addFaults } from '../support/faults.js';
import { type Harness, startHarness } from '../support/runtime.js';

const T0 = '2025-06-15T10:30:00.000Z';
const T1 = '2025-06-15T11:45:00.000Z';

describe('track_event sends the time of the call (direct delivery)', () => {
  const clock = manualClock(T0);
  let h: Harness;
  before(async () => {
    h = await startHarness({ now: clock.now });
  });
  after(() => h.close());
  beforeEach(() => {
    h.emulator.reset();
    clock.set(T0);
  });

  test('from runtime.call and from Lua: extras.created_at is the clock at the call, in ISO 8601', async () => {
    await h.runtime.call('vero.track_event', { identity: 'usr_1', event_name: 'Signed up' });
    clock.set(T1);
    const run = await h.runtime.runLua(
      'app.integrations.vero.track_event({ identity = "usr_1", event_name = "Upgraded plan" })',
    );
    assert.equal(run.ok, true, JSON.stringify(run.error));
    assert.deepEqual(
      h.emulator.state().events.map((e) => [e.event_name, e.extras]),
      [
        ['Signed up', { created_at: T0 }],
        ['Upgraded plan', { created_at: T1 }],
      ],
    );
  });

  test('a retried request carries the time of the call, not of the retry', async () => {
    await addFaults(h.emulator, [{ endpoint: '/events/track', status: 503, retryAfter: '0' }]);
    const result = await h.runtime.call('vero.track_event', { identity: 'usr_1', event_name: 'Paid' });
    assert.equal(result.status, 'sent');
    const attempts = h.emulator.state().requests.filter((r) => r.endpoint === '/events/track');
    assert.deepEqual(
      attempts.map((r) => [r.status, (r.body as { extras: unknown }).extras]),
      [
        [503, { created_at: T0 }],
        [200, { created_at: T0 }],
      ],
    );
  });

  test('an explicit extras.created_at (and source) from the caller is kept', async () => {
    await h.runtime.call('vero.track_event', {
      identity: 'usr_1',
      event_name: 'Imported order',
      extras: { created_at: '2024-01-31T08:00:00Z', source: 'import' },
    });
    assert.deepEqual(h.emulator.state().events[0]?.extras, {
      created_at: '2024-01-31T08:00:00Z',
      source: 'import',
    });
  });

  test('a created_at that is not an ISO 8601 date-time is refused before any request', async () => {
    for (const created_at of ['yesterday', '2025-06-15', 1718447400]) {
      await assert.rejects(
        h.runtime.call('vero.track_event', { identity: 'usr_1', event_name: 'E', extras: { created_at } }),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'invalid_arguments', String(created_at));
          assert.match(error.message, /^vero\.track_event: extras\.created_at: /);
          return true;
        },
      );
    }
    assert.deepEqual(h.emulator.state().requests, []);
  });
});

describe('track_event sends the time of the call (queued delivery)', () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kosmo-event-time-'));
    h = await startHarness();
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('queued with the clock at T0, drained later by another runtime whose clock says T1: Vero gets T0', async () => {
    const outbox = join(dir, 'outbox.db');
    const env = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: h.emulator.url };
    const accepting = createRuntime({
      env,
      outbox,
      delivery: 'queued',
      background: false,
      now: () => new Date(T0),
    });
    const queued = await accepting.call('vero.track_event', { identity: 'usr_1', event_name: 'Signed up' });
    assert.equal(queued.status, 'queued');
    await accepting.close();
    assert.deepEqual(h.emulator.state().events, [], 'nothing delivered while queued');

    const draining = createRuntime({ env, outbox, now: () => new Date(T1) });
    try {
      const [outcome] = await draining.waitForDelivery([queued.outbox_id as number], 60_000);
      assert.equal(outcome?.state, 'delivered');
    } finally {
      await draining.close();
    }
    assert.deepEqual(
      h.emulator.state().events.map((e) => e.extras),
      [{ created_at: T0 }],
    );
  });
});
