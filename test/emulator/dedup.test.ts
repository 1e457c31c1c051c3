import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { manualClock } from '../support/clock.js';
import { ALREADY, CANARY, call, SUCCESS } from './helpers.js';

describe('emulator dedup window', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ tokens: [CANARY, 'other-token'] });
  });
  after(() => emu.close());
  beforeEach(() => emu.reset());

  it('an identical request answers "Request already received." and changes nothing', async () => {
    const params = { id: 'u1', email: 'a@example.com', data: { n: 1 } };
    assert.deepEqual((await call(emu.url, 'POST', '/users/track', params)).body, SUCCESS);
    const before = emu.state().users;
    // Same body, different key order and credential location: still the same request.
    const again = await call(
      emu.url,
      'POST',
      '/users/track.json',
      { data: { n: 1 }, email: 'a@example.com', id: 'u1' },
      { via: 'query' },
    );
    assert.deepEqual(again.body, ALREADY);
    assert.deepEqual(emu.state().users, before);
    assert.deepEqual(
      emu.state().requests.map((q) => q.message),
      ['Success.', 'Request already received.'],
    );
  });

  it('a repeated tag edit is not applied twice', async () => {
    await call(emu.url, 'PUT', '/users/tags/edit', { id: 'u1', add: ['a'] });
    await call(emu.url, 'PUT', '/users/tags/edit', { id: 'u1', remove: ['a'] });
    const r = await call(emu.url, 'PUT', '/users/tags/edit', { id: 'u1', add: ['a'] });
    assert.deepEqual(r.body, ALREADY);
    assert.deepEqual(emu.state().users[0]?.tags, []);
  });

  it('a different credential, endpoint or body is a new request', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'u1' });
    assert.deepEqual(
      (await call(emu.url, 'POST', '/users/track', { id: 'u1' }, { token: 'other-token' })).body,
      SUCCESS,
    );
    assert.deepEqual(
      (await call(emu.url, 'POST', '/users/track', { id: 'u1', data: { a: 1 } })).body,
      SUCCESS,
    );
    assert.deepEqual((await call(emu.url, 'POST', '/users/unsubscribe', { id: 'u1' })).body, SUCCESS);
  });

  it('event names differing only in case, spaces or underscores are the same event; the name is kept as sent', async () => {
    const identity = { id: 'u1' };
    assert.deepEqual(
      (await call(emu.url, 'POST', '/events/track', { identity, event_name: 'Purchased Item' })).body,
      SUCCESS,
    );
    for (const name of ['purchased_item', 'PURCHASED ITEM', 'purchased  item']) {
      const r = await call(emu.url, 'POST', '/events/track', {
        identity,
        event_name: name,
        extras: { created_at: name },
      });
      assert.deepEqual(r.body, ALREADY, name);
    }
    assert.deepEqual(
      (await call(emu.url, 'POST', '/events/track', { identity, event_name: 'Purchased Items' })).body,
      SUCCESS,
    );
    assert.deepEqual(
      emu.state().events.map((e) => e.event_name),
      ['Purchased Item', 'Purchased Items'],
    );
  });

  it('failed requests are not remembered', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'u1' }, { token: 'wrong' });
    assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: 'u1' })).body, SUCCESS);
  });

  it('reset forgets the dedup memory', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'u1' });
    const res = await fetch(`${emu.inspectorUrl}reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: 'u1' })).body, SUCCESS);
  });
});

describe('emulator dedup window length', () => {
  it('dedupWindowMs sets the window; after it passes the request is new again', async () => {
    const clock = manualClock('2026-01-01T00:00:00Z');
    const emu = await startEmulator({ dedupWindowMs: 100, now: clock.now });
    try {
      assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: 'u1' })).body, SUCCESS);
      clock.advance(99);
      assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: 'u1' })).body, ALREADY);
      clock.advance(1);
      assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: 'u1' })).body, SUCCESS);
      assert.deepEqual(
        emu.state().requests.map((q) => q.received_at),
        ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.099Z', '2026-01-01T00:00:00.100Z'],
        'the request log uses the same clock',
      );
    } finally {
      await emu.close();
    }
  });

  it('a negative dedupWindowMs is refused with a code', async () => {
    await assert.rejects(startEmulator({ dedupWindowMs: -1 }), {
      code: 'emulator_bad_option',
      message: /^dedupWindowMs: must be a number of milliseconds >= 0/,
    });
  });

  it('dedupWindowMs: 0 disables dedup', async () => {
    const emu = await startEmulator({ dedupWindowMs: 0 });
    try {
      for (let i = 0; i < 3; i++)
        assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: 'u1' })).body, SUCCESS);
    } finally {
      await emu.close();
    }
  });
});
