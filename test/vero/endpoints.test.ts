import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CLIENT_VERSION,
  VERO_OPERATIONS,
  VeroClient,
  VeroConfigError,
} from '../../src/clients/vero/index.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { CANARY, clientFor, startCanaryEmulator } from './support.js';

let emu: RunningEmulator;

before(async () => {
  emu = await startCanaryEmulator();
});
after(async () => {
  await emu.close();
});
beforeEach(() => emu.reset());

describe('VeroClient endpoints against the emulator', () => {
  it('every endpoint changes emulator state and is logged with the right method and credential', async () => {
    const vero = clientFor(emu);
    const ok = { status: 200, message: 'Success.', duplicate: false };

    assert.deepEqual(
      await vero.identify({ id: 'u1', email: 'ada@example.com', data: { first_name: 'Ada' } }),
      ok,
    );
    let user = emu.state().users.find((u) => u.id === 'u1');
    assert.equal(user?.email, 'ada@example.com');
    assert.deepEqual(user?.data, { first_name: 'Ada' });

    assert.deepEqual(
      await vero.editUser({ id: 'u1', changes: { plan: 'pro', email: 'ada@lovelace.dev' } }),
      ok,
    );
    user = emu.state().users.find((u) => u.id === 'u1');
    assert.equal(user?.email, 'ada@lovelace.dev');
    assert.equal(user?.data.plan, 'pro');

    assert.deepEqual(await vero.editTags({ id: 'u1', add: ['beta', 'vip'] }), ok);
    assert.deepEqual(await vero.editTags({ id: 'u1', remove: ['beta'] }), ok);
    assert.deepEqual(emu.state().users.find((u) => u.id === 'u1')?.tags, ['vip']);

    assert.deepEqual(await vero.unsubscribe({ id: 'u1' }), ok);
    assert.equal(emu.state().users.find((u) => u.id === 'u1')?.unsubscribed, true);
    assert.deepEqual(await vero.resubscribe({ id: 'u1' }), ok);
    assert.equal(emu.state().users.find((u) => u.id === 'u1')?.unsubscribed, false);

    const createdAt = '2024-05-01T10:00:00.000Z';
    assert.deepEqual(
      await vero.trackEvent({
        identity: { id: 'u1' },
        eventName: 'Signed Up',
        data: { plan: 'pro' },
        extras: { source: 'tests', createdAt },
      }),
      ok,
    );
    const [event] = emu.state().events;
    assert.deepEqual(event?.identity, { id: 'u1' });
    assert.equal(event?.event_name, 'Signed Up');
    assert.deepEqual(event?.data, { plan: 'pro' });
    assert.deepEqual(event?.extras, { source: 'tests', created_at: createdAt });

    assert.deepEqual(await vero.reidentify({ id: 'u1', newId: 'u2' }), ok);
    assert.deepEqual(
      emu.state().users.map((u) => u.id),
      ['u2'],
    );

    assert.deepEqual(await vero.deleteUser({ id: 'u2' }), ok);
    assert.deepEqual(emu.state().users, []);

    const log = emu.state().requests.map((r) => [r.method, r.endpoint, r.status, r.token]);
    assert.deepEqual(log, [
      ['POST', '/users/track', 200, 'main'],
      ['PUT', '/users/edit', 200, 'main'],
      ['PUT', '/users/tags/edit', 200, 'main'],
      ['PUT', '/users/tags/edit', 200, 'main'],
      ['POST', '/users/unsubscribe', 200, 'main'],
      ['POST', '/users/resubscribe', 200, 'main'],
      ['POST', '/events/track', 200, 'main'],
      ['PUT', '/users/reidentify', 200, 'main'],
      ['POST', '/users/delete', 200, 'main'],
    ]);
  });

  it('an email-only event creates the user with the email as id', async () => {
    await clientFor(emu).trackEvent({ identity: { email: 'bob@example.com' }, eventName: 'viewed_pricing' });
    assert.deepEqual(
      emu.state().users.map((u) => [u.id, u.email]),
      [['bob@example.com', 'bob@example.com']],
    );
  });

  it('marks a repeated identical identify as duplicate', async () => {
    const vero = clientFor(emu);
    const input = { id: 'dup-1', email: 'dup@example.com', data: { n: 1 } };
    const first = await vero.identify(input);
    const second = await vero.identify(input);
    assert.deepEqual(first, { status: 200, message: 'Success.', duplicate: false });
    assert.deepEqual(second, { status: 200, message: 'Request already received.', duplicate: true });
  });

  it('sends a tracking API key as tracking_api_key and tolerates a trailing slash on baseUrl', async () => {
    const vero = new VeroClient({ trackingApiKey: CANARY, baseUrl: `${emu.url}/` });
    assert.equal(vero.credentialParam, 'tracking_api_key');
    await vero.identify({ id: 'k1' });
    const [req] = emu.state().requests;
    assert.equal(req?.path, '/api/v2/users/track');
    assert.equal(req?.token, 'main');
  });

  it('heartbeat reports ok without sending a credential', async () => {
    const beat = await clientFor(emu).heartbeat();
    assert.equal(beat.ok, true);
    assert.equal(beat.status, 200);
    assert.equal(typeof beat.latencyMs, 'number');
    const [req] = emu.state().requests;
    assert.equal(req?.endpoint, '/heartbeat');
    assert.equal(req?.method, 'GET');
    assert.equal(req?.token, null);
  });

  it('prepare returns the exact request with the credential redacted and sends nothing', () => {
    const vero = clientFor(emu);
    const prepared = vero.prepare('trackEvent', {
      identity: { id: 'u1', email: 'ada@example.com' },
      eventName: 'Bought',
      data: { sku: 'A1' },
      extras: { source: 'shop' },
    });
    assert.deepEqual(prepared, {
      operation: 'trackEvent',
      method: 'POST',
      path: '/events/track',
      url: `${emu.url}/events/track`,
      body: {
        auth_token: '[redacted]',
        identity: { id: 'u1', email: 'ada@example.com' },
        event_name: 'Bought',
        data: { sku: 'A1' },
        extras: { source: 'shop' },
      },
    });
    assert.deepEqual(vero.prepare('reidentify', { id: 'a', newId: 'b' }).body, {
      auth_token: '[redacted]',
      id: 'a',
      new_id: 'b',
    });
    assert.deepEqual(vero.prepare('editTags', { id: 'a', add: ['x'] }).body, {
      auth_token: '[redacted]',
      id: 'a',
      add: ['x'],
      remove: [],
    });
    assert.deepEqual(vero.prepare('heartbeat'), {
      operation: 'heartbeat',
      method: 'GET',
      path: '/heartbeat',
      url: `${emu.url}/heartbeat`,
      body: undefined,
    });
    assert.throws(() => vero.prepare('nope' as 'heartbeat'), /unknown operation "nope"/);
    assert.deepEqual(emu.state().requests, []);
  });

  it('exports the operation map', () => {
    assert.deepEqual(VERO_OPERATIONS.editTags, { method: 'PUT', path: '/users/tags/edit' });
    assert.equal(Object.keys(VERO_OPERATIONS).length, 9);
  });

  it('rejects bad options with VeroConfigError', () => {
    const cases: Array<[ConstructorParameters<typeof VeroClient>[0], RegExp]> = [
      [{}, /a credential is required: set authToken .* or trackingApiKey/],
      [{ authToken: '' }, /a credential is required/],
      [{ authToken: 'a', trackingApiKey: 'b' }, /exactly one credential/],
      [{ authToken: 'a', baseUrl: 'not a url' }, /baseUrl is not a URL/],
      [{ authToken: 'a', baseUrl: 'ftp://x.example' }, /baseUrl must be http\(s\)/],
      [{ authToken: 'a', timeoutMs: 0 }, /timeoutMs must be a positive number/],
      [{ authToken: 'a', retry: { attempts: 0 } }, /retry.attempts must be an integer >= 1/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => new VeroClient(options),
        (err: unknown) =>
          err instanceof VeroConfigError && err.code === 'vero_config' && message.test(err.message),
      );
    }
  });
});

describe('VeroClient on the wire', () => {
  /** A TCP proxy in front of the emulator: counts connections and keeps the raw request bytes. */
  async function startProxy() {
    const target = new URL(emu.origin);
    const sockets = new Set<Socket>();
    const chunks: Buffer[] = [];
    let connections = 0;
    const server = createServer((client) => {
      connections++;
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    return {
      url: `http://127.0.0.1:${address.port}/api/v2`,
      connections: () => connections,
      raw: () => Buffer.concat(chunks).toString('utf8'),
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  it('reuses one keep-alive connection, keeps the credential out of the URL and sends the user agent', async () => {
    const proxy = await startProxy();
    try {
      // The default transport (no fetch option): node:http with a keep-alive agent shared by all clients.
      const vero = new VeroClient({ authToken: CANARY, baseUrl: proxy.url });
      for (let i = 0; i < 9; i++) await vero.identify({ id: `ka-${i}` });
      await new VeroClient({ authToken: CANARY, baseUrl: proxy.url }).identify({ id: 'ka-other-client' });
      assert.equal(proxy.connections(), 1, `${proxy.connections()} connections for 10 sequential requests`);
      const raw = proxy.raw();
      // Bodies have no trailing CRLF, so request lines are found by pattern rather than by splitting.
      const requestLines = raw.match(/(GET|POST|PUT) \S+ HTTP\/1\.1/g) ?? [];
      assert.equal(requestLines.length, 10);
      for (const line of requestLines) assert.ok(!line.includes(CANARY), line);
      assert.match(
        raw,
        new RegExp(`user-agent: kosmo-vero/${CLIENT_VERSION.replace(/\./g, '\\.')}\\r\\n`, 'i'),
      );
      assert.match(raw, /content-type: application\/json/i);
      assert.ok(raw.includes(`"auth_token":"${CANARY}"`), 'credential travels in the JSON body');
      assert.equal(emu.state().requests.length, 10);
    } finally {
      await proxy.close();
    }
  });
});
