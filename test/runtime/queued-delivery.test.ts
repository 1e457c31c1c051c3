import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Outbox } from '../../src/outbox/index.js';
import { CANARY, exposed } from '../support/canary.js';
import { addFaults } from '../support/faults.js';
import { type Harness, startHarness } from '../support/runtime.js';

describe('queued delivery through the runtime', () => {
  let h: Harness;
  let outboxPath: string;
  before(async () => {
    outboxPath = join(mkdtempSync(join(tmpdir(), 'kosmo-queued-')), 'outbox.db');
    // Retries back off from 1 ms, not the default 500 ms: the 503 test below waits for six of them.
    h = await startHarness({
      delivery: 'queued',
      outbox: outboxPath,
      queue: { baseDelayMs: 1, maxDelayMs: 20 },
    });
  });
  after(() => h.close());
  beforeEach(() => h.emulator.reset());

  test('a write is queued durably, then delivered in order per identifier', async () => {
    const results = [];
    for (let i = 0; i < 20; i++) {
      results.push(
        await h.runtime.call('vero.track_event', {
          identity: `usr_${i % 3}`,
          event_name: 'Step',
          data: { i },
        }),
      );
    }
    assert.ok(results.every((r) => r.status === 'queued' && typeof r.outbox_id === 'number'));
    const outcomes = await h.runtime.waitForDelivery(
      results.map((r) => r.outbox_id as number),
      60_000,
    );
    assert.ok(outcomes.every((o) => o.state === 'delivered'));
    const events = h.emulator.state().events;
    assert.equal(events.length, 20);
    for (const user of ['usr_0', 'usr_1', 'usr_2']) {
      const steps = events.filter((e) => e.identity.id === user).map((e) => e.data.i as number);
      assert.deepEqual(
        steps,
        [...steps].sort((a, b) => a - b),
        `events of ${user} arrive in the order accepted`,
      );
    }
    assert.equal(h.runtime.calls().at(-1)?.status, 'queued');
  });

  test('writes naming the same user by id, email or new id arrive in order, even when the first is slow', async () => {
    // Ordering follows every identifier a write names, so the email-identity event waits for the slow identify.
    // (Vero matches profiles on id only: that event reaches the profile whose id is the email, not usr_1.)
    await addFaults(h.emulator, [
      { endpoint: '/users/track', latencyMs: 300 },
      { endpoint: '/users/reidentify', latencyMs: 200 },
    ]);
    const calls = [
      await h.runtime.call('vero.identify_user', { id: 'usr_1', email: 'jane@example.com' }),
      await h.runtime.call('vero.track_event', { identity: 'jane@example.com', event_name: 'Viewed' }),
      await h.runtime.call('vero.alias_user', { id: 'usr_1', new_id: 'usr_9' }),
      await h.runtime.call('vero.track_event', { identity: 'usr_9', event_name: 'Paid' }),
    ];
    const outcomes = await h.runtime.waitForDelivery(
      calls.map((c) => c.outbox_id as number),
      60_000,
    );
    assert.ok(outcomes.every((o) => o.state === 'delivered'));
    const state = h.emulator.state();
    // The order shared identifiers impose: identify before both writes naming usr_1 or jane@, alias before usr_9's
    // event. "Viewed" (by email) and the alias share no identifier, so either may reach Vero first.
    const arrived = state.requests.map((r) =>
      r.endpoint === '/events/track' ? (r.body as { event_name: string }).event_name : r.endpoint,
    );
    assert.equal(arrived[0], '/users/track');
    assert.ok(arrived.indexOf('/users/reidentify') < arrived.indexOf('Paid'));
    assert.deepEqual([...arrived].sort(), ['/users/reidentify', '/users/track', 'Paid', 'Viewed']);
    assert.deepEqual(
      state.users.map((u) => [u.id, u.email]),
      [
        ['usr_9', 'jane@example.com'],
        ['jane@example.com', 'jane@example.com'],
      ],
      'the renamed user, and the profile the email-only event addressed',
    );
    assert.deepEqual(
      state.events.filter((e) => e.event_name === 'Viewed').map((e) => e.identity),
      [{ email: 'jane@example.com' }],
    );
  });

  test('the outbox file holds account names and plans, never the credential', async () => {
    const queued = await h.runtime.call('vero.identify_user', { id: 'u1', email: 'u1@example.com' });
    await h.runtime.waitForDelivery([queued.outbox_id as number], 60_000);
    const reader = new Outbox({ path: outboxPath, deliver: async () => undefined });
    try {
      assert.ok((await reader.status()).counts.delivered >= 1);
    } finally {
      await reader.close();
    }
    const { readFileSync } = await import('node:fs');
    const bytes = [outboxPath, `${outboxPath}-wal`]
      .map((file) => {
        try {
          return readFileSync(file).toString('latin1');
        } catch {
          return '';
        }
      })
      .join('');
    assert.ok(bytes.includes('u1@example.com'), 'the write itself is in the file');
    assert.ok(!bytes.includes(CANARY), 'the credential is not');
  });

  test('validation, permission and dry-run happen before anything is queued', async () => {
    const before = (await h.runtime.outbox().status()).counts;
    await assert.rejects(h.runtime.call('vero.identify_user', { id: 'x', email: 'bad' }), {
      code: 'invalid_arguments',
    });
    await assert.rejects(h.runtime.call('vero.unsubscribe', { id: '  ' }), { code: 'invalid_arguments' });
    await assert.rejects(h.runtime.call('vero.unsubscribe', { id: 'x' }, { readOnly: true }), {
      code: 'permission_denied',
    });
    const dry = await h.runtime.call('vero.unsubscribe', { id: 'x' }, { dryRun: true });
    assert.equal(dry.status, 'dry_run');
    const after = (await h.runtime.outbox().status()).counts;
    assert.equal(
      after.pending + after.sending + after.delivered + after.dead,
      before.pending + before.sending + before.delivered + before.dead,
    );
  });

  test('Vero failing for a while costs nothing: 503s are retried until delivered', async () => {
    await addFaults(h.emulator, [{ endpoint: '/users/unsubscribe', status: 503, retryAfter: '0', count: 6 }]);
    const queued = await h.runtime.call('vero.unsubscribe', { id: 'usr_flaky' });
    const [outcome] = await h.runtime.waitForDelivery([queued.outbox_id as number], 60_000);
    assert.equal(outcome?.state, 'delivered');
    assert.equal(h.emulator.state().users.find((u) => u.id === 'usr_flaky')?.unsubscribed, true);
  });

  test('a permanent failure is dead-lettered with its reason, without the credential', async () => {
    await addFaults(h.emulator, [{ endpoint: '/users/resubscribe', status: 400 }]);
    const queued = await h.runtime.call('vero.resubscribe', { id: 'usr_x' });
    const [outcome] = await h.runtime.waitForDelivery([queued.outbox_id as number], 60_000);
    assert.equal(outcome?.state, 'dead');
    assert.match(outcome?.error ?? '', /400/);
    assert.ok(!exposed(await h.runtime.outbox().status()).includes(CANARY));
  });
});
