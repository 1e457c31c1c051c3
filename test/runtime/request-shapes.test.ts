/**
 * The project's own client kept honest: every function's exact HTTP request, captured by a plain node:http server on
 * 127.0.0.1, compared with the shape Vero's reference documents: method, path, where the credential goes, the field
 * names, and `extras.created_at` on events.
 *
 * Documented shapes: help.getvero.com/api-reference (Track API v2: POST users/track, PUT users/reidentify ("Alias"),
 * POST users/unsubscribe, POST users/resubscribe, POST users/delete, PUT users/tags/edit, POST events/track with
 * identity{id,email}, event_name, data, extras{source, created_at}); PUT users/edit with id and changes is from the
 * Ruby gem and vero-php. The credential is the `auth_token` parameter, in the JSON body as the older reference, the
 * recorded live fixtures and RudderStack send it (today's reference also accepts it in the query string): never a
 * header, never the URL.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { CANARY } from '../support/canary.js';

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

const CALLED_AT = '2025-06-15T10:30:00.000Z';

/** function -> the documented request: method, path, and the exact body (credential included, as Vero reads it). */
const DOCUMENTED: Array<{
  fn: string;
  args: Record<string, unknown>;
  method: string;
  path: string;
  body: Record<string, unknown>;
}> = [
  {
    fn: 'identify_user',
    args: { id: 'usr_1', email: 'jane@example.com', name: 'Jane', data: { plan: 'free' } },
    method: 'POST',
    path: '/users/track',
    body: {
      auth_token: CANARY,
      id: 'usr_1',
      email: 'jane@example.com',
      data: { plan: 'free', name: 'Jane' },
    },
  },
  {
    fn: 'track_event',
    args: { identity: 'usr_1', event_name: 'Purchased', data: { price: 29.99 } },
    method: 'POST',
    path: '/events/track',
    body: {
      auth_token: CANARY,
      identity: { id: 'usr_1' },
      event_name: 'Purchased',
      data: { price: 29.99 },
      extras: { created_at: CALLED_AT },
    },
  },
  {
    fn: 'track_event',
    args: { identity: 'jane@example.com', event_name: 'Logged in' },
    method: 'POST',
    path: '/events/track',
    body: {
      auth_token: CANARY,
      identity: { email: 'jane@example.com' },
      event_name: 'Logged in',
      data: {},
      extras: { created_at: CALLED_AT },
    },
  },
  {
    fn: 'update_user',
    args: { id: 'usr_1', email: 'new@example.com', data: { plan: 'pro' } },
    method: 'PUT',
    path: '/users/edit',
    body: { auth_token: CANARY, id: 'usr_1', changes: { plan: 'pro', email: 'new@example.com' } },
  },
  {
    fn: 'unsubscribe',
    args: { id: 'usr_1' },
    method: 'POST',
    path: '/users/unsubscribe',
    body: { auth_token: CANARY, id: 'usr_1' },
  },
  {
    fn: 'resubscribe',
    args: { id: 'usr_1' },
    method: 'POST',
    path: '/users/resubscribe',
    body: { auth_token: CANARY, id: 'usr_1' },
  },
  {
    fn: 'alias_user',
    args: { id: 'usr_1', new_id: 'usr_2' },
    method: 'PUT',
    path: '/users/reidentify',
    body: { auth_token: CANARY, id: 'usr_1', new_id: 'usr_2' },
  },
  {
    fn: 'delete_user',
    args: { id: 'usr_2' },
    method: 'POST',
    path: '/users/delete',
    body: { auth_token: CANARY, id: 'usr_2' },
  },
  {
    fn: 'add_tags',
    args: { id: 'usr_1', tags: ['beta'] },
    method: 'PUT',
    path: '/users/tags/edit',
    body: { auth_token: CANARY, id: 'usr_1', add: ['beta'], remove: [] },
  },
  {
    fn: 'remove_tags',
    args: { id: 'usr_1', tags: ['beta'] },
    method: 'PUT',
    path: '/users/tags/edit',
    body: { auth_token: CANARY, id: 'usr_1', add: [], remove: ['beta'] },
  },
];

describe("the client's requests match Vero's documented shapes", () => {
  let server: Server;
  let runtime: Runtime;
  const captured: Captured[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        captured.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":200,"message":"Success."}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    runtime = createRuntime({
      env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: `http://127.0.0.1:${port}/api/v2` },
      now: () => new Date(CALLED_AT),
    });
  });
  after(async () => {
    await runtime.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    captured.length = 0;
  });

  for (const shape of DOCUMENTED) {
    test(`${shape.fn}(${JSON.stringify(shape.args)}) -> ${shape.method} ${shape.path}`, async () => {
      const result = await runtime.call(`vero.${shape.fn}`, shape.args);
      assert.equal(result.status, 'sent');
      assert.equal(captured.length, 1);
      const [request] = captured as [Captured];
      assert.equal(request.method, shape.method);
      assert.equal(request.url, `/api/v2${shape.path}`, 'the path, and no credential in the query string');
      assert.match(request.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(request.body, shape.body);
      const headers = JSON.stringify(request.headers);
      assert.ok(!headers.includes(CANARY), 'the credential is not in a header');
      assert.equal(request.headers.authorization, undefined);
    });
  }

  test('every function that writes is covered above', () => {
    const writes = runtime
      .functions()
      .filter((fn) => fn.operation === 'write')
      .map((fn) => fn.name);
    assert.deepEqual([...new Set(DOCUMENTED.map((shape) => shape.fn))].sort(), writes.sort());
  });
});
