/**
 * The emulator answers and stores requests shaped exactly as real Vero clients send them. Each test names the client
 * whose request shape it replays (read from that client's source or docs; see the comment on each).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { ALREADY, CANARY, call, SUCCESS } from './helpers.js';

interface Raw {
  method: string;
  path: string;
  /** Sent as is; a URLSearchParams or FormData sets its own content type. */
  body?: string | URLSearchParams | FormData;
  contentType?: string;
  query?: Record<string, string>;
}

describe('emulator fidelity: real clients request shapes', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ tokens: [CANARY] });
  });
  after(() => emu.close());
  beforeEach(() => emu.reset());

  async function send(raw: Raw) {
    const query = raw.query === undefined ? '' : `?${new URLSearchParams(raw.query)}`;
    const headers: Record<string, string> = {};
    if (raw.contentType !== undefined) headers['content-type'] = raw.contentType;
    const res = await fetch(`${emu.url}${raw.path}${query}`, { method: raw.method, headers, body: raw.body });
    return { status: res.status, body: (await res.json()) as { status: number; message: string } };
  }

  const user = (id: string) => emu.state().users.find((u) => u.id === id);

  async function eventsOf(profile: string) {
    const res = await fetch(`${emu.inspectorUrl}view?user=${encodeURIComponent(profile)}`);
    return ((await res.json()) as { events: { total: number } }).events.total;
  }

  describe('identity: Vero matches profiles on id only', () => {
    it('an email-only event (Vero reference curl: JSON, auth_token in the query) reaches the profile whose id is the email', async () => {
      await call(emu.url, 'POST', '/users/track', { id: 'usr_456', email: 'jane@example.com' });
      // help.getvero.com/api-reference/events/track: JSON body, auth_token in the query string.
      const r = await send({
        method: 'POST',
        path: '/events/track',
        query: { auth_token: CANARY },
        contentType: 'application/json',
        body: JSON.stringify({ identity: { email: 'jane@example.com' }, event_name: 'Viewed product' }),
      });
      assert.deepEqual(r.body, SUCCESS);
      assert.deepEqual(
        emu.state().users.map((u) => [u.id, u.email]),
        [
          ['usr_456', 'jane@example.com'],
          ['jane@example.com', 'jane@example.com'],
        ],
      );
      assert.equal(await eventsOf('usr_456'), 0, 'usr_456 got nothing');
      assert.equal(await eventsOf('jane@example.com'), 1);
    });

    it('an event naming both id and email (n8n, @getvero/tracking) reaches the id, whatever other profile has the email', async () => {
      await call(emu.url, 'POST', '/users/track', { email: 'jane@example.com' });
      await call(emu.url, 'POST', '/events/track', {
        identity: { id: 'usr_456', email: 'jane@example.com' },
        event_name: 'Paid',
      });
      assert.equal(await eventsOf('usr_456'), 1);
      assert.equal(await eventsOf('jane@example.com'), 0);
      assert.equal(user('usr_456')?.email, 'jane@example.com');
    });

    it('/users/track with no id (Vero curl docs without -d id) creates a profile whose id is the email', async () => {
      await call(emu.url, 'POST', '/users/track', { id: 'usr_456', email: 'jane@example.com' });
      const form = new URLSearchParams({
        auth_token: CANARY,
        email: 'jane@example.com',
        data: '{"plan":"pro"}',
      });
      assert.deepEqual((await send({ method: 'POST', path: '/users/track', body: form })).body, SUCCESS);
      assert.deepEqual(user('usr_456')?.data, {}, 'the id-identified user is untouched');
      assert.deepEqual(user('jane@example.com')?.data, { plan: 'pro' });
    });

    it('the Ruby gem 1.0 (JSON to .json paths, tracking_api_key in the body, identity from to_vero): the id decides', async () => {
      await call(emu.url, 'POST', '/users/track', { id: 'jane@example.com', email: 'jane@example.com' });
      const ruby = (path: string, method: string, body: Record<string, unknown>) =>
        send({
          method,
          path,
          contentType: 'application/json',
          body: JSON.stringify({ ...body, tracking_api_key: CANARY }),
        });
      // APIContext#track!: identity is the trackable's to_vero hash, extras defaults to {}.
      const identity = { id: 'rb-1', email: 'jane@example.com', _user_type: 'User' };
      assert.deepEqual(
        (
          await ruby('/events/track.json', 'POST', {
            data: { plan: 'pro' },
            event_name: 'Upgraded',
            identity,
            extras: {},
          })
        ).body,
        SUCCESS,
      );
      // APIContext#unsubscribe! and #update_user_tags! send both id and email.
      assert.deepEqual(
        (await ruby('/users/unsubscribe.json', 'POST', { id: 'rb-1', email: 'jane@example.com' })).body,
        SUCCESS,
      );
      assert.deepEqual(
        (
          await ruby('/users/tags/edit.json', 'PUT', {
            id: 'rb-1',
            email: 'jane@example.com',
            add: ['vip'],
            remove: [],
          })
        ).body,
        SUCCESS,
      );
      assert.deepEqual(
        [user('rb-1')?.unsubscribed, user('rb-1')?.tags, await eventsOf('rb-1')],
        [true, ['vip'], 1],
      );
      const emailProfile = user('jane@example.com');
      assert.deepEqual([emailProfile?.unsubscribed, emailProfile?.tags], [false, []]);
      assert.equal(await eventsOf('jane@example.com'), 0);
      assert.deepEqual(emu.state().events[0]?.identity, { id: 'rb-1', email: 'jane@example.com' });
    });

    it('vero-php unsubscribe($user_id = null, $email) unsubscribes the email-id profile, not the user with that email', async () => {
      await call(emu.url, 'POST', '/users/track', { id: 'usr_456', email: 'jane@example.com' });
      // vero-php client.php: JSON body {auth_token, id, email} to /users/unsubscribe.json, id null when not given.
      const r = await send({
        method: 'POST',
        path: '/users/unsubscribe.json',
        contentType: 'application/json',
        body: JSON.stringify({ auth_token: CANARY, id: null, email: 'jane@example.com' }),
      });
      assert.deepEqual(r.body, SUCCESS);
      assert.equal(user('usr_456')?.unsubscribed, false);
      assert.equal(user('jane@example.com')?.unsubscribed, true);
    });
  });

  describe('JSON text in fields', () => {
    it("Vero's curl docs: form body with identity and data as JSON text, a numeric id", async () => {
      // developers.getvero.com "Track": curl -d auth_token=... -d 'identity={"id": 1234, ...}' -d 'event_name=...' -d 'data={...}'
      const form = new URLSearchParams({
        auth_token: CANARY,
        identity: '{"id": 1234, "email": "john@smith.com"}',
        event_name: 'Viewed product',
        data: '{"product_name": "Red T-shirt", "product_url": "http://www.yourdomain.com/products/red-t-shirt"}',
      });
      assert.deepEqual((await send({ method: 'POST', path: '/events/track', body: form })).body, SUCCESS);
      const event = emu.state().events[0];
      assert.deepEqual(event?.identity, { id: '1234', email: 'john@smith.com' });
      assert.deepEqual(event?.data, {
        product_name: 'Red T-shirt',
        product_url: 'http://www.yourdomain.com/products/red-t-shirt',
      });
      assert.deepEqual(user('1234')?.email, 'john@smith.com');
    });

    it("n8n's Vero node (request's form: bracketed identity, data and extras as JSON.stringify text)", async () => {
      // n8n Vero.node.ts: body {identity: {id, email}, event_name, email, data: JSON.stringify(..), extras: JSON.stringify(..)}
      // sent through GenericFunctions' `form: { auth_token, ...body }`.
      const form = new URLSearchParams();
      form.append('auth_token', CANARY);
      form.append('identity[id]', 'n8n-1');
      form.append('identity[email]', 'n8n@example.com');
      form.append('event_name', 'Signed up');
      form.append('email', 'n8n@example.com');
      form.append('data', JSON.stringify({ plan: 'free', seats: 3 }));
      form.append('extras', JSON.stringify({ source: 'n8n', created_at: '2025-06-15T10:30:00Z' }));
      assert.deepEqual((await send({ method: 'POST', path: '/events/track', body: form })).body, SUCCESS);
      const event = emu.state().events[0];
      assert.deepEqual(event?.data, { plan: 'free', seats: 3 });
      assert.deepEqual(event?.extras, { source: 'n8n', created_at: '2025-06-15T10:30:00Z' });
    });

    it('n8n\'s add/remove tags: add=\'["a","b"]\' is two tags, not one literal tag', async () => {
      // n8n Vero.node.ts: body.add = JSON.stringify(tags.split(',')), PUT /users/tags/edit as a form.
      const add = new URLSearchParams({ auth_token: CANARY, id: 'n8n-1', add: JSON.stringify(['a', 'b']) });
      assert.deepEqual((await send({ method: 'PUT', path: '/users/tags/edit', body: add })).body, SUCCESS);
      assert.deepEqual(user('n8n-1')?.tags, ['a', 'b']);
      const remove = new URLSearchParams({ auth_token: CANARY, id: 'n8n-1', remove: JSON.stringify(['a']) });
      assert.deepEqual((await send({ method: 'PUT', path: '/users/tags/edit', body: remove })).body, SUCCESS);
      assert.deepEqual(user('n8n-1')?.tags, ['b']);
      // A plain word is still one tag (Vero's curl form `-d add=vip`).
      await send({
        method: 'PUT',
        path: '/users/tags/edit',
        body: new URLSearchParams({ auth_token: CANARY, id: 'n8n-1', add: 'vip' }),
      });
      assert.deepEqual(user('n8n-1')?.tags, ['b', 'vip']);
    });

    it('JSON bodies with JSON text fields (n8n sending its body as JSON) decode the same way', async () => {
      const r = await send({
        method: 'POST',
        path: '/events/track',
        contentType: 'application/json',
        body: JSON.stringify({
          auth_token: CANARY,
          identity: JSON.stringify({ id: 'j-1' }),
          event_name: 'Opened',
          data: JSON.stringify({ screen: 'home' }),
          extras: JSON.stringify({ source: 'n8n' }),
        }),
      });
      assert.deepEqual(r.body, SUCCESS);
      const event = emu.state().events[0];
      assert.deepEqual(
        [event?.identity, event?.data, event?.extras],
        [{ id: 'j-1' }, { screen: 'home' }, { source: 'n8n' }],
      );
      const tags = await send({
        method: 'PUT',
        path: '/users/tags/edit',
        contentType: 'application/json',
        body: JSON.stringify({ auth_token: CANARY, id: 'j-1', add: '["x","y"]' }),
      });
      assert.deepEqual(tags.body, SUCCESS);
      assert.deepEqual(user('j-1')?.tags, ['x', 'y']);
    });

    it('text that is not JSON where an object belongs: 400 naming the field, nothing stored', async () => {
      const form = new URLSearchParams({
        auth_token: CANARY,
        identity: '{"id": "u1"}',
        event_name: 'E',
        data: 'plan=pro',
      });
      const r = await send({ method: 'POST', path: '/events/track', body: form });
      assert.equal(r.status, 400);
      assert.match(r.body.message, /^data: must be an object; text is read as JSON/);
      const list = await send({
        method: 'PUT',
        path: '/users/tags/edit',
        body: new URLSearchParams({ auth_token: CANARY, id: 'u1', add: '["a",' }),
      });
      assert.equal(list.status, 400);
      assert.match(list.body.message, /^add: text starting with "\[" is read as a JSON list/);
      assert.deepEqual(emu.state().users, []);
      assert.deepEqual(emu.state().events, []);
    });
  });

  describe('multipart/form-data bodies', () => {
    it("Postman collection's form-data body: identify, then an event with JSON text data", async () => {
      // Postman "form-data" body type: multipart/form-data, every field a text part.
      const identify = new FormData();
      identify.append('auth_token', CANARY);
      identify.append('id', 'pm-1');
      identify.append('email', 'pm@example.com');
      identify.append('data', '{"first_name": "Damien", "subscription": "medium"}');
      assert.deepEqual((await send({ method: 'POST', path: '/users/track', body: identify })).body, SUCCESS);
      assert.deepEqual(user('pm-1')?.data, { first_name: 'Damien', subscription: 'medium' });

      const track = new FormData();
      track.append('auth_token', CANARY);
      track.append('identity', '{"id": "pm-1"}');
      track.append('event_name', 'Viewed product');
      track.append('data[product_name]', 'Red T-shirt');
      assert.deepEqual((await send({ method: 'POST', path: '/events/track', body: track })).body, SUCCESS);
      assert.deepEqual(emu.state().events[0]?.data, { product_name: 'Red T-shirt' });
      assert.equal(
        emu.state().requests[0]?.token,
        'token-1',
        'the credential in a part is found and kept out',
      );
      assert.ok(!JSON.stringify(emu.state()).includes(CANARY));
    });

    it('a malformed multipart body is a 400 saying what to check', async () => {
      const r = await send({
        method: 'POST',
        path: '/users/track',
        contentType: 'multipart/form-data; boundary=XyZ',
        body: 'no parts here',
      });
      assert.equal(r.status, 400);
      assert.match(r.body.message, /^Malformed multipart\/form-data body: check the boundary/);
    });
  });

  describe('dedup rules', () => {
    it('unsubscribe, resubscribe, unsubscribe within the window: the third is dropped, the user stays subscribed', async () => {
      // @getvero/tracking's shape: JSON {id}, tracking_api_key in the query string.
      const flip = (path: string) =>
        send({
          method: 'POST',
          path,
          query: { tracking_api_key: CANARY },
          contentType: 'application/json',
          body: JSON.stringify({ id: 'sdk-1' }),
        });
      assert.deepEqual((await flip('/users/unsubscribe')).body, SUCCESS);
      assert.deepEqual((await flip('/users/resubscribe')).body, SUCCESS);
      assert.deepEqual((await flip('/users/unsubscribe')).body, ALREADY);
      assert.equal(user('sdk-1')?.unsubscribed, false);
    });

    it("events: same name, user and data is a duplicate whatever extras.created_at says (Vero's JS SDK stamps every call)", async () => {
      const track = (createdAt: string, identity: Record<string, string>) =>
        call(emu.url, 'POST', '/events/track', {
          identity,
          event_name: 'Viewed product',
          data: { sku: 'P1' },
          extras: { source: 'web', created_at: createdAt },
        });
      assert.deepEqual((await track('2025-06-15T10:00:00.000Z', { id: 'u1' })).body, SUCCESS);
      // The user is the same id; the email added to the identity does not make it another user.
      assert.deepEqual(
        (await track('2025-06-15T10:00:01.000Z', { id: 'u1', email: 'u1@example.com' })).body,
        ALREADY,
      );
      assert.equal(emu.state().events.length, 1);
    });

    it('events without data: check_id tells them apart, and without it name and user decide', async () => {
      const track = (extra: Record<string, unknown>) =>
        call(emu.url, 'POST', '/events/track', { identity: { id: 'u1' }, event_name: 'Ping', ...extra });
      assert.deepEqual((await track({})).body, SUCCESS);
      assert.deepEqual((await track({ data: {} })).body, ALREADY, 'empty data is no data');
      assert.deepEqual((await track({ check_id: 'a' })).body, SUCCESS);
      assert.deepEqual((await track({ check_id: 'a' })).body, ALREADY);
      assert.deepEqual((await track({ check_id: 'b' })).body, SUCCESS);
      assert.deepEqual((await track({ data: { n: 1 } })).body, SUCCESS);
      assert.deepEqual(
        (await track({ data: { n: 1 }, check_id: 'c' })).body,
        ALREADY,
        'with data, check_id plays no part',
      );
    });

    it('a form body and a JSON body saying the same thing are one request', async () => {
      assert.deepEqual(
        (await call(emu.url, 'PUT', '/users/tags/edit', { id: 'u1', add: ['a', 'b'] })).body,
        SUCCESS,
      );
      const form = new URLSearchParams({ auth_token: CANARY, id: 'u1', add: '["a","b"]' });
      assert.deepEqual((await send({ method: 'PUT', path: '/users/tags/edit', body: form })).body, ALREADY);
    });
  });

  describe('methods and paths', () => {
    it('vero-python: PUT /users/reidentify with a JSON body and no Content-Type header', async () => {
      await call(emu.url, 'POST', '/users/track', { id: 'py-1', email: 'py@example.com' });
      // vero-python client.py: requests.request('PUT', url, data=json.dumps(payload)): no Content-Type is sent.
      const body = JSON.stringify({ auth_token: CANARY, id: 'py-1', new_id: 'py-2' });
      const res = await fetch(`${emu.url}/users/reidentify`, {
        method: 'PUT',
        body: new Blob([body]),
      });
      assert.equal(res.status, 200);
      assert.equal(user('py-2')?.email, 'py@example.com');
    });

    it("POST /users/reidentify (Vero's earlier curl reference) is answered like PUT", async () => {
      await call(emu.url, 'POST', '/users/track', { id: '123', email: 'old@example.com' });
      const form = new URLSearchParams({ auth_token: CANARY, id: '123', new_id: '456' });
      assert.deepEqual((await send({ method: 'POST', path: '/users/reidentify', body: form })).body, SUCCESS);
      assert.equal(user('123'), undefined);
      assert.equal(user('456')?.email, 'old@example.com');
    });

    it('DELETE /users/delete is not a documented Vero route: 404 naming POST, and the user stays', async () => {
      await call(emu.url, 'POST', '/users/track', { id: 'py-1' });
      const r = await send({
        method: 'DELETE',
        path: '/users/delete',
        contentType: 'application/json',
        body: JSON.stringify({ auth_token: CANARY, id: 'py-1' }),
      });
      assert.equal(r.status, 404);
      assert.equal(r.body.message, 'Not found: /users/delete takes POST, not DELETE.');
      assert.ok(user('py-1'));
      // The Ruby gem's and @getvero/tracking's POST /users/delete(.json) is the documented one.
      assert.deepEqual((await call(emu.url, 'POST', '/users/delete.json', { id: 'py-1' })).body, SUCCESS);
      assert.equal(user('py-1'), undefined);
    });
  });
});
