import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CANARY, exposed } from '../support/canary.js';
import { addFaults } from '../support/faults.js';
import { type Harness, startHarness } from '../support/runtime.js';

describe('every Vero function through runtime.call, against the emulator', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  beforeEach(() => h.emulator.reset());

  const user = (id: string) => h.emulator.state().users.find((u) => u.id === id);

  test('identify_user creates the user with name folded into data', async () => {
    const result = await h.runtime.call('vero.identify_user', {
      id: 'usr_123',
      email: 'john@example.com',
      name: 'John Doe',
      data: { plan: 'premium', seats: 3 },
    });
    assert.deepEqual(result, {
      status: 'sent',
      function_name: 'vero.identify_user',
      account: 'default',
      id: 'usr_123',
      email: 'john@example.com',
      message: 'Success.',
    });
    const stored = user('usr_123');
    assert.equal(stored?.email, 'john@example.com');
    assert.deepEqual(stored?.data, { plan: 'premium', seats: 3, name: 'John Doe' });
    const [request] = h.emulator.state().requests;
    assert.equal(request?.endpoint, '/users/track');
    assert.equal(request?.token, 'default');
  });

  test('the same identify twice reports duplicate, as Vero answers', async () => {
    const args = { id: 'usr_1', email: 'a@example.com' };
    assert.equal((await h.runtime.call('vero.identify_user', args)).status, 'sent');
    const second = await h.runtime.call('vero.identify_user', args);
    assert.equal(second.status, 'duplicate');
    assert.equal(second.message, 'Request already received.');
  });

  test('track_event sends an id identity, or an email identity when it is an address', async () => {
    await h.runtime.call('vero.track_event', {
      identity: 'usr_123',
      event_name: 'Purchased',
      data: { product: 'Widget', price: 29.99, quantity: 2 },
    });
    const byEmail = await h.runtime.call('vero_track_event', {
      identity: 'jane@example.com',
      event_name: 'Logged in',
    });
    assert.equal(byEmail.email, 'jane@example.com');
    const [first, second] = h.emulator.state().events;
    assert.deepEqual(first?.identity, { id: 'usr_123' });
    assert.equal(first?.event_name, 'Purchased');
    assert.deepEqual(first?.data, { product: 'Widget', price: 29.99, quantity: 2 });
    assert.deepEqual(second?.identity, { email: 'jane@example.com' });
    assert.equal(
      user('jane@example.com')?.email,
      'jane@example.com',
      'an email-only identity creates a user',
    );
  });

  test('update_user sends changes with data keys at top level and the new email', async () => {
    await h.runtime.call('vero.identify_user', {
      id: 'usr_9',
      email: 'old@example.com',
      data: { plan: 'free' },
    });
    const result = await h.runtime.call('vero.update_user', {
      id: 'usr_9',
      email: 'new@example.com',
      data: { plan: 'enterprise', company: 'Big Corp' },
    });
    assert.equal(result.status, 'sent');
    assert.equal(user('usr_9')?.email, 'new@example.com');
    assert.deepEqual(user('usr_9')?.data, { plan: 'enterprise', company: 'Big Corp' });
    await h.runtime.call('vero.update_user', { id: 'usr_9', email: 'newer@example.com' });
    assert.equal(user('usr_9')?.email, 'newer@example.com');
  });

  test('unsubscribe and resubscribe flip the subscription', async () => {
    await h.runtime.call('vero.identify_user', { id: 'usr_5', email: 'five@example.com' });
    await h.runtime.call('vero.unsubscribe', { id: 'usr_5' });
    assert.equal(user('usr_5')?.unsubscribed, true);
    await h.runtime.call('vero.resubscribe', { id: 'usr_5' });
    assert.equal(user('usr_5')?.unsubscribed, false);
  });

  test('get_current_user reports configuration and a live heartbeat, never the credential', async () => {
    const profile = await h.runtime.call('vero.get_current_user', {});
    assert.equal(profile.account, 'default');
    assert.equal(profile.email, 'ops@example.com');
    assert.equal(profile.base_url, h.emulator.url);
    assert.deepEqual(profile.credential, { kind: 'auth_token', hint: `…${CANARY.slice(-4)}` });
    const connectivity = profile.connectivity as { ok: boolean; status: number };
    assert.equal(connectivity.ok, true);
    assert.equal(connectivity.status, 200);
    assert.ok(!exposed(profile).includes(CANARY));
    const marketing = await h.runtime.call('vero.get_current_user', {}, { account: 'marketing' });
    assert.equal(marketing.email, undefined, 'an email that is not configured is not invented');
  });

  test('get_current_user says when Vero cannot be reached', async () => {
    const down = await startHarness({ baseUrl: 'http://127.0.0.1:9/api/v2' });
    try {
      const profile = await down.runtime.call('vero.get_current_user', {});
      const connectivity = profile.connectivity as { ok: boolean; error?: string };
      assert.equal(connectivity.ok, false);
      assert.ok(connectivity.error);
    } finally {
      await down.close();
    }
  });

  test('extra functions: alias_user, add_tags, remove_tags, delete_user', async () => {
    await h.runtime.call('vero.identify_user', { id: 'anon_1', email: 'anon@example.com', data: { a: 1 } });
    await h.runtime.call('vero.alias_user', { id: 'anon_1', new_id: 'usr_1' });
    assert.equal(user('anon_1'), undefined);
    assert.deepEqual(user('usr_1')?.data, { a: 1 });
    await h.runtime.call('vero.add_tags', { id: 'usr_1', tags: ['beta', 'vip'] });
    await h.runtime.call('vero.remove_tags', { id: 'usr_1', tags: ['beta'] });
    assert.deepEqual(user('usr_1')?.tags, ['vip']);
    const deleted = await h.runtime.call('vero.delete_user', { id: 'usr_1' });
    assert.equal(deleted.status, 'sent');
    assert.equal(user('usr_1'), undefined);
  });

  test('function names: full name, slug, metadata full name and short name all resolve', async () => {
    for (const name of ['vero.unsubscribe', 'vero_unsubscribe', 'vero.vero_unsubscribe', 'unsubscribe']) {
      const result = await h.runtime.call(name, { id: `n_${name}` });
      assert.equal(result.function_name, 'vero.unsubscribe');
    }
    await assert.rejects(h.runtime.call('vero.unsubscrbe', { id: 'x' }), {
      code: 'unknown_function',
      message: /Did you mean "vero\.unsubscribe"\?/,
    });
  });

  test('Vero errors surface typed, without the credential', async () => {
    await addFaults(h.emulator, [{ endpoint: '/users/unsubscribe', status: 401 }]);
    const error = await h.runtime.call('vero.unsubscribe', { id: 'x' }).catch((e: unknown) => e);
    assert.equal((error as { code: string }).code, 'vero_auth');
    assert.ok(!exposed(error).includes(CANARY));
    const [record] = h.runtime.calls().slice(-1);
    assert.equal(record?.status, 'error');
    assert.equal(record?.error?.code, 'vero_auth');
  });

  test('the call log records function, account, args, status and duration', async () => {
    const before = h.runtime.lastCallSeq;
    await h.runtime.call(
      'vero.track_event',
      { identity: 'usr_1', event_name: 'Opened' },
      { account: 'marketing' },
    );
    await h.runtime.call('vero.identify_user', { id: 'bad', email: 'nope' }).catch(() => undefined);
    const records = h.runtime.calls(before);
    assert.equal(records.length, 2);
    assert.equal(records[0]?.function_name, 'vero.track_event');
    assert.equal(records[0]?.account, 'marketing');
    assert.equal(records[0]?.status, 'sent');
    assert.deepEqual(records[0]?.args, { identity: 'usr_1', event_name: 'Opened' });
    assert.ok((records[0]?.duration_ms ?? -1) >= 0);
    assert.equal(records[1]?.status, 'error');
    assert.equal(records[1]?.error?.code, 'invalid_arguments');
    assert.ok(!exposed(h.runtime.calls()).includes(CANARY));
  });
});
