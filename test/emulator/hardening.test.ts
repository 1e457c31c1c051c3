/**
 * Hostile requests against the emulator: prototype pollution through form or JSON keys, bodies built to make
 * parsing slow, and cross-site requests to the control endpoints under /_emulator/.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY, call } from './helpers.js';

const SUCCESS = { status: 200, message: 'Success.' };

async function post(url: string, body: string, headers: Record<string, string>, method = 'POST') {
  const res = await fetch(url, { method, headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('emulator: hostile request bodies', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
  });
  after(() => emu.close());
  afterEach(() => {
    // Old code polluted this very process (the emulator runs in it): undo it so one failure does not cascade.
    for (const key of ['id', 'polluted', 'email']) delete (Object.prototype as Record<string, unknown>)[key];
  });

  const form = (fields: string) =>
    post(`${emu.url}/users/track`, `auth_token=${CANARY}&${fields}`, {
      'content-type': 'application/x-www-form-urlencoded',
    });

  const attacks = [
    'id=u1&data[__proto__][id]=X',
    '__proto__[polluted]=1&id=u1',
    'id=u1&data[constructor][prototype][polluted]=1',
    'id=u1&data[a][prototype]=1',
  ];
  for (const [n, fields] of attacks.entries()) {
    it(`refuses the reserved key in ${fields} with a 400, and Object.prototype stays clean`, async () => {
      const answer = await form(fields);
      assert.equal(answer.status, 400);
      assert.match(
        String(answer.body.message),
        /Malformed body: the key "(__proto__|constructor|prototype)".* is reserved/,
      );
      assert.equal(({} as Record<string, unknown>).id, undefined);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      // The emulator keeps working: a user is only created by a valid request.
      assert.deepEqual((await call(emu.url, 'POST', '/users/track', { id: `clean${n}` })).body, SUCCESS);
      assert.deepEqual(
        emu.state().users.map((u) => u.id),
        Array.from({ length: n + 1 }, (_, i) => `clean${i}`),
      );
    });
  }

  it('refuses reserved keys in JSON bodies too, anywhere in the body', async () => {
    for (const body of [
      `{"auth_token":"${CANARY}","id":"u2","data":{"__proto__":{"id":"X"}}}`,
      `{"auth_token":"${CANARY}","identity":{"id":"u2"},"event_name":"e","data":{"a":[{"constructor":1}]}}`,
    ]) {
      const path = body.includes('event_name') ? '/events/track' : '/users/track';
      const answer = await post(`${emu.url}${path}`, body, { 'content-type': 'application/json' });
      assert.equal(answer.status, 400, body);
      assert.match(String(answer.body.message), /is reserved/);
    }
    assert.equal(
      emu.state().users.find((u) => u.id === 'u2'),
      undefined,
    );
  });

  it('a form body with 20 000 repeated keys is refused by the field cap; 4 000 tags are parsed', async () => {
    const flood = Array.from({ length: 20_000 }, () => 'add[]=x').join('&');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const answer = await post(
      `${emu.url}/users/tags/edit`,
      `auth_token=${CANARY}&id=clean0&${flood}`,
      form,
      'PUT',
    );
    assert.equal(answer.status, 400);
    assert.match(String(answer.body.message), /more than 5000 fields/);
    const tags = Array.from({ length: 4000 }, (_, i) => `add[]=t${i}`).join('&');
    const accepted = await post(
      `${emu.url}/users/tags/edit`,
      `auth_token=${CANARY}&id=clean0&${tags}`,
      form,
      'PUT',
    );
    assert.deepEqual(accepted.body, SUCCESS);
    const user = emu.state().users.find((u) => u.id === 'clean0');
    assert.equal(user?.tags.length, 4000);
    assert.equal(user?.tags[3999], 't3999');
  });

  it('a form key nested deeper than 16 brackets is refused', async () => {
    const answer = await form(`id=u3&data${'[a]'.repeat(40)}=1`);
    assert.equal(answer.status, 400);
    assert.match(String(answer.body.message), /nested more than 16 levels/);
  });
});

describe('emulator: control endpoints refuse what a web page could send', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
  });
  after(() => emu.close());

  const faults = async () =>
    ((await (await fetch(`${emu.inspectorUrl}faults`)).json()) as { faults: unknown[] }).faults;
  const script = JSON.stringify({ faults: [{ status: 500, forever: true }] });

  it('text/plain, a form or no content type: 415, nothing changes', async () => {
    await call(emu.url, 'POST', '/users/track', { id: 'kept' });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const reset = await post(`${emu.inspectorUrl}reset`, '{}', { 'content-type': type });
      assert.equal(reset.status, 415, type);
      assert.equal(reset.body.code, 'emulator_bad_content_type');
      assert.match(String(reset.body.message), /send Content-Type: application\/json/);
      const scripted = await post(`${emu.inspectorUrl}faults`, script, { 'content-type': type });
      assert.equal(scripted.status, 415, type);
    }
    const deleted = await fetch(`${emu.inspectorUrl}faults`, { method: 'DELETE' });
    assert.equal(deleted.status, 415);
    assert.deepEqual(await faults(), []);
    assert.deepEqual(
      emu.state().users.map((u) => u.id),
      ['kept'],
    );
  });

  it('another origin is refused even with JSON; the emulator’s own origin (the inspector page) is not', async () => {
    const json = { 'content-type': 'application/json' };
    for (const headers of [
      { ...json, origin: 'https://evil.example' },
      { ...json, origin: 'null' },
      { ...json, 'sec-fetch-site': 'cross-site' },
    ]) {
      const scripted = await post(`${emu.inspectorUrl}faults`, script, headers);
      assert.equal(scripted.status, 403, JSON.stringify(headers));
      assert.equal(scripted.body.code, 'emulator_cross_origin');
      const reset = await post(`${emu.inspectorUrl}reset`, '{}', headers);
      assert.equal(reset.status, 403);
    }
    assert.deepEqual(await faults(), []);
    assert.equal(emu.state().users.length, 1);
    const own = await post(`${emu.inspectorUrl}reset`, '{}', {
      ...json,
      origin: emu.origin,
      'sec-fetch-site': 'same-origin',
    });
    assert.equal(own.status, 200);
    assert.equal(emu.state().users.length, 0);
  });
});
