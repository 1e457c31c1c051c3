import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY, call, SUCCESS } from './helpers.js';

describe('emulator validation (400) and unknown users', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ tokens: [CANARY] });
  });
  after(() => emu.close());
  beforeEach(() => emu.reset());

  const long = 'x'.repeat(255);
  const cases: Array<[string, string, string, Record<string, unknown>, RegExp]> = [
    ['identify without id or email', 'POST', '/users/track', { data: { a: 1 } }, /id or email/],
    [
      'identify with an invalid email',
      'POST',
      '/users/track',
      { id: '1', email: 'bob@' },
      /not a valid email/,
    ],
    ['identify with a 255-char id', 'POST', '/users/track', { id: long }, /id: must be under 255/],
    [
      'identify with a 255-char email',
      'POST',
      '/users/track',
      { email: `${'a'.repeat(243)}@example.com` },
      /under 255/,
    ],
    [
      'identify with data not an object',
      'POST',
      '/users/track',
      { id: '1', data: 'x' },
      /data: must be an object/,
    ],
    ['edit without changes', 'PUT', '/users/edit', { id: '1' }, /changes/],
    ['edit with empty changes', 'PUT', '/users/edit', { id: '1', changes: {} }, /changes/],
    [
      'edit with an invalid new email',
      'PUT',
      '/users/edit',
      { id: '1', changes: { email: 'no' } },
      /changes\.email/,
    ],
    ['tags edit without add or remove', 'PUT', '/users/tags/edit', { id: '1' }, /add or to remove/],
    [
      'tags edit with both empty',
      'PUT',
      '/users/tags/edit',
      { id: '1', add: [], remove: [] },
      /add or to remove/,
    ],
    ['tags edit without id', 'PUT', '/users/tags/edit', { add: ['a'] }, /id/],
    ['unsubscribe without id', 'POST', '/users/unsubscribe', {}, /id/],
    ['resubscribe without id', 'POST', '/users/resubscribe', {}, /id/],
    ['delete without id', 'POST', '/users/delete', {}, /id/],
    ['reidentify without new_id', 'PUT', '/users/reidentify', { id: '1' }, /new_id/],
    ['reidentify without id', 'PUT', '/users/reidentify', { new_id: '2' }, /id/],
    ['event without event_name', 'POST', '/events/track', { identity: { id: '1' } }, /event_name/],
    ['event without identity', 'POST', '/events/track', { event_name: 'e' }, /identity/],
    ['event with empty identity', 'POST', '/events/track', { identity: {}, event_name: 'e' }, /identity\.id/],
    [
      'event with a 255-char name',
      'POST',
      '/events/track',
      { identity: { id: '1' }, event_name: long },
      /event_name: must be under 255/,
    ],
    [
      'event with an invalid identity email',
      'POST',
      '/events/track',
      { identity: { email: 'x@y' }, event_name: 'e' },
      /identity\.email/,
    ],
  ];

  for (const [name, method, path, params, pattern] of cases) {
    it(`400: ${name}`, async () => {
      const r = await call(emu.url, method, path, params);
      assert.equal(r.status, 400);
      assert.equal(r.body.status, 400);
      assert.match(String(r.body.message), pattern);
      const { users, events, requests } = emu.state();
      assert.deepEqual(users, []);
      assert.deepEqual(events, []);
      assert.equal(requests[0]?.status, 400);
    });
  }

  it('400: malformed JSON', async () => {
    const res = await fetch(`${emu.url}/users/track?auth_token=${CANARY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id": "1",',
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /Malformed JSON/);
    assert.equal(emu.state().requests[0]?.body, null);
  });

  it('254-character values are accepted', async () => {
    const r = await call(emu.url, 'POST', '/events/track', {
      identity: { id: 'i'.repeat(254) },
      event_name: 'e'.repeat(254),
    });
    assert.deepEqual(r.body, SUCCESS);
  });

  it('delete and reidentify of an unknown user still answer 200 Success.', async () => {
    let r = await call(emu.url, 'POST', '/users/delete', { id: 'ghost' });
    assert.deepEqual(r.body, SUCCESS);
    r = await call(emu.url, 'PUT', '/users/reidentify', { id: 'ghost', new_id: 'spirit' });
    assert.deepEqual(r.body, SUCCESS);
    assert.deepEqual(emu.state().users, []);
  });
});
