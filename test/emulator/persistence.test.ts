import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
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
    // Every kind of change reaches the file: a rename, a merge into an existing profile, a delete.
    for (const id of ['gone', 'renamed', 'merged']) await call(first.url, 'POST', '/users/track', { id });
    await call(first.url, 'PUT', '/users/reidentify', { id: 'renamed', new_id: 'u9' });
    await call(first.url, 'PUT', '/users/reidentify', { id: 'merged', new_id: 'u1' });
    await call(first.url, 'POST', '/users/delete', { id: 'gone' });
    await call(first.url, 'POST', '/users/unsubscribe', { id: 'u9' });
    const saved = first.state();
    assert.deepEqual(
      saved.users.map((u) => u.id),
      ['u1', 'u9'],
    );
    await first.close();

    const second = await startEmulator({ dbPath, tokens: [CANARY] });
    try {
      assert.notEqual(second.port, 0);
      assert.deepEqual(second.state(), saved);
      // New rows continue after the old ones.
      await call(second.url, 'POST', '/users/track', { id: 'u2' });
      await call(second.url, 'POST', '/events/track', { identity: { id: 'u2' }, event_name: 'Came back' });
      const { users, events, requests } = second.state();
      assert.deepEqual(
        users.map((u) => u.id),
        ['u1', 'u9', 'u2'],
      );
      assert.deepEqual(
        events.map((e) => e.seq),
        [1, 2],
      );
      assert.equal(requests.at(-1)?.seq, 12);
    } finally {
      await second.close();
    }
  });

  it('a write the file refuses fails the request and leaves the state as the file holds it', async () => {
    const dbPath = join(dir, 'refusing.db');
    const emu = await startEmulator({ dbPath, tokens: [CANARY] });
    try {
      await call(emu.url, 'POST', '/users/track', { id: 'u1' });
      const before = emu.state();
      // A second connection to the same file makes SQLite itself refuse one event (as a full disk would).
      const other = new Database(dbPath);
      other.exec(`CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.event_name = 'Refused'
                  BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
      other.close();
      // The event's new profile is written first, then the event is refused: the whole request is undone.
      const refused = await call(emu.url, 'POST', '/events/track', {
        identity: { id: 'u2' },
        event_name: 'Refused',
      });
      assert.equal(refused.status, 500);
      assert.deepEqual(emu.state(), before);
      await call(emu.url, 'POST', '/events/track', { identity: { id: 'u2' }, event_name: 'Accepted' });
      const after = emu.state();
      assert.deepEqual(
        after.users.map((u) => u.id),
        ['u1', 'u2'],
      );
      assert.deepEqual(
        after.events.map((e) => [e.seq, e.event_name]),
        [[1, 'Accepted']],
      );
      await emu.close();
      const again = await startEmulator({ dbPath, tokens: [CANARY] });
      try {
        assert.deepEqual(again.state(), after);
      } finally {
        await again.close();
      }
    } finally {
      await emu.close();
    }
  });

  it('state() hands out copies: changing what it returns changes nothing in the emulator', async () => {
    const emu = await startEmulator({ tokens: [CANARY] });
    try {
      await call(emu.url, 'POST', '/users/track', { id: 'u1', data: { plan: 'pro', nested: { a: 1 } } });
      await call(emu.url, 'PUT', '/users/tags/edit', { id: 'u1', add: ['vip'] });
      await call(emu.url, 'POST', '/events/track', {
        identity: { id: 'u1' },
        event_name: 'e',
        data: { n: { deep: 1 } },
      });
      const before = emu.state();
      const changed = emu.state();
      const [user] = changed.users;
      const event = changed.events[0];
      const request = changed.requests[0];
      assert.ok(user && event && request);
      user.data.plan = 'free';
      (user.data.nested as { a: number }).a = 2;
      user.tags.push('changed');
      (event.data.n as { deep: number }).deep = 2;
      event.identity.id = 'someone else';
      (request.body as { data: { nested: { a: number } } }).data.nested.a = 3;
      assert.deepEqual(emu.state(), before);
    } finally {
      await emu.close();
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
