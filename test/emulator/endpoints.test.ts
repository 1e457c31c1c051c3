import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY, call, SUCCESS } from './helpers.js';

describe('emulator endpoints: state effects', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ tokens: [CANARY] });
  });
  after(() => emu.close());
  beforeEach(() => emu.reset());

  const user = (id: string) => emu.state().users.find((u) => u.id === id);

  it('POST /users/track creates a user, then merges data key by key and updates the email', async () => {
    let r = await call(emu.url, 'POST', '/users/track', {
      id: 'u1',
      email: 'a@example.com',
      data: { plan: 'free', n: 1 },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, SUCCESS);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    r = await call(emu.url, 'POST', '/users/track', {
      id: 'u1',
      email: 'b@example.com',
      data: { plan: 'pro' },
    });
    assert.deepEqual(r.body, SUCCESS);
    const u = user('u1');
    assert.ok(u);
    assert.equal(u.email, 'b@example.com');
    assert.deepEqual(u.data, { plan: 'pro', n: 1 });
    assert.deepEqual(u.tags, []);
    assert.equal(u.unsubscribed, false);
    assert.equal(emu.state().users.length, 1);
  });

  it('identify with only an email creates a user whose id is the email; numeric ids become strings', async () => {
    await call(emu.url, 'POST', '/users/track', { email: 'only@example.com' });
    await call(emu.url, 'POST', '/users/track', { id: 42, data: { a: 1 } });
    assert.deepEqual(
      emu.state().users.map((u) => [u.id, u.email]),
      [
        ['only@example.com', 'only@example.com'],
        ['42', null],
      ],
    );
  });

  it('PUT /users/edit merges changes into data and changes.email changes the email', async () => {
    await call(emu.url, 'POST', '/users/track', {
      id: 'u1',
      email: 'a@example.com',
      data: { plan: 'free', n: 1 },
    });
    const r = await call(emu.url, 'PUT', '/users/edit', {
      id: 'u1',
      changes: { plan: 'pro', email: 'new@example.com' },
    });
    assert.deepEqual(r.body, SUCCESS);
    const u = user('u1');
    assert.equal(u?.email, 'new@example.com');
    assert.deepEqual(u?.data, { plan: 'pro', n: 1 });
  });

  it('PUT /users/tags/edit adds and removes with set semantics, keeping order', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'u1' });
    await call(emu.url, 'PUT', '/users/tags/edit', { id: 'u1', add: ['b', 'a', 'b'] });
    await call(emu.url, 'PUT', '/users/tags/edit', { id: 'u1', add: ['c', 'a'], remove: ['b'] });
    assert.deepEqual(user('u1')?.tags, ['a', 'c']);
  });

  it('POST /users/unsubscribe and /users/resubscribe flip the flag', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'u1' });
    await call(emu.url, 'POST', '/users/unsubscribe', { id: 'u1' });
    assert.equal(user('u1')?.unsubscribed, true);
    await call(emu.url, 'POST', '/users/resubscribe', { id: 'u1' });
    assert.equal(user('u1')?.unsubscribed, false);
  });

  it('PUT /users/reidentify renames the id and keeps everything else, including creation order', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'old', email: 'o@example.com', data: { k: 'v' } });
    await call(emu.url, 'POST', '/users/track', { id: 'other' });
    await call(emu.url, 'PUT', '/users/tags/edit', { id: 'old', add: ['t'] });
    const before = user('old');
    const r = await call(emu.url, 'PUT', '/users/reidentify', { id: 'old', new_id: 'new' });
    assert.deepEqual(r.body, SUCCESS);
    assert.equal(user('old'), undefined);
    const after = user('new');
    assert.equal(after?.email, 'o@example.com');
    assert.deepEqual(after?.data, { k: 'v' });
    assert.deepEqual(after?.tags, ['t']);
    assert.equal(after?.created_at, before?.created_at);
    assert.deepEqual(
      emu.state().users.map((u) => u.id),
      ['new', 'other'],
    );
  });

  it('PUT /users/reidentify onto an existing id merges the old profile into it, its own values winning', async () => {
    await call(emu.url, 'POST', '/users/track', {
      id: 'anon',
      email: 'a@example.com',
      data: { k: 'old', x: 1 },
    });
    await call(emu.url, 'PUT', '/users/tags/edit', { id: 'anon', add: ['a', 'both'] });
    await call(emu.url, 'POST', '/users/track', { id: 'known', data: { k: 'new' } });
    await call(emu.url, 'PUT', '/users/tags/edit', { id: 'known', add: ['both', 'k'] });
    const known = user('known');
    const r = await call(emu.url, 'PUT', '/users/reidentify', { id: 'anon', new_id: 'known' });
    assert.deepEqual(r.body, SUCCESS);
    const { users } = emu.state();
    assert.deepEqual(
      users.map((u) => u.id),
      ['known'],
    );
    assert.deepEqual(
      { ...users[0], updated_at: known?.updated_at },
      { ...known, email: 'a@example.com', data: { k: 'new', x: 1 }, tags: ['both', 'k', 'a'] },
    );
  });

  it('POST /users/delete removes the user', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'u1' });
    await call(emu.url, 'POST', '/users/track', { id: 'u2' });
    const r = await call(emu.url, 'POST', '/users/delete', { id: 'u1' });
    assert.deepEqual(r.body, SUCCESS);
    assert.deepEqual(
      emu.state().users.map((u) => u.id),
      ['u2'],
    );
  });

  it('POST /events/track records events in order, names as sent, and creates unknown users', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'u1', email: 'a@example.com' });
    await call(emu.url, 'POST', '/events/track', {
      identity: { id: 'u1', email: 'a@example.com' },
      event_name: 'Purchased Item',
      data: { price: 9 },
      extras: { source: 'test', created_at: '2024-01-01T00:00:00Z' },
    });
    await call(emu.url, 'POST', '/events/track', {
      identity: { email: 'e@example.com' },
      event_name: 'signed_up',
    });
    await call(emu.url, 'POST', '/events/track', { identity: { id: 'fresh' }, event_name: 'x' });
    const { events, users } = emu.state();
    assert.deepEqual(
      events.map((e) => [e.seq, e.event_name]),
      [
        [1, 'Purchased Item'],
        [2, 'signed_up'],
        [3, 'x'],
      ],
    );
    assert.deepEqual(events[0]?.identity, { id: 'u1', email: 'a@example.com' });
    assert.deepEqual(events[0]?.data, { price: 9 });
    assert.deepEqual(events[0]?.extras, { source: 'test', created_at: '2024-01-01T00:00:00Z' });
    assert.deepEqual(events[1]?.identity, { email: 'e@example.com' });
    assert.deepEqual(
      users.map((u) => [u.id, u.email]),
      [
        ['u1', 'a@example.com'],
        ['e@example.com', 'e@example.com'],
        ['fresh', null],
      ],
    );
  });

  it('accepts every endpoint with a .json suffix', async () => {
    const calls: Array<[string, string, Record<string, unknown>]> = [
      ['POST', '/users/track.json', { id: 'j', email: 'j@example.com' }],
      ['PUT', '/users/edit.json', { id: 'j', changes: { a: 1 } }],
      ['PUT', '/users/tags/edit.json', { id: 'j', add: ['x'] }],
      ['POST', '/users/unsubscribe.json', { id: 'j' }],
      ['POST', '/users/resubscribe.json', { id: 'j' }],
      ['POST', '/events/track.json', { identity: { id: 'j' }, event_name: 'e' }],
      ['PUT', '/users/reidentify.json', { id: 'j', new_id: 'k' }],
      ['POST', '/users/delete.json', { id: 'k' }],
      ['GET', '/heartbeat.json', {}],
    ];
    for (const [method, path, params] of calls) {
      const r = await call(emu.url, method, path, params);
      assert.deepEqual(r.body, SUCCESS, `${method} ${path}`);
    }
    const { users, events, requests } = emu.state();
    assert.deepEqual(users, []);
    assert.equal(events.length, 1);
    assert.deepEqual(
      requests.map((q) => q.endpoint),
      calls.map(([, path]) => path.replace('.json', '')),
    );
    assert.equal(requests[0]?.path, '/api/v2/users/track.json');
  });

  it('GET /heartbeat answers without a credential', async () => {
    const res = await fetch(`${emu.url}/heartbeat`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), SUCCESS);
  });

  it('unknown paths and wrong methods answer 404 JSON', async () => {
    let r = await call(emu.url, 'POST', '/users/nope', { id: 'x' });
    assert.equal(r.status, 404);
    assert.equal(r.body.status, 404);
    assert.match(String(r.body.message), /no Vero endpoint/);
    r = await call(emu.url, 'GET', '/users/track');
    assert.equal(r.status, 404);
    assert.match(String(r.body.message), /takes POST/);
    const res = await fetch(`${emu.origin}/somewhere`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(emu.state().users, []);
  });

  it('the inspector page and GET /_emulator/state serve the same state as state()', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'u1' });
    const page = await fetch(emu.inspectorUrl);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /kosmo-vero emulator/);
    const res = await fetch(`${emu.inspectorUrl}state`);
    assert.deepEqual(await res.json(), emu.state());
    assert.equal(emu.inspectorUrl, `${emu.origin}/_emulator/`);
    assert.equal(emu.url, `${emu.origin}/api/v2`);
    assert.equal(emu.origin, `http://127.0.0.1:${emu.port}`);
  });
});
