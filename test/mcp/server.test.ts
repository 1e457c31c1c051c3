import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createRuntime, toolDefinitions } from '../../src/index.js';
import { CANARY, CANARY_MARKETING } from '../support/canary.js';
import { errorOf, type McpSession, startMcp, textOf } from './support.js';

const BUILTIN_TOOLS = ['execute_lua', 'lua_read_doc', 'lua_list_docs', 'lua_search_docs'];
// What the server should list, from the same runtime metadata the docs and validation use.
const reference = createRuntime({ env: {} });

describe('kosmo-vero mcp (in-process), driven by the SDK client', () => {
  let emulator: RunningEmulator;
  let mcp: McpSession;
  // Same emulator, a credential it rejects: Vero auth errors must not echo it.
  let rejected: McpSession;
  let readOnly: McpSession;

  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    const env = (token: string) => ({
      VERO_AUTH_TOKEN: token,
      VERO_BASE_URL: emulator.url,
      VERO_EMAIL: 'ops@example.com',
    });
    [mcp, rejected, readOnly] = await Promise.all([
      startMcp(env(CANARY)),
      startMcp(env(CANARY_MARKETING)),
      startMcp(env(CANARY), ['--read-only']),
    ]);
  });

  after(async () => {
    await Promise.all([mcp?.close(), rejected?.close(), readOnly?.close()]);
    await emulator?.close();
  });

  const user = (id: string) => emulator.state().users.find((u) => u.id === id);

  test('lists execute_lua, the docs tools and one tool per function, with the runtime’s schemas', async () => {
    const { tools } = await mcp.client.listTools();
    const functions = reference.functions();
    assert.deepEqual(
      tools.map((t) => t.name),
      [...BUILTIN_TOOLS, ...functions.map((fn) => fn.slug)],
    );
    const definitions = new Map(toolDefinitions(reference).map((d) => [d.name, d]));
    for (const tool of tools) {
      const definition = definitions.get(tool.name);
      assert.ok(definition, tool.name);
      assert.equal(tool.description, definition.description);
      // The SDK adds the dialect it emits; the rest is our schema, unchanged.
      const { $schema: _dialect, ...inputSchema } = tool.inputSchema;
      assert.deepEqual(inputSchema, definition.parameters, tool.name);
    }
    for (const fn of functions) {
      const tool = tools.find((t) => t.name === fn.slug);
      assert.equal(tool?.description, fn.toolDescription);
      const { $schema: _dialect, ...inputSchema } = tool?.inputSchema ?? {};
      const { $schema: _fnDialect, ...parameters } = fn.parameters;
      assert.deepEqual(inputSchema, parameters, `${fn.slug} lists the function's own JSON Schema`);
    }
  });

  test('annotations: read-only, destructive, idempotent and open-world hints', async () => {
    const { tools } = await mcp.client.listTools();
    const hints = (name: string) => tools.find((t) => t.name === name)?.annotations;
    assert.deepEqual(hints('vero_get_current_user'), {
      title: 'vero.get_current_user',
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    });
    assert.deepEqual(hints('vero_identify_user'), {
      title: 'vero.identify_user',
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    });
    assert.equal(hints('vero_track_event')?.idempotentHint, false);
    assert.equal(hints('vero_delete_user')?.destructiveHint, true);
    for (const name of ['lua_read_doc', 'lua_list_docs', 'lua_search_docs']) {
      assert.equal(hints(name)?.readOnlyHint, true, name);
      assert.equal(hints(name)?.openWorldHint, false, name);
    }
    assert.equal(hints('execute_lua')?.readOnlyHint, false);
    const execute = tools.find((t) => t.name === 'execute_lua');
    assert.match(execute?.description ?? '', /lua_read_doc\("integrations\.vero"\)/);
    assert.deepEqual(execute?.inputSchema.required, ['code']);
  });

  test('every function tool reaches the emulator and changes its state', async () => {
    const ok = async (name: string, args: Record<string, unknown>) => {
      const result = await mcp.call(name, args);
      assert.notEqual(result.isError, true, `${name}: ${textOf(result)}`);
      assert.deepEqual(JSON.parse(textOf(result)), result.structuredContent);
      return result.structuredContent as Record<string, unknown>;
    };
    const identified = await ok('vero_identify_user', {
      id: 'mcp_1',
      email: 'jane@example.com',
      name: 'Jane',
      data: { plan: 'pro' },
    });
    assert.deepEqual(identified, {
      status: 'sent',
      function_name: 'vero.identify_user',
      account: 'default',
      id: 'mcp_1',
      email: 'jane@example.com',
      message: 'Success.',
    });
    assert.deepEqual(user('mcp_1')?.data, { plan: 'pro', name: 'Jane' });

    await ok('vero_update_user', { id: 'mcp_1', email: 'jane.doe@example.com', data: { plan: 'team' } });
    assert.equal(user('mcp_1')?.email, 'jane.doe@example.com');
    assert.equal(user('mcp_1')?.data.plan, 'team');

    await ok('vero_track_event', { identity: 'mcp_1', event_name: 'Upgraded', data: { seats: 5 } });
    const event = emulator.state().events.at(-1);
    assert.deepEqual(event?.identity, { id: 'mcp_1' });
    assert.equal(event?.event_name, 'Upgraded');
    assert.deepEqual(event?.data, { seats: 5 });

    await ok('vero_unsubscribe', { id: 'mcp_1' });
    assert.equal(user('mcp_1')?.unsubscribed, true);
    await ok('vero_resubscribe', { id: 'mcp_1' });
    assert.equal(user('mcp_1')?.unsubscribed, false);

    await ok('vero_add_tags', { id: 'mcp_1', tags: ['beta', 'vip'] });
    await ok('vero_remove_tags', { id: 'mcp_1', tags: ['beta'] });
    assert.deepEqual(user('mcp_1')?.tags, ['vip']);

    await ok('vero_alias_user', { id: 'mcp_1', new_id: 'mcp_2' });
    assert.equal(user('mcp_1'), undefined);
    assert.equal(user('mcp_2')?.email, 'jane.doe@example.com');

    const deleted = await ok('vero_delete_user', { id: 'mcp_2' });
    assert.equal(deleted.status, 'sent');
    assert.equal(user('mcp_2'), undefined);

    const profile = await ok('vero_get_current_user', {});
    assert.equal(profile.account, 'default');
    assert.equal(profile.email, 'ops@example.com');
    assert.equal((profile.connectivity as { ok: boolean }).ok, true);
    const sent = emulator.state().requests.filter((r) => r.endpoint !== '/heartbeat');
    assert.ok(sent.every((r) => r.token === 'default'));
  });

  test('execute_lua runs a script: printed lines, returned value, the calls it made', async () => {
    const result = await mcp.call('execute_lua', {
      code: [
        'local vero = app.integrations.vero',
        'local r = vero.identify_user({ id = "lua_1", email = "lua@example.com" })',
        'vero.vero_track_event({ identity = "lua_1", event_name = "Scripted" })',
        'print("identify: " .. r.status)',
        'return { id = r.id, pages = #lua_list_docs() > 0 }',
      ].join('\n'),
      timeout_ms: 20_000,
    });
    assert.notEqual(result.isError, true, textOf(result));
    const run = result.structuredContent as {
      ok: boolean;
      output: string[];
      result: unknown;
      calls: Array<{ function_name: string; status: string }>;
      error: unknown;
    };
    assert.equal(run.ok, true);
    assert.deepEqual(run.output, ['identify: sent']);
    assert.deepEqual(run.result, { id: 'lua_1', pages: true });
    assert.deepEqual(
      run.calls.map((c) => [c.function_name, c.status]),
      [
        ['vero.identify_user', 'sent'],
        ['vero.track_event', 'sent'],
      ],
    );
    assert.equal(run.error, null);
    assert.equal(user('lua_1')?.email, 'lua@example.com');
    assert.equal(emulator.state().events.at(-1)?.event_name, 'Scripted');
  });

  test('execute_lua: a script error or a failed call is a tool error with code and line', async () => {
    const raised = await mcp.call('execute_lua', { code: 'local x = 1\nerror("boom")' });
    assert.equal(raised.isError, true);
    assert.deepEqual((raised.structuredContent as { error: unknown }).error, {
      code: 'lua_runtime_error',
      message: 'boom',
      line: 2,
    });

    const before = emulator.state().requests.length;
    const invalid = await mcp.call('execute_lua', {
      code: 'print("before")\napp.integrations.vero.identify_user({ id = "u", email = "bob@" })',
    });
    assert.equal(invalid.isError, true);
    const run = invalid.structuredContent as { output: string[]; error: unknown };
    assert.deepEqual(run.output, ['before']);
    assert.deepEqual(run.error, {
      code: 'invalid_arguments',
      message: 'vero.identify_user: email: invalid email address "bob@"',
      line: 2,
    });
    assert.equal(emulator.state().requests.length, before, 'nothing sent');

    const syntax = await mcp.call('execute_lua', { code: 'if then' });
    assert.equal(errorOf(syntax).code, 'lua_syntax_error');

    const badTimeout = await mcp.call('execute_lua', { code: 'return 1', timeout_ms: 0 });
    assert.equal(errorOf(badTimeout).code, 'invalid_arguments');
    // The rule text for numbers comes from the shared validator (validate-arguments.ts).
    assert.equal(errorOf(badTimeout).message, 'execute_lua: timeout_ms: must be at least 1 (got 0)');
  });

  test('a bad argument is a tool error with our message and code, and sends nothing', async () => {
    const before = emulator.state().requests.length;
    const result = await mcp.call('vero_identify_user', { id: 'usr_1', email: 'bob@' });
    assert.equal(result.isError, true);
    assert.deepEqual(errorOf(result), {
      code: 'invalid_arguments',
      message: 'vero.identify_user: email: invalid email address "bob@"',
    });
    assert.match(textOf(result), /invalid email address/);

    const unknownField = await mcp.call('vero_unsubscribe', { id: 'usr_1', account: 'marketing' });
    assert.deepEqual(errorOf(unknownField), {
      code: 'invalid_arguments',
      message: 'vero.unsubscribe: account: unknown field (allowed: id)',
    });
    const missing = await mcp.call('lua_read_doc', {});
    assert.deepEqual(errorOf(missing), {
      code: 'invalid_arguments',
      message: 'lua_read_doc: page: is required',
    });
    assert.equal(emulator.state().requests.length, before, 'no request reached the emulator');
  });

  test('an unknown tool is a tool error with a suggestion, and the server keeps serving', async () => {
    const result = await mcp.call('vero_track_evnt', {});
    assert.equal(result.isError, true);
    const { error } = result.structuredContent as { error: { code: string; message: string } };
    assert.equal(error.code, 'unknown_tool');
    assert.match(
      error.message,
      /^unknown tool "vero_track_evnt"\. Did you mean "vero_track_event"\? Tools: /,
    );
    const { tools } = await mcp.client.listTools();
    assert.ok(tools.length > 4);
  });

  test('docs tools return what lua_read_doc, lua_list_docs and lua_search_docs return', async () => {
    const page = await mcp.call('lua_read_doc', { page: 'integrations.vero' });
    assert.notEqual(page.isError, true);
    assert.equal(textOf(page), reference.readDoc('integrations.vero'));

    const list = await mcp.call('lua_list_docs', {});
    assert.deepEqual(list.structuredContent, { pages: reference.listDocs() });

    const search = await mcp.call('lua_search_docs', { query: 'unsubscribe' });
    assert.deepEqual(search.structuredContent, {
      query: 'unsubscribe',
      hits: reference.searchDocs('unsubscribe'),
    });

    const missing = await mcp.call('lua_read_doc', { page: 'integrations.vero.nope' });
    assert.equal(missing.isError, true);
    assert.equal(errorOf(missing).code, 'unknown_doc_page');
    assert.match(errorOf(missing).message, /Page 'integrations\.vero\.nope' not found\./);
  });

  test('--read-only denies writes before any request; reads still work', async () => {
    const before = emulator.state().requests.length;
    const denied = await readOnly.call('vero_identify_user', { id: 'ro_1', email: 'ro@example.com' });
    assert.equal(denied.isError, true);
    assert.equal(errorOf(denied).code, 'permission_denied');
    assert.equal(emulator.state().requests.length, before);
    const profile = await readOnly.call('vero_get_current_user', {});
    assert.notEqual(profile.isError, true);
  });

  test('a credential Vero rejects comes back as vero_auth, without the credential', async () => {
    const result = await rejected.call('vero_track_event', { identity: 'usr_1', event_name: 'Seen' });
    assert.equal(result.isError, true);
    const error = errorOf(result);
    assert.equal(error.code, 'vero_auth');
    assert.doesNotMatch(error.message, /CANARY/);
  });

  test('no response and no log line contains a credential', async () => {
    // Runs last: by now every tool, error path and log line above has been seen.
    const profile = await mcp.call('vero_get_current_user', {});
    assert.match(textOf(profile), /credential/);
    for (const session of [mcp, rejected, readOnly]) {
      const seen = session.seen();
      assert.ok(seen.length > 0);
      assert.ok(!seen.includes(CANARY), 'default credential leaked');
      assert.ok(!seen.includes(CANARY_MARKETING), 'rejected credential leaked');
    }
  });
});
