import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callTool, toolDefinitions, UnknownToolError } from '../../src/index.js';
import { CANARY, exposed } from '../support/canary.js';
import { type Harness, startHarness } from '../support/runtime.js';

describe('toolDefinitions(runtime) and callTool, for hosts without MCP', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h?.close());

  test('plain { name, description, parameters } definitions: built-ins, then one per function', () => {
    const definitions = toolDefinitions(h.runtime);
    const functions = h.runtime.functions();
    assert.deepEqual(
      definitions.map((d) => d.name),
      ['execute_lua', 'lua_read_doc', 'lua_list_docs', 'lua_search_docs', ...functions.map((fn) => fn.slug)],
    );
    for (const definition of definitions) {
      assert.deepEqual(Object.keys(definition), ['name', 'description', 'parameters']);
      assert.match(definition.name, /^[a-z_]+$/, 'function-calling APIs want [a-zA-Z0-9_-]');
      assert.ok(definition.description.length > 20, definition.name);
      assert.equal(definition.parameters.type, 'object', definition.name);
      assert.equal(definition.parameters.$schema, undefined, 'no dialect marker');
      assert.doesNotThrow(() => JSON.stringify(definition));
    }
    const identify = definitions.find((d) => d.name === 'vero_identify_user');
    const fn = functions.find((candidate) => candidate.slug === 'vero_identify_user');
    const { $schema: _dialect, ...parameters } = fn?.parameters ?? {};
    assert.deepEqual(identify?.parameters, parameters);
    assert.deepEqual(identify?.parameters.required, ['id', 'email']);
  });

  test('callTool runs a function, a doc page, a search and a script', async () => {
    const sent = await callTool(h.runtime, 'vero_identify_user', { id: 'fc_1', email: 'fc@example.com' });
    assert.equal((sent as { status: string }).status, 'sent');
    assert.equal(h.emulator.state().users.find((u) => u.id === 'fc_1')?.email, 'fc@example.com');

    assert.equal(
      await callTool(h.runtime, 'lua_read_doc', { page: 'integrations' }),
      h.runtime.readDoc('integrations'),
    );
    const search = (await callTool(h.runtime, 'lua_search_docs', { query: 'tags' })) as { hits: unknown[] };
    assert.ok(search.hits.length > 0);

    const run = (await callTool(
      h.runtime,
      'execute_lua',
      { code: 'return app.integrations.vero.marketing.get_current_user({}).account' },
      { account: 'default' },
    )) as { ok: boolean; result: unknown };
    assert.equal(run.ok, true);
    assert.equal(run.result, 'marketing');
  });

  test('errors: our messages and codes; an unknown tool suggests the right one', async () => {
    await assert.rejects(callTool(h.runtime, 'vero_identify_user', { id: 'x', email: 'bob@' }), {
      code: 'invalid_arguments',
      message: 'vero.identify_user: email: invalid email address "bob@"',
    });
    await assert.rejects(callTool(h.runtime, 'lua_search_docs', {}), {
      code: 'invalid_arguments',
      message: 'lua_search_docs: query: is required',
    });
    const error = await callTool(h.runtime, 'vero_identfy_user', {}).catch((e: unknown) => e);
    assert.ok(error instanceof UnknownToolError);
    assert.equal(error.code, 'unknown_tool');
    assert.match(error.message, /vero_identify_user/);
    assert.ok(!exposed(error).includes(CANARY));
  });
});
