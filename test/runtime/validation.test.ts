import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startHarness } from '../support/runtime.js';

const long = 'x'.repeat(255);

// Each row: function, arguments, the exact message the caller gets. None may reach the network.
const badCalls: Array<[string, unknown, string]> = [
  [
    'vero.identify_user',
    { id: 'u1', email: 'bob@' },
    'vero.identify_user: email: invalid email address "bob@"',
  ],
  ['vero.identify_user', {}, 'vero.identify_user: id: is required; email: is required'],
  ['vero.identify_user', undefined, 'vero.identify_user: id: is required; email: is required'],
  ['vero.identify_user', { id: '', email: 'a@example.com' }, 'vero.identify_user: id: must not be empty'],
  [
    'vero.identify_user',
    { id: 42, email: 'a@example.com' },
    'vero.identify_user: id: expected string, got number 42',
  ],
  [
    'vero.identify_user',
    { id: long, email: 'a@example.com' },
    'vero.identify_user: id: must be at most 254 characters (got 255)',
  ],
  [
    'vero.identify_user',
    { id: 'u1', email: 'a@example.com', data: 'premium' },
    'vero.identify_user: data: expected a table of key = value pairs, got string "premium"',
  ],
  [
    'vero.identify_user',
    { id: 'u1', email: 'a@example.com', plan: 'x' },
    'vero.identify_user: plan: unknown field (allowed: id, email, name, data)',
  ],
  ['vero.track_event', { identity: 'u1' }, 'vero.track_event: event_name: is required'],
  ['vero.track_event', { event_name: 'Opened' }, 'vero.track_event: identity: is required'],
  [
    'vero.track_event',
    { identity: 'u1', event_name: long },
    'vero.track_event: event_name: must be at most 254 characters (got 255)',
  ],
  [
    'vero.track_event',
    { identity: 'u1', event_name: 'Opened', data: [1, 2] },
    'vero.track_event: data: expected a table of key = value pairs, got array',
  ],
  [
    'vero.update_user',
    { id: 'u1' },
    'vero.update_user: give email or a non-empty data table (or both): there is nothing to update',
  ],
  [
    'vero.update_user',
    { id: 'u1', email: 'no-at-sign' },
    'vero.update_user: email: invalid email address "no-at-sign"',
  ],
  ['vero.unsubscribe', {}, 'vero.unsubscribe: id: is required'],
  ['vero.resubscribe', { id: true }, 'vero.resubscribe: id: expected string, got boolean true'],
  ['vero.get_current_user', { verbose: true }, 'vero.get_current_user: verbose: unknown field'],
  ['vero.alias_user', { id: 'a' }, 'vero.alias_user: new_id: is required'],
  ['vero.delete_user', { id: '' }, 'vero.delete_user: id: must not be empty'],
  ['vero.add_tags', { id: 'u1', tags: {} }, 'vero.add_tags: tags: must list at least 1 item'],
  ['vero.remove_tags', { id: 'u1', tags: ['ok', ''] }, 'vero.remove_tags: tags.1: must not be empty'],
  [
    'vero.identify_user',
    { id: '   ', email: 'a@example.com' },
    'vero.identify_user: id: must not be only spaces "   "',
  ],
  [
    'vero.identify_user',
    { id: 'u1', email: 'a@b..c' },
    'vero.identify_user: email: invalid email address "a@b..c"',
  ],
  [
    'vero.track_event',
    { identity: 'u1', event_name: ' ' },
    'vero.track_event: event_name: must not be only spaces " "',
  ],
  ['vero.add_tags', { id: 'u1', tags: [' '] }, 'vero.add_tags: tags.0: must not be only spaces " "'],
];

describe('invalid arguments: exact errors, nothing sent', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  for (const [fn, args, message] of badCalls) {
    test(`${fn} ${JSON.stringify(args)}`, async () => {
      const before = h.emulator.state().requests.length;
      await assert.rejects(h.runtime.call(fn, args), (error: Error & { code: string }) => {
        assert.equal(error.code, 'invalid_arguments');
        assert.equal(error.message, message);
        return true;
      });
      assert.equal(h.emulator.state().requests.length, before, 'nothing reached the emulator');
    });
  }

  test('dry-run validates too', async () => {
    await assert.rejects(h.runtime.call('vero.identify_user', { id: 'u' }, { dryRun: true }), {
      code: 'invalid_arguments',
    });
  });

  test('Lua-shaped values: an empty table stands for an empty list or object; numbers keep their value', async () => {
    const sent = await h.runtime.call(
      'vero.identify_user',
      { id: 'u2', email: 'u2@example.com', data: { seats: 3, ratio: 0.5, empty: {} } },
      { dryRun: true },
    );
    const body = (sent.request as { body: { data: Record<string, unknown> } }).body;
    assert.deepEqual(body.data, { seats: 3, ratio: 0.5, empty: {} });
    const data = await h.runtime.call(
      'vero.identify_user',
      { id: 'u2', email: 'u2@example.com', data: [] },
      {
        dryRun: true,
      },
    );
    assert.deepEqual((data.request as { body: { data: unknown } }).body.data, {});
  });
});
