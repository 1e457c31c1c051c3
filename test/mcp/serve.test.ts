/**
 * `kosmo-vero serve` as a client on the network sees it: the built CLI in its own process, the SDK's own Streamable
 * HTTP client, a real emulator (or a gate standing in for Vero), real outbox files.
 */
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { type AddressInfo, connect as connectSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createRuntime, toolDefinitions } from '../../src/index.js';
import { launchCli, runCli } from '../cli/support.js';
import { CANARY } from '../support/canary.js';
import { until } from '../support/clock.js';
import { connectHttp as connect, errorOf } from './support.js';

// Client tokens are secrets as much as the Vero credential: none may appear in any output.
const FULL_TOKEN = 'serve-full-CANARY-4e1f0a9b7c';
const READER_TOKEN = 'serve-reader-CANARY-93d2b8e1';
const SECRETS = [CANARY, FULL_TOKEN, READER_TOKEN];

const tempDir = () => mkdtempSync(join(tmpdir(), 'kosmo-vero-serve-'));

/** A `kosmo-vero serve --port 0` process; `url` is the first stdout line. */
interface Served {
  url: string;
  child: ChildProcessWithoutNullStreams;
  output(): string;
  exited: Promise<number | null>;
}

async function startServe(env: Record<string, string>, flags: string[] = []): Promise<Served> {
  const launched = launchCli(['serve', '--port', '0', ...flags], { env });
  const url = await launched.waitForLine(() => true);
  return {
    url,
    child: launched.proc,
    output: () => `${launched.stdout()}\n${launched.stderr()}`,
    exited: launched.exited.then(({ code }) => code),
  };
}

async function stopServe(served: Served): Promise<number | null> {
  served.child.kill('SIGTERM');
  return served.exited;
}

const call = async (client: Client, name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as CallToolResult;

const structured = (result: CallToolResult) => result.structuredContent as Record<string, unknown>;

/** A raw POST to /mcp, as a hostile or broken client would send it. */
function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body,
  });
}

const toolCall = (id: number, name: string, args: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

describe('kosmo-vero serve', () => {
  let emulator: RunningEmulator;
  let served: Served;
  let full: Client;
  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    const config = join(tempDir(), 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ serve: { tokens: [{ token: READER_TOKEN, label: 'reader', policy: 'read-only' }] } }),
    );
    served = await startServe(
      { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_SERVE_TOKENS: FULL_TOKEN },
      ['--config', config],
    );
    full = await connect(served.url, FULL_TOKEN);
  });
  after(async () => {
    await full.close();
    if (served) assert.equal(await stopServe(served), 0);
    await emulator.close();
  });

  it('prints its base URL on 127.0.0.1 and answers GET /healthz without a token, saying nothing else', async () => {
    assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${served.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('lists the same tools as `kosmo-vero mcp`', async () => {
    const { tools } = await full.listTools();
    const expected = toolDefinitions(createRuntime({ env: {} }));
    assert.deepEqual(
      tools.map((tool) => tool.name),
      expected.map((tool) => tool.name),
    );
    const definitions = new Map(expected.map((tool) => [tool.name, tool]));
    for (const tool of tools) {
      // The SDK adds the dialect it emits; the rest is our schema, unchanged.
      const { $schema: _dialect, ...inputSchema } = tool.inputSchema;
      assert.deepEqual(inputSchema, definitions.get(tool.name)?.parameters, tool.name);
    }
  });

  it('execute_lua with a write reaches the emulator', async () => {
    const result = await call(full, 'execute_lua', {
      code: 'return app.integrations.vero.track_event({ identity = "served_1", event_name = "Served" })',
    });
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.equal((structured(result).result as { status: string }).status, 'sent');
    const events = emulator.state().events.filter((event) => event.identity.id === 'served_1');
    assert.deepEqual(
      events.map((event) => event.event_name),
      ['Served'],
    );
  });

  it('no token, or a wrong one, is 401 with WWW-Authenticate; nothing runs', async () => {
    const before = emulator.state().requests.length;
    const body = toolCall(1, 'vero_track_event', { identity: 'nobody', event_name: 'Refused' });
    const missing = await post(served.url, body);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="kosmo-vero"');
    assert.match(
      ((await missing.json()) as { error: { message: string } }).error.message,
      /Authorization: Bearer/,
    );
    for (const header of [
      `Bearer ${FULL_TOKEN}x`,
      `Bearer ${FULL_TOKEN.slice(0, -1)}`,
      `Basic ${FULL_TOKEN}`,
    ]) {
      const wrong = await post(served.url, body, { authorization: header });
      assert.equal(wrong.status, 401, header);
      assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer realm="kosmo-vero"/);
    }
    await assert.rejects(connect(served.url, 'not-a-token-of-this-server'), /401|Unauthorized/);
    assert.equal(emulator.state().requests.length, before);
  });

  it('a read-only token reads but every write is a tool error saying why; nothing is sent', async () => {
    const reader = await connect(served.url, READER_TOKEN);
    try {
      const before = emulator.state().requests.length;
      const direct = await call(reader, 'vero_track_event', { identity: 'reader_1', event_name: 'Nope' });
      assert.equal(direct.isError, true);
      assert.equal(errorOf(direct).code, 'permission_denied');
      assert.match(errorOf(direct).message, /the client token "reader" is read-only/);
      const script = await call(reader, 'execute_lua', {
        code: 'return app.integrations.vero.identify_user({ id = "reader_2", email = "r2@example.com" })',
      });
      assert.equal(script.isError, true);
      assert.match(JSON.stringify(structured(script).error), /permission_denied/);
      assert.equal(emulator.state().requests.length, before);
      const read = await call(reader, 'lua_read_doc', { page: 'integrations' });
      assert.equal(read.isError, undefined);
      // The same server still writes for a full token.
      const write = await call(full, 'vero_track_event', { identity: 'full_1', event_name: 'Yes' });
      assert.equal(structured(write).status, 'sent');
    } finally {
      await reader.close();
    }
  });

  it('malformed bodies get JSON-RPC errors and the server keeps serving', async () => {
    const auth = { authorization: `Bearer ${FULL_TOKEN}` };
    const notJson = await post(served.url, 'this is not json', auth);
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { error: { code: number } }).error.code, -32700);
    const badParams = await post(
      served.url,
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}',
      auth,
    );
    assert.equal(badParams.status, 400);
    const get = await fetch(`${served.url}/mcp`, { headers: { ...auth, accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    const elsewhere = await fetch(`${served.url}/other`, { headers: auth });
    assert.equal(elsewhere.status, 404);
    // A tool name of a million characters is an unknown tool, and the log line keeps only its start.
    const named = await call(full, 'x'.repeat(1_000_000), {});
    assert.equal(errorOf(named).code, 'unknown_tool');
    assert.ok(errorOf(named).message.length < 2000, 'the name is not echoed whole');
    await until(
      () => /tool "x{40}…" \(1000000 characters\): error unknown_tool/.test(served.output()),
      'the unknown tool logged, cut',
    );
    assert.ok(!served.output().includes('x'.repeat(1000)));
    assert.deepEqual((await full.listTools()).tools.length > 0, true);
  });

  it('arguments of 8 MB or 20 000 levels deep are tool errors naming the bound; a body over 10 MiB is 413; nothing is sent', async () => {
    const before = emulator.state().requests.length;
    const auth = { authorization: `Bearer ${FULL_TOKEN}` };
    const big = await call(full, 'vero_track_event', {
      identity: 'big',
      event_name: 'e',
      data: { blob: 'x'.repeat(8 * 1024 * 1024) },
    });
    assert.equal(errorOf(big).code, 'invalid_arguments');
    assert.match(
      errorOf(big).message,
      /arguments are too large as JSON \(\d+ bytes\), above the limit of 1048576/,
    );
    const deep = `{"identity":"deep","event_name":"e","data":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`;
    const nested = await post(
      served.url,
      `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"vero_track_event","arguments":${deep}}}`,
      auth,
    );
    assert.equal(nested.status, 200);
    assert.match(await nested.text(), /vero\.track_event: arguments are nested more than 200 levels deep/);
    const huge = await post(
      served.url,
      toolCall(2, 'lua_search_docs', { query: 'a'.repeat(11 * 1024 * 1024) }),
      auth,
    );
    assert.equal(huge.status, 413);
    assert.match(((await huge.json()) as { error: { message: string } }).error.message, /10485760 bytes/);
    assert.equal(emulator.state().requests.length, before);
    assert.equal((await fetch(`${served.url}/healthz`)).status, 200);
  });

  it('logs each call with its client’s label, never a token or the Vero credential', async () => {
    await call(full, 'lua_list_docs', {});
    // stderr reaches this process on its own schedule: wait for each line rather than race the HTTP answer.
    for (const line of [
      /env-1: tool lua_list_docs: ok/,
      /reader: tool vero_track_event: error permission_denied/,
      /refused a request from 127\.0\.0\.1: invalid bearer token/,
    ]) {
      await until(() => line.test(served.output()), `the log line ${line}`);
    }
    const output = served.output();
    for (const secret of SECRETS) assert.ok(!output.includes(secret), 'a secret in the output');
  });
});

describe('kosmo-vero serve refuses to start without usable client tokens', () => {
  const refused: Array<[string, Record<string, string>, RegExp]> = [
    ['no token at all', {}, /^kosmo-vero: no client tokens: set KOSMO_VERO_SERVE_TOKENS/],
    [
      'a short token, named by its label',
      { KOSMO_VERO_SERVE_TOKENS: `${FULL_TOKEN},CANARY-short` },
      /^kosmo-vero: client token "env-2" is shorter than 16 characters/,
    ],
    [
      'a read-only token that is also a full one',
      { KOSMO_VERO_SERVE_TOKENS: FULL_TOKEN, KOSMO_VERO_SERVE_READ_ONLY_TOKENS: FULL_TOKEN },
      /^kosmo-vero: client token "read-only-1" is the same as an earlier one/,
    ],
  ];
  for (const [what, env, message] of refused) {
    it(`${what}: exit 2 with what to do, no token shown, nothing listening`, async () => {
      const { code, stdout, stderr } = await runCli(['serve', '--port', '0'], {
        env: { VERO_AUTH_TOKEN: CANARY, ...env },
      });
      assert.equal(code, 2);
      assert.equal(stdout, '', 'no URL printed');
      assert.match(stderr, message);
      assert.ok(!/CANARY/.test(stderr), 'a token in the message');
    });
  }
});

describe('kosmo-vero serve replicas', () => {
  it('two serve processes on one outbox both take writes, and each write is delivered once', async () => {
    const emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    const outbox = join(tempDir(), 'outbox.db');
    const env = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_SERVE_TOKENS: FULL_TOKEN };
    const flags = ['--delivery', 'queued', '--outbox', outbox, '--quiet'];
    const replicas = [await startServe(env, flags), await startServe(env, flags)];
    try {
      for (const [index, replica] of replicas.entries()) {
        const client = await connect(replica.url, FULL_TOKEN);
        const result = await call(client, 'vero_track_event', {
          identity: `replica_${index}`,
          event_name: 'Queued',
        });
        assert.equal(structured(result).status, 'queued', JSON.stringify(result));
        await client.close();
      }
      await until(() => emulator.state().events.length === 2, 'both queued writes delivered');
      assert.deepEqual(
        emulator
          .state()
          .events.map((event) => event.identity.id)
          .sort(),
        ['replica_0', 'replica_1'],
      );
    } finally {
      for (const replica of replicas) assert.equal(await stopServe(replica), 0);
      await emulator.close();
    }
  });
});

/** A stand-in for Vero that holds every request until the test lets it go. */
async function startGate() {
  const held: ServerResponse[] = [];
  const gate = createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(gate.address() as AddressInfo).port}/api/v2`,
    held,
    release() {
      for (const res of held.splice(0)) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":200,"message":"Success."}');
      }
    },
    close: async () => {
      gate.closeAllConnections();
      await new Promise((resolve) => gate.close(resolve));
    },
  };
}

/** The raw request line, headers and body of a POST to /mcp with the full token. */
const rawPost = (body: string) =>
  `POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${FULL_TOKEN}\r\nContent-Type: application/json\r\n` +
  `Accept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('kosmo-vero serve with a call in flight', () => {
  let gate: Awaited<ReturnType<typeof startGate>>;
  let served: Served;
  beforeEach(async () => {
    gate = await startGate();
    served = await startServe({
      VERO_AUTH_TOKEN: CANARY,
      VERO_BASE_URL: gate.url,
      KOSMO_VERO_SERVE_TOKENS: FULL_TOKEN,
    });
  });
  afterEach(async () => {
    served.child.kill('SIGKILL');
    await gate.close();
  });

  it('a client that goes away does not stop its call: the write completes and the server keeps serving', async () => {
    const socket = connectSocket(Number(new URL(served.url).port), '127.0.0.1');
    socket.write(rawPost(toolCall(1, 'vero_track_event', { identity: 'gone_1', event_name: 'Gone' })));
    await until(() => gate.held.length === 1, 'the write reaching Vero');
    socket.destroy();
    gate.release();
    await until(() => /tool vero_track_event: ok/.test(served.output()), 'the call finishing');
    const client = await connect(served.url, FULL_TOKEN);
    const read = await call(client, 'lua_list_docs', {});
    assert.equal(read.isError, undefined);
    await client.close();
    assert.equal(served.child.exitCode, null);
    assert.equal(await stopServe(served), 0);
  });

  it('a second SIGTERM does not wait for the call in flight', async () => {
    const exit = new Promise<NodeJS.Signals | null>((resolve) =>
      served.child.once('exit', (_, signal) => resolve(signal)),
    );
    const socket = connectSocket(Number(new URL(served.url).port), '127.0.0.1');
    socket.on('error', () => {}); // reset when the process ends
    socket.write(rawPost(toolCall(1, 'vero_track_event', { identity: 'stuck_1', event_name: 'Stuck' })));
    await until(() => gate.held.length === 1, 'the write reaching Vero');
    served.child.kill('SIGTERM');
    await until(() => /finishing \d+ request/.test(served.output()), 'serve finishing what is in flight');
    served.child.kill('SIGTERM');
    assert.equal(await exit, 'SIGTERM');
    assert.equal(gate.held.length, 1, 'the call was still waiting for Vero');
    socket.destroy();
  });

  it('SIGTERM stops accepting, finishes the calls in flight, then exits 0', async () => {
    const client = await connect(served.url, FULL_TOKEN);
    const inFlight = call(client, 'vero_track_event', { identity: 'late_1', event_name: 'Late' });
    // A second connection carries a call; while it is in flight, that connection stays open.
    const second = connectSocket(Number(new URL(served.url).port), '127.0.0.1');
    let answers = '';
    second.on('data', (chunk: Buffer) => {
      answers += chunk.toString('utf8');
    });
    const closed = new Promise((resolve) => second.once('close', resolve));
    second.write(rawPost(toolCall(7, 'vero_track_event', { identity: 'late_2', event_name: 'Late' })));
    await until(() => gate.held.length === 2, 'both writes reaching Vero');
    served.child.kill('SIGTERM');
    await until(() => /finishing \d+ request/.test(served.output()), 'serve finishing what is in flight');
    // No new connection is accepted once it is stopping...
    await assert.rejects(fetch(`${served.url}/healthz`));
    // ...and requests sent now on the open one are refused, answered after the call in flight.
    second.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${rawPost(toolCall(8, 'lua_list_docs', {}))}`);
    await until(
      () => /refused a request from \S+: stopping/.test(served.output()),
      'the late request refused',
    );
    gate.release();
    const result = await inFlight;
    assert.equal(structured(result).status, 'sent', JSON.stringify(result));
    assert.equal(await served.exited, 0);
    assert.match(served.output(), /stopping: SIGTERM[\s\S]*stopped/);
    await closed;
    const statuses = [...answers.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((match) => match[1]);
    assert.deepEqual(statuses, ['200', '503', '503'], answers);
    assert.match(answers, /\\"status\\": \\"sent\\"/);
    assert.match(answers, /\{"status":"stopping"\}/);
    assert.match(answers, /shutting down; send the request again/);
    await client.close();
  });
});
