import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type EmulatorState, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY, call } from './helpers.js';

/** Five requests: three writes, a 404 and a 401, so the log holds answers of every kind. */
async function sendFive(emu: RunningEmulator): Promise<void> {
  for (const id of ['u1', 'u2']) {
    await call(emu.url, 'POST', '/events/track', { identity: { id }, event_name: 'Signed up' });
  }
  await call(emu.url, 'POST', '/nowhere', {});
  await call(emu.url, 'POST', '/users/track', { id: 'u3' }, { token: 'not-the-token' });
  await call(emu.url, 'POST', '/events/track', { identity: { id: 'u3' }, event_name: 'Signed up' });
}

const logOf = (state: EmulatorState) => state.requests.map((r) => `${r.seq} ${r.path} ${r.status}`);

describe('the request log keeps the newest maxRequests requests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-vero-request-log-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('drops the oldest, says how many, and keeps every user and event', async () => {
    const emu = await startEmulator({ tokens: [CANARY], maxRequests: 3 });
    try {
      await sendFive(emu);
      const state = emu.state();
      assert.deepEqual(logOf(state), [
        '3 /api/v2/nowhere 404',
        '4 /api/v2/users/track 401',
        '5 /api/v2/events/track 200',
      ]);
      assert.equal(state.requestsDropped, 2);
      // Users and events are the emulator's state, not its log: never dropped.
      assert.deepEqual(
        state.users.map((u) => u.id),
        ['u1', 'u2', 'u3'],
      );
      assert.equal(state.events.length, 3);

      const served = (await (await fetch(`${emu.origin}/_emulator/state`)).json()) as EmulatorState;
      assert.deepEqual(served, JSON.parse(JSON.stringify(state)));
      const view = (await (await fetch(`${emu.origin}/_emulator/view?requests_limit=2`)).json()) as {
        totals: { requests: number; requestsDropped: number };
        requests: { total: number; rows: Array<{ seq: number }> };
      };
      assert.deepEqual(view.totals, { users: 3, events: 3, requests: 3, requestsDropped: 2 });
      assert.deepEqual(
        view.requests.rows.map((r) => r.seq),
        [5, 4],
      );

      emu.reset();
      await call(emu.url, 'GET', '/heartbeat');
      assert.deepEqual(logOf(emu.state()), ['1 /api/v2/heartbeat 200']);
      assert.equal(emu.state().requestsDropped, 0);
    } finally {
      await emu.close();
    }
  });

  it('with a file, a restart keeps the newest rows and the dropped count; a smaller cap cuts them at once', async () => {
    const dbPath = join(dir, 'log.db');
    const first = await startEmulator({ dbPath, tokens: [CANARY], maxRequests: 3 });
    await sendFive(first);
    const saved = first.state();
    await first.close();

    const second = await startEmulator({ dbPath, tokens: [CANARY], maxRequests: 3 });
    try {
      assert.deepEqual(second.state(), saved);
      await call(second.url, 'GET', '/heartbeat');
      assert.deepEqual(logOf(second.state()), [
        '4 /api/v2/users/track 401',
        '5 /api/v2/events/track 200',
        '6 /api/v2/heartbeat 200',
      ]);
      assert.equal(second.state().requestsDropped, 3);
    } finally {
      await second.close();
    }

    const third = await startEmulator({ dbPath, tokens: [CANARY], maxRequests: 1 });
    try {
      assert.deepEqual(logOf(third.state()), ['6 /api/v2/heartbeat 200']);
      assert.equal(third.state().requestsDropped, 5);
    } finally {
      await third.close();
    }
  });

  it('refuses a cap that is not a whole number >= 1, naming the option', async () => {
    for (const maxRequests of [0, -1, 2.5, Number.NaN]) {
      await assert.rejects(startEmulator({ maxRequests }), {
        code: 'emulator_bad_option',
        message: /^maxRequests: must be a whole number of requests >= 1/,
      });
    }
  });
});
