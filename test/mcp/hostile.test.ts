/**
 * A hostile or broken MCP client, speaking raw JSON-RPC lines to `kosmo-vero mcp`: every line gets an answer, the
 * server keeps serving, and huge inputs are refused without holding up the server (a `ping` still answers).
 */
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { BIN, runCli } from '../cli/support.js';
import { CANARY } from '../support/canary.js';
import { launch } from '../support/process.js';

interface Answer {
  id: string | number | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** `kosmo-vero mcp` driven line by line; answers are collected in arrival order. */
class RawClient {
  readonly answers: Answer[] = [];
  private waiters: Array<() => void> = [];
  private readonly child: ChildProcessWithoutNullStreams;
  exitCode: number | null = null;

  constructor(env: Record<string, string>) {
    // stdin errors (EPIPE once the server is gone) are ignored by launch: the missing answer fails the test.
    this.child = launch(process.execPath, [BIN, 'mcp', '--quiet'], { env, keepStdin: true }).proc;
    this.child.on('exit', (code) => {
      this.exitCode = code;
      for (const wake of this.waiters) wake();
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.answers.push(JSON.parse(line) as Answer);
      for (const wake of this.waiters) wake();
    });
  }

  send(message: unknown): void {
    this.child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  }

  /** Writes `size` bytes of one line in pieces, as a client streaming a big message would. */
  async sendHuge(prefix: string, size: number, suffix: string): Promise<void> {
    const piece = 'a'.repeat(1024 * 1024);
    const write = (text: string) =>
      new Promise<void>((resolve) => {
        // A server that died mid-line never drains: stop writing then, so the test fails on the missing answer.
        if (this.exitCode !== null || this.child.stdin.write(text)) return resolve();
        // Whichever comes first; the other listener goes too (a huge message would pile up exit listeners).
        const done = () => {
          this.child.stdin.off('drain', done);
          this.child.off('exit', done);
          resolve();
        };
        this.child.stdin.once('drain', done);
        this.child.once('exit', done);
      });
    await write(prefix);
    for (let sent = 0; sent < size; sent += piece.length) await write(piece);
    await write(`${suffix}\n`);
  }

  /** The answer with this id (null: the n-th answer with a null id). */
  async answer(id: string | number | null, nth = 1): Promise<Answer> {
    for (;;) {
      const found = this.answers.filter((a) => a.id === id)[nth - 1];
      if (found) return found;
      if (this.exitCode !== null) throw new Error(`server exited (${this.exitCode}) before answering ${id}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.waiters = [];
    }
  }

  async initialize(): Promise<void> {
    this.send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await this.answer('init');
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  /** A ping, answered. */
  async ping(id: string): Promise<void> {
    this.send({ jsonrpc: '2.0', id, method: 'ping' });
    const answer = await this.answer(id);
    assert.deepEqual(answer.result, {});
  }

  close(): Promise<void> {
    if (this.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

const toolCall = (id: string, name: string, args: unknown) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** The answer to `id` is a tool error `invalid_arguments` whose message matches; returns the message. */
async function assertInvalidArguments(client: RawClient, id: string, message: RegExp): Promise<string> {
  const result = (await client.answer(id)).result as {
    isError?: boolean;
    structuredContent?: { error: { code: string; message: string } };
  };
  assert.equal(result.isError, true, id);
  assert.equal(result.structuredContent?.error.code, 'invalid_arguments');
  assert.match(result.structuredContent?.error.message ?? '', message);
  return result.structuredContent?.error.message ?? '';
}

describe('kosmo-vero mcp against a hostile client', () => {
  let emulator: RunningEmulator;
  let client: RawClient;
  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    client = new RawClient({
      PATH: process.env.PATH ?? '',
      VERO_AUTH_TOKEN: CANARY,
      VERO_BASE_URL: emulator.url,
    });
    await client.initialize();
  });
  after(async () => {
    await client.close();
    await emulator.close();
  });

  it('a line over 10 MiB gets an Invalid Request answer and the server keeps serving', async () => {
    const before = client.answers.filter((a) => a.id === null).length;
    await client.sendHuge(
      '{"jsonrpc":"2.0","id":"huge","method":"tools/call","params":{"name":"lua_search_docs","arguments":{"query":"',
      11 * 1024 * 1024,
      '"}}}',
    );
    const refused = await client.answer(null, before + 1);
    assert.equal(refused.error?.code, -32600);
    assert.match(refused.error?.message ?? '', /over 10485760 bytes was dropped/);
    await client.ping('after-huge');
    assert.equal(client.exitCode, null);
  });

  it('malformed messages each get a JSON-RPC error, with their id when they have one', async () => {
    client.send({ jsonrpc: '2.0', id: 'p-string', method: 'tools/call', params: 'x' });
    client.send({ jsonrpc: '2.0', id: 'p-array', method: 'tools/call', params: [1, 2] });
    client.send({ jsonrpc: '2.0', id: 'p-null', method: 'tools/call', params: null });
    client.send({ jsonrpc: '2.0', id: 'no-method' });
    const nulls = client.answers.filter((a) => a.id === null).length;
    client.send('this is not json');
    for (const id of ['p-string', 'p-array', 'p-null']) {
      const answer = await client.answer(id);
      assert.equal(answer.error?.code, -32602, id);
      assert.match(answer.error?.message ?? '', /"tools\/call" takes params as a JSON object/);
    }
    assert.equal((await client.answer('no-method')).error?.code, -32600);
    assert.equal((await client.answer(null, nulls + 1)).error?.code, -32700);
    // Valid JSON-RPC whose tool arguments are not an object: the SDK answers it.
    client.send({
      jsonrpc: '2.0',
      id: 'args-string',
      method: 'tools/call',
      params: { name: 'lua_read_doc', arguments: 'x' },
    });
    assert.ok((await client.answer('args-string')).error ?? (await client.answer('args-string')).result);
    await client.ping('after-malformed');
  });

  it('function arguments of 8 MB or 20 000 levels deep are tool errors naming the bound; nothing is sent', async () => {
    client.send(
      toolCall('big', 'vero_track_event', {
        identity: 'mcp_big',
        event_name: 'e',
        data: { blob: 'x'.repeat(8 * 1024 * 1024) },
      }),
    );
    const deep = `{"identity":"mcp_deep","event_name":"e","data":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`;
    client.send(
      `{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"vero_track_event","arguments":${deep}}}`,
    );
    const expected: Array<[string, RegExp]> = [
      [
        'big',
        /^vero\.track_event: arguments are too large as JSON \(\d+ bytes\), above the limit of 1048576 bytes/,
      ],
      ['deep', /^vero\.track_event: arguments are nested more than 200 levels deep/],
    ];
    for (const [id, message] of expected) await assertInvalidArguments(client, id, message);
    assert.deepEqual(emulator.state().requests, []);
    await client.ping('after-arguments');
  });

  it('a 9 MB docs query or account name is a tool error naming the bound, and a ping still answers', async () => {
    const huge = 'ab '.repeat(3_000_000);
    client.send(toolCall('search', 'lua_search_docs', { query: huge }));
    client.send(toolCall('read', 'lua_read_doc', { page: huge }));
    client.send(toolCall('lua', 'execute_lua', { code: 'return 1', account: huge }));
    await client.ping('during-huge');
    const expected: Array<[string, RegExp]> = [
      ['search', /lua_search_docs: query: must be at most 200 characters \(got 9000000\)/],
      ['read', /lua_read_doc: page: must be at most 200 characters \(got 9000000\)/],
      ['lua', /execute_lua: account: must be at most 200 characters \(got 9000000\)/],
    ];
    for (const [id, message] of expected) {
      const error = await assertInvalidArguments(client, id, message);
      assert.ok(error.length < 500, 'the input is not echoed');
    }
    assert.equal(client.exitCode, null);
  });
});

describe('kosmo-vero mcp, protocol misuse (the built binary)', () => {
  it('a malformed line or a bad request gets an error or is logged; the server keeps answering, and answers everything before stdin closed', async () => {
    const lines = [
      'this is not json',
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}',
      '{"jsonrpc":"2.0","method":"notifications/initialized"}',
      '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"vero_identify_user","arguments":"not an object"}}',
      '{"jsonrpc":"2.0","id":3,"method":"no/such/method"}',
      '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"lua_read_doc","arguments":{"page":"integrations"}}}',
      // Still running when stdin closes: it must be answered before the server stops.
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"execute_lua","arguments":{"code":"return 1 + 1"}}}',
    ];
    const { code, stdout, stderr } = await runCli(['mcp'], {
      env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: 'http://127.0.0.1:9/api/v2' },
      input: `${lines.join('\n')}\n`,
    });
    assert.equal(code, 0, `exit code; stderr: ${stderr}`);
    const responses = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; result?: unknown; error?: { code: number } });
    const byId = new Map(responses.map((r) => [r.id, r]));
    assert.ok(byId.get(1)?.result, 'initialize answered');
    assert.ok(byId.get(2)?.error, 'non-object arguments rejected by the protocol layer');
    assert.equal(byId.get(3)?.error?.code, -32601, 'unknown method');
    const doc = byId.get(4)?.result as { content: Array<{ text: string }> };
    assert.match(doc.content[0]?.text ?? '', /^# Integrations/);
    const script = byId.get(5)?.result as { structuredContent: { ok: boolean; result: unknown } };
    assert.deepEqual([script.structuredContent.ok, script.structuredContent.result], [true, 2]);
    assert.match(stderr, /protocol error: .*not valid JSON/);
    assert.ok(!stdout.includes(CANARY) && !stderr.includes(CANARY));
  });
});
