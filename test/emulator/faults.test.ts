import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type EmulatorFault, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY, call, SUCCESS } from './helpers.js';

describe('emulator scripted faults', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ tokens: [CANARY] });
  });
  after(() => emu.close());
  beforeEach(() => emu.reset());

  async function script(faults: EmulatorFault[]): Promise<unknown> {
    const res = await fetch(`${emu.inspectorUrl}faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ faults }),
    });
    assert.equal(res.status, 200);
    return res.json();
  }
  const remaining = async () =>
    ((await (await fetch(`${emu.inspectorUrl}faults`)).json()) as { faults: unknown[] }).faults;

  it('status with Retry-After answers that status, count times, and changes nothing', async () => {
    await script([{ endpoint: '/users/track', status: 503, retryAfter: '1', count: 2 }]);
    for (let i = 0; i < 2; i++) {
      const r = await call(emu.url, 'POST', '/users/track', { id: `u${i}` });
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.deepEqual(r.body, { status: 503, message: 'Service Unavailable' });
    }
    assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: 'u2' })).body, SUCCESS);
    const { users, requests } = emu.state();
    assert.deepEqual(
      users.map((u) => u.id),
      ['u2'],
    );
    assert.deepEqual(
      requests.map((q) => q.status),
      [503, 503, 200],
    );
    assert.deepEqual(await remaining(), []);
  });

  it('a 429 with a custom body, matched by endpoint (.json accepted) and method', async () => {
    await script([
      { endpoint: '/events/track.json', method: 'post', status: 429, body: { error: 'slow down' } },
    ]);
    const r = await call(emu.url, 'POST', '/events/track.json', { identity: { id: 'a' }, event_name: 'e' });
    assert.equal(r.status, 429);
    assert.deepEqual(r.body, { error: 'slow down' });
    assert.equal(r.headers.get('retry-after'), null);
    assert.deepEqual(emu.state().events, []);
  });

  it('a fault without endpoint matches the next Vero request but not heartbeat', async () => {
    await script([{ status: 500 }]);
    assert.equal((await fetch(`${emu.url}/heartbeat`)).status, 200);
    assert.equal((await call(emu.url, 'PUT', '/users/edit', { id: 'a', changes: { b: 1 } })).status, 500);
    await script([{ endpoint: '/heartbeat', status: 502 }]);
    assert.equal((await fetch(`${emu.url}/heartbeat`)).status, 502);
  });

  it('latency only delays, then the request is processed normally', async () => {
    // Generous: the later request must overtake within it even on a busy machine (it is a gate, not a measurement).
    await script([{ endpoint: '/users/track', latencyMs: 3000 }]);
    const slow = call(emu.url, 'POST', '/users/track', { id: 'slow' });
    // Once the fault is consumed the slow request has arrived; a later request overtakes it.
    while ((await remaining()).length > 0) await new Promise((r) => setTimeout(r, 5));
    const fast = await call(emu.url, 'POST', '/users/track', { id: 'fast' });
    assert.deepEqual(fast.body, SUCCESS);
    assert.deepEqual((await slow).body, SUCCESS);
    assert.deepEqual(
      emu.state().users.map((u) => u.id),
      ['fast', 'slow'],
    );
  });

  it('drop destroys the socket without answering; logged with status null', async () => {
    await script([{ endpoint: '/users/track', drop: true }]);
    await assert.rejects(call(emu.url, 'POST', '/users/track', { id: 'x' }), TypeError);
    const { users, requests } = emu.state();
    assert.deepEqual(users, []);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.status, null);
    assert.equal(requests[0]?.endpoint, '/users/track');
    assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: 'x' })).body, SUCCESS);
  });

  it('hang never answers: the client gives up with its own timeout', async () => {
    await script([{ endpoint: '/users/delete', hang: true }]);
    await assert.rejects(
      call(emu.url, 'POST', '/users/delete', { id: 'x' }, { signal: AbortSignal.timeout(300) }),
      (error: Error) => error.name === 'TimeoutError',
    );
    const { requests } = emu.state();
    assert.deepEqual(
      requests.map((q) => [q.endpoint, q.status]),
      [['/users/delete', null]],
    );
  });

  it('forever faults stay; GET lists them, DELETE clears them', async () => {
    await script([{ endpoint: '/users/unsubscribe', status: 500, forever: true }]);
    for (let i = 0; i < 3; i++)
      assert.equal((await call(emu.url, 'POST', '/users/unsubscribe', { id: 'a' })).status, 500);
    assert.deepEqual(await remaining(), [
      { endpoint: '/users/unsubscribe', status: 500, forever: true, remaining: null },
    ]);
    const res = await fetch(`${emu.inspectorUrl}faults`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await remaining(), []);
    assert.deepEqual((await call(emu.url, 'POST', '/users/unsubscribe', { id: 'a' })).body, SUCCESS);
  });

  it('faults are consumed in order, first match first', async () => {
    await script([
      { endpoint: '/users/track', status: 500 },
      { status: 502 },
      { endpoint: '/users/track', status: 503 },
    ]);
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(emu.url, 'POST', '/users/track', { id: `u${i}` })).status);
    assert.deepEqual(statuses, [500, 502, 503, 200]);
  });

  it('reset clears faults; a bad fault script is a 400 naming the field', async () => {
    await script([{ status: 500, count: 5 }]);
    emu.reset();
    assert.deepEqual(await remaining(), []);
    const res = await fetch(`${emu.inspectorUrl}faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ faults: [{ status: 'boom' }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, 'emulator_bad_faults');
    assert.match(body.message, /faults\[0\]\.status/);
    const notJson = await fetch(`${emu.inspectorUrl}faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { code: string }).code, 'emulator_bad_faults');
  });
});

describe('emulator close with a hanging request', () => {
  it('close() resolves and the hanging client sees its connection end', async () => {
    const emu = await startEmulator();
    await fetch(`${emu.inspectorUrl}faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ faults: [{ hang: true }, { endpoint: '/users/track', latencyMs: 60_000 }] }),
    });
    const hanging = call(emu.url, 'POST', '/users/delete', { id: 'x' }, { token: 't' });
    const slow = call(emu.url, 'POST', '/users/track', { id: 'x' }, { token: 't' });
    while (
      ((await (await fetch(`${emu.inspectorUrl}faults`)).json()) as { faults: unknown[] }).faults.length > 0
    ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const settled = Promise.allSettled([hanging, slow]);
    await emu.close();
    assert.deepEqual(
      (await settled).map((s) => s.status),
      ['rejected', 'rejected'],
    );
  });
});
