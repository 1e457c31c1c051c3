/** The emulator driven by Vero's own JS SDK, @getvero/tracking 2.1.0 (it sends tracking_api_key in the query string). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Tracker } from '@getvero/tracking';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY } from './helpers.js';

describe('emulator driven by @getvero/tracking', () => {
  let emu: RunningEmulator;
  let tracker: Tracker;
  before(async () => {
    emu = await startEmulator({ tokens: [{ token: CANARY, label: 'sdk' }] });
    // The SDK appends '/api/v2/...' itself, so it takes the origin, not the API base url.
    tracker = new Tracker({ trackingApiKey: CANARY, trackingApiBaseUrl: emu.origin });
  });
  after(() => emu.close());

  const user = (id: string) => emu.state().users.find((u) => u.id === id);

  it('identify creates the user with its data', async () => {
    await tracker.user.identify({
      id: 'sdk-1',
      email: 'sdk@example.com',
      data: { first_name: 'Ada', age: 36 },
    });
    const u = user('sdk-1');
    assert.equal(u?.email, 'sdk@example.com');
    assert.deepEqual(u?.data, { first_name: 'Ada', age: 36 });
  });

  it('event.track records the event with the identity given', async () => {
    await tracker.event.track({
      identity: { userId: 'sdk-1', email: 'sdk@example.com' },
      eventName: 'Viewed product',
      data: { product: 'Red T-shirt' },
      extras: { source: 'test', createdAt: '2024-05-30T04:46:31+0000' },
    });
    const event = emu.state().events.at(-1);
    assert.equal(event?.event_name, 'Viewed product');
    assert.deepEqual(event?.identity, { id: 'sdk-1', email: 'sdk@example.com' });
    assert.deepEqual(event?.data, { product: 'Red T-shirt' });
    assert.deepEqual(event?.extras, { source: 'test', created_at: '2024-05-30T04:46:31+0000' });
  });

  it('tag.edit adds and removes tags', async () => {
    await tracker.tag.edit({ userId: 'sdk-1', add: ['beta', 'vip'] });
    await tracker.tag.edit({ userId: 'sdk-1', remove: ['beta'] });
    assert.deepEqual(user('sdk-1')?.tags, ['vip']);
  });

  it('unsubscribe and resubscribe flip the flag', async () => {
    await tracker.user.unsubscribe({ userId: 'sdk-1' });
    assert.equal(user('sdk-1')?.unsubscribed, true);
    await tracker.user.resubscribe({ userId: 'sdk-1' });
    assert.equal(user('sdk-1')?.unsubscribed, false);
  });

  it('alias re-identifies the user under a new id', async () => {
    await tracker.user.alias({ userId: 'sdk-1', newId: 'sdk-2' });
    assert.equal(user('sdk-1'), undefined);
    assert.equal(user('sdk-2')?.email, 'sdk@example.com');
    assert.deepEqual(user('sdk-2')?.tags, ['vip']);
  });

  it('delete removes the user', async () => {
    await tracker.user.delete({ userId: 'sdk-2' });
    assert.equal(user('sdk-2'), undefined);
  });

  it('every SDK request was accepted under the token label, and the key never shows', async () => {
    const { requests } = emu.state();
    assert.equal(requests.length, 8);
    for (const q of requests) {
      assert.equal(q.status, 200);
      assert.equal(q.token, 'sdk');
    }
    assert.ok(!JSON.stringify(emu.state()).includes(CANARY));
  });

  it('the SDK rejects when the emulator answers 401', async () => {
    const stranger = new Tracker({ trackingApiKey: 'not-configured', trackingApiBaseUrl: emu.origin });
    await assert.rejects(stranger.user.unsubscribe({ userId: 'x' }), /401/);
  });
});
