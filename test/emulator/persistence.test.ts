import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import { CANARY, call, SUCCESS } from './helpers.js';

describe('emulator persistence and reset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-vero-emulator-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('with dbPath, users, events and the request log survive a restart', async () => {
    const dbPath = join(dir, 'state.db');
    const first = await startEmulator({ dbPath, tokens: [CANARY] });
    await call(first.url, 'POST', '/users/track', {
      id: 'u1',
      email: 'a@example.com',
      data: { plan: 'pro' },
    });
    await call(first.url, 'PUT', '/users/tags/edit', { id: 'u1', add: ['vip'] });
    await call(first.url, 'POST', '/events/track', { identity: { id: 'u1' }, event_name: 'Logged In' });
    const saved = first.state();
    await first.close();

    const second = await startEmulator({ dbPath, tokens: [CANARY] });
    try {
      assert.notEqual(second.port, 0);
      assert.deepEqual(second.state(), saved);
      // New rows continue after the old ones.
      await call(second.url, 'POST', '/users/track', { id: 'u2' });
      const { users, requests } = second.state();
      assert.deepEqual(
        users.map((u) => u.id),
        ['u1', 'u2'],
      );
      assert.equal(requests.at(-1)?.seq, 4);
    } finally {
      await second.close();
    }
  });

  it('without dbPath, state is in memory and a restart starts empty', async () => {
    const first = await startEmulator();
    await call(first.url, 'POST', '/users/track', { id: 'u1' }, { token: 'any-token' });
    assert.equal(first.state().users.length, 1);
    await first.close();
    const second = await startEmulator();
    try {
      assert.deepEqual(second.state(), { users: [], events: [], requests: [], requestsDropped: 0 });
    } finally {
      await second.close();
    }
  });

  it('POST /_emulator/reset and reset() clear users, events and requests', async () => {
    const emu = await startEmulator({ dbPath: join(dir, 'reset.db') });
    try {
      await call(
        emu.url,
        'POST',
        '/events/track',
        { identity: { id: 'u1' }, event_name: 'e' },
        { token: 't' },
      );
      const res = await fetch(`${emu.inspectorUrl}reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(emu.state(), { users: [], events: [], requests: [], requestsDropped: 0 });
      await call(
        emu.url,
        'POST',
        '/events/track',
        { identity: { id: 'u1' }, event_name: 'e' },
        { token: 't' },
      );
      assert.deepEqual(
        (await call(emu.url, 'POST', '/users/track', { id: 'u9' }, { token: 't' })).body,
        SUCCESS,
      );
      assert.equal(emu.state().events[0]?.seq, 1);
      emu.reset();
      assert.deepEqual(emu.state(), { users: [], events: [], requests: [], requestsDropped: 0 });
    } finally {
      await emu.close();
    }
  });
});
