import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type EmulatorError, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY, call, SUCCESS } from './helpers.js';

const UNAUTHORIZED = { status: 401, message: 'Unauthorized' };

describe('emulator credentials', () => {
  let emu: RunningEmulator;
  const lines: string[] = [];
  before(async () => {
    emu = await startEmulator({
      tokens: [CANARY, { token: 'second-secret-token', label: 'marketing' }],
      log: (line) => lines.push(line),
    });
  });
  after(() => emu.close());
  beforeEach(() => emu.reset());

  for (const via of ['json', 'form', 'query'] as const) {
    for (const field of ['auth_token', 'tracking_api_key'] as const) {
      it(`accepts ${field} in the ${via === 'query' ? 'query string' : `${via} body`}`, async () => {
        const r = await call(
          emu.url,
          'POST',
          '/users/track',
          { id: `${via}-${field}`, email: 'a@example.com', data: { plan: 'x', nested: { deep: 'y' } } },
          { via, field },
        );
        assert.deepEqual(r.body, SUCCESS);
        const { users, requests } = emu.state();
        assert.equal(users[0]?.id, `${via}-${field}`);
        assert.equal(users[0]?.email, 'a@example.com');
        // Form bodies carry strings only, nested with bracketed keys as n8n sends them.
        assert.deepEqual(users[0]?.data, { plan: 'x', nested: { deep: 'y' } });
        assert.equal(requests[0]?.token, 'token-1');
      });
    }
  }

  it('form bodies carry nested identity and tag arrays', async () => {
    await call(
      emu.url,
      'POST',
      '/events/track',
      { identity: { id: '1', email: 'f@example.com' }, event_name: 'e', data: { a: 'b' } },
      { via: 'form' },
    );
    await call(emu.url, 'PUT', '/users/tags/edit', { id: '1', add: ['x', 'y'] }, { via: 'form' });
    const { users, events } = emu.state();
    assert.deepEqual(events[0]?.identity, { id: '1', email: 'f@example.com' });
    assert.deepEqual(events[0]?.data, { a: 'b' });
    assert.deepEqual(users[0]?.tags, ['x', 'y']);
  });

  it('labels each request with the configured token it matched', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'a' }, { token: 'second-secret-token' });
    await call(emu.url, 'POST', '/users/track', { id: 'b' });
    assert.deepEqual(
      emu.state().requests.map((q) => q.token),
      ['marketing', 'token-1'],
    );
  });

  it('answers 401 to an unknown or missing credential and changes nothing', async () => {
    let r = await call(emu.url, 'POST', '/users/track', { id: 'a' }, { token: 'wrong' });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, UNAUTHORIZED);
    r = await call(emu.url, 'POST', '/users/track', { id: 'a' }, { token: null });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, UNAUTHORIZED);
    r = await call(
      emu.url,
      'POST',
      '/events/track',
      { identity: { id: 'a' }, event_name: 'e' },
      { token: 'wrong', via: 'query' },
    );
    assert.equal(r.status, 401);
    const { users, events, requests } = emu.state();
    assert.deepEqual(users, []);
    assert.deepEqual(events, []);
    assert.deepEqual(
      requests.map((q) => [q.status, q.token]),
      [
        [401, 'unknown'],
        [401, null],
        [401, 'unknown'],
      ],
    );
  });

  it('a malformed body with a bad credential is 400, as Vero has been seen to answer', async () => {
    const res = await fetch(`${emu.url}/users/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"auth_token": "wrong", "id": ',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { message: string };
    assert.match(body.message, /Malformed JSON/);
  });

  it('never shows the credential in GET /_emulator/state or any log line', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'a', email: 'a@example.com' });
    await call(emu.url, 'POST', '/users/track', { id: 'b' }, { via: 'query', field: 'tracking_api_key' });
    await call(emu.url, 'POST', '/users/track', { id: 'c' }, { via: 'form' });
    await call(
      emu.url,
      'POST',
      '/events/track',
      { identity: { id: 'a' }, event_name: 'e' },
      { via: 'query' },
    );
    await call(emu.url, 'POST', '/users/track', { id: 'a', email: 'bad' }, { token: `${CANARY}-nope` });
    await call(emu.url, 'POST', '/nowhere', {}, { via: 'query' });
    const res = await fetch(`${emu.inspectorUrl}state`);
    const text = await res.text();
    assert.equal(JSON.parse(text).requests.length, 6);
    assert.ok(!text.includes(CANARY), 'state must not contain the credential');
    assert.ok(lines.length >= 6);
    for (const line of lines) assert.ok(!line.includes(CANARY), `log line leaks the credential: ${line}`);
  });
});

describe('emulator with no tokens configured', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator();
  });
  after(() => emu.close());

  it('accepts any non-empty credential and labels it "any", still 401 without one', async () => {
    let r = await call(emu.url, 'POST', '/users/track', { id: 'a' }, { token: 'whatever' });
    assert.deepEqual(r.body, SUCCESS);
    r = await call(emu.url, 'POST', '/users/track', { id: 'b' }, { token: '' });
    assert.equal(r.status, 401);
    assert.deepEqual(
      emu.state().requests.map((q) => [q.status, q.token]),
      [
        [200, 'any'],
        [401, null],
      ],
    );
  });
});

describe('emulator with bad tokens', () => {
  it('refuses an empty token or label with a lower snake_case code, naming the entry', async () => {
    await assert.rejects(startEmulator({ tokens: [CANARY, ''] }), {
      name: 'EmulatorError',
      code: 'emulator_bad_token',
      message: /^tokens\[1\]: a token must be a non-empty string/,
    });
    await assert.rejects(startEmulator({ tokens: [{ token: CANARY, label: '' }] }), (error: Error) => {
      assert.equal((error as EmulatorError).code, 'emulator_bad_token');
      assert.match(error.message, /^tokens\[0\]\.label: give each token a non-empty label/);
      assert.ok(!error.message.includes(CANARY), 'the message never repeats a token');
      return true;
    });
  });
});
