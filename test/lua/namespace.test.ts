import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LuaPool } from '../../src/lua/index.js';
import { testHost, VERO_NAMESPACE } from './host.js';

describe('app.integrations namespace', () => {
  let pool: LuaPool;
  before(() => {
    pool = new LuaPool({ limits: { timeoutMs: 5000 } });
  });
  after(() => pool.close());

  it('calls a function, an alias, .default and a named account, with the right requests', async () => {
    const host = testHost();
    const result = await pool.run(
      `
      local v = app.integrations.vero
      local a = v.identify_user({ email = 'a@example.com' })
      local b = v.vero_identify_user({ email = 'b@example.com' })
      local c = v.default.identify_user({ email = 'c@example.com' })
      local d = v.marketing.identify_user({ email = 'd@example.com' })
      local e = v.marketing.vero_track_event({ identity = { email = 'd@example.com' }, event_name = 'signed_up' })
      local f = v.get_current_user()
      return { a.status, b['function'], c.account, d.account, e['function'], f.args }
      `,
      host,
    );
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.deepEqual(result.result, [
      'sent',
      'vero.identify_user',
      'default',
      'marketing',
      'vero.track_event',
      {},
    ]);
    assert.deepEqual(
      host.requests.map((r) => [r.fn, r.account, r.args]),
      [
        ['identify_user', undefined, { email: 'a@example.com' }],
        ['identify_user', undefined, { email: 'b@example.com' }],
        ['identify_user', 'default', { email: 'c@example.com' }],
        ['identify_user', 'marketing', { email: 'd@example.com' }],
        ['track_event', 'marketing', { identity: { email: 'd@example.com' }, event_name: 'signed_up' }],
        ['get_current_user', undefined, {}],
      ],
    );
    assert.equal(result.stats.calls, 6);
  });

  it('names what exists and suggests the nearest name for an unknown function', async () => {
    const result = await pool.run('local x = 1\napp.integrations.vero.identfy_user({})', testHost());
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, 'lua_runtime_error');
    assert.equal(result.error?.line, 2);
    // KosmoKrator's text, word for word.
    assert.equal(
      result.error?.message,
      'Unknown function: app.integrations.vero.identfy_user. Did you mean: identify_user',
    );
  });

  it("KosmoKrator's app.tools and app.mcp are refused with a reason", async () => {
    const tools = await pool.run('app.tools.bash({ command = "ls" })', testHost());
    assert.equal(
      tools.error?.message,
      "app.tools is KosmoKrator's own (native tools) and is not offered here; this sandbox reaches integrations only, under app.integrations (docs/kosmokrator.md)",
    );
    const mcp = await pool.run('return app.mcp.github.list_issues({})', testHost());
    assert.match(mcp.error?.message ?? '', /^app\.mcp is KosmoKrator's own \(MCP servers\)/);
  });

  it('suggests the nearest account, and the nearest function under an account', async () => {
    const host = testHost();
    const account = await pool.run('app.integrations.vero.marketting.identify_user({})', host);
    assert.equal(
      account.error?.message,
      'Unknown function: app.integrations.vero.marketting. Did you mean: marketing',
    );
    const fn = await pool.run('app.integrations.vero.marketing.track_evnt({})', host);
    assert.match(
      fn.error?.message ?? '',
      /^Unknown function: app\.integrations\.vero\.marketing\.track_evnt\. Did you mean: track_event$/,
    );
    const unknown = await pool.run('app.integrations.vero.sales.identify_user({})', host);
    assert.match(
      unknown.error?.message ?? '',
      // Nothing close: every function is listed, as KosmoKrator does, and the accounts.
      /^Unknown function: app\.integrations\.vero\.sales\. Did you mean: edit_tags, get_current_user, identify_user, track_event \(accounts: default, marketing\)$/,
    );
    const integration = await pool.run('app.integrations.veor.identify_user({})', host);
    assert.match(
      integration.error?.message ?? '',
      /app\.integrations\.veor is not an integration; did you mean vero\?/,
    );
    assert.equal(host.requests.length, 0);
  });

  it('host errors are Lua errors: catchable with pcall, and uncaught they end the run with the host code', async () => {
    const host = testHost();
    const caught = await pool.run(
      `
      local ok, err = pcall(app.integrations.vero.track_event, { identity = { email = 'a@example.com' } })
      print(ok, err)
      return ok
      `,
      host,
    );
    assert.equal(caught.ok, true);
    assert.equal(caught.result, false);
    // Called by pcall directly, the caller is pcall (C): Lua adds no position, as for any error(msg, 2).
    assert.equal(caught.output[0], 'false\tvero.track_event: event_name: required, give the event a name');
    const wrapped = await pool.run(
      'local ok, err = pcall(function()\n  app.integrations.vero.track_event({})\nend)\nreturn err',
      host,
    );
    assert.equal(wrapped.result, 'script:2: vero.track_event: event_name: required, give the event a name');

    const uncaught = await pool.run('\n\napp.integrations.vero.track_event({})', host);
    assert.equal(uncaught.ok, false);
    assert.deepEqual(uncaught.error, {
      code: 'vero_validation',
      message: 'vero.track_event: event_name: required, give the event a name',
      line: 3,
    });
  });

  it('app tables are read-only and their metatables locked', async () => {
    const host = testHost();
    const cases = [
      ['app.integrations.vero.identify_user = print', /app\.integrations\.vero is read-only/],
      ['app.integrations = {}', /app is read-only/],
      [
        'app.integrations.vero.marketing.identify_user = nil',
        /app\.integrations\.vero\.marketing is read-only/,
      ],
      ['setmetatable(app, {})', /cannot change a protected metatable/],
      ["rawset(app.integrations, 'vero', {})", /cannot rawset on app\.integrations: it is read-only/],
    ] as const;
    for (const [code, pattern] of cases) {
      const result = await pool.run(code, host);
      assert.equal(result.ok, false, code);
      assert.match(result.error?.message ?? '', pattern, code);
    }
    const meta = await pool.run(
      'return getmetatable(app), getmetatable(app.integrations.vero), rawget(app, "integrations")',
      host,
    );
    assert.deepEqual(meta.result, ['locked', 'locked', null]);
  });

  it('pairs lists functions and accounts without exposing the table behind the view', async () => {
    const result = await pool.run(
      `
      local names = {}
      for k in pairs(app.integrations.vero) do names[#names + 1] = k end
      table.sort(names)
      local f, s = pairs(app.integrations.vero)
      return { names = names, state = s == nil }
      `,
      testHost(),
    );
    assert.equal(result.ok, true, JSON.stringify(result.error));
    const value = result.result as { names: string[]; state: boolean };
    assert.deepEqual(value.names, [
      'default',
      'edit_tags',
      'get_current_user',
      'identify_user',
      'marketing',
      'track_event',
      'vero_identify_user',
      'vero_track_event',
    ]);
    assert.equal(value.state, true);
  });

  it('takes one table: colon calls, extra arguments after a table and undeclared positionals are clear errors', async () => {
    const host = testHost();
    const colon = await pool.run('app.integrations.vero:identify_user({ email = "a@example.com" })', host);
    assert.match(colon.error?.message ?? '', /called with a dot, not a colon/);
    const extra = await pool.run('app.integrations.vero.identify_user({}, {})', host);
    assert.match(extra.error?.message ?? '', /takes one table argument, got 2 arguments/);
    // No parameter list from the host: only the table form.
    const wrong = await pool.run('app.integrations.vero.identify_user("a@example.com")', host);
    assert.match(wrong.error?.message ?? '', /takes one table argument, like .*; got a string/);
    assert.equal(host.requests.length, 0);
  });

  it('maps positional arguments onto the declared parameters in order, as KosmoKrator does', async () => {
    const host = testHost(undefined, [
      {
        ...VERO_NAMESPACE,
        parameters: {
          identify_user: ['id', 'email', 'name', 'data'],
          track_event: ['identity', 'event_name', 'data'],
          get_current_user: [],
        },
      },
    ]);
    const run = await pool.run(
      `
      app.integrations.vero.identify_user("usr_1", "jane@example.com")
      app.integrations.vero.marketing.vero_track_event("usr_1", "Signed up", { plan = "pro" })
      app.integrations.vero.identify_user("usr_2", nil, "Bob")
      app.integrations.vero.get_current_user()
      `,
      host,
    );
    assert.equal(run.ok, true, JSON.stringify(run.error));
    assert.deepEqual(
      host.requests.map(({ fn, account, args }) => ({ fn, account, args })),
      [
        { fn: 'identify_user', account: undefined, args: { id: 'usr_1', email: 'jane@example.com' } },
        {
          fn: 'track_event',
          account: 'marketing',
          args: { identity: 'usr_1', event_name: 'Signed up', data: { plan: 'pro' } },
        },
        { fn: 'identify_user', account: undefined, args: { id: 'usr_2', name: 'Bob' } },
        { fn: 'get_current_user', account: undefined, args: {} },
      ],
    );
    const tooMany = await pool.run('app.integrations.vero.track_event("u", "e", {}, "x")', host);
    assert.equal(
      tooMany.error?.message,
      'app.integrations.vero.track_event takes at most 3 positional arguments (identity, event_name, data), got 4; pass them in that order, or one table: app.integrations.vero.track_event({ identity = ... })',
    );
    assert.equal(tooMany.error?.line, 1);
    const none = await pool.run('app.integrations.vero.get_current_user("me")', host);
    assert.match(
      none.error?.message ?? '',
      /get_current_user takes no parameters, got 1 positional argument/,
    );
    const caught = await pool.run(
      'local ok, e = pcall(app.integrations.vero.identify_user, 1, 2, 3, 4, 5) return { ok, e }',
      host,
    );
    assert.deepEqual(caught.result, [
      false,
      'app.integrations.vero.identify_user takes at most 4 positional arguments (id, email, name, data), got 5; pass them in that order, or one table: app.integrations.vero.identify_user({ id = ... })',
    ]);
    assert.equal(host.requests.length, 4, 'nothing sent for a refused call');
  });

  it('docs.read / docs.list / docs.search: the same host functions, answering with text', async () => {
    const host = testHost();
    const run = await pool.run(
      `
      return { docs.read('index'), docs.list(), docs.search('creates'), docs.search('zebra'),
               select(2, pcall(docs.read, 7)) }
      `,
      host,
    );
    assert.equal(run.ok, true, JSON.stringify(run.error));
    assert.deepEqual(run.result, [
      '# kosmo-vero docs\n\nSee vero/identify_user.',
      'Lua doc pages (read one with docs.read(page)):\n- index — # kosmo-vero docs\n- vero/identify_user — # vero.identify_user',
      'vero/identify_user',
      "No results found for 'zebra'.",
      'docs.read(page) takes a page name string; docs.list() lists them',
    ]);
  });

  it('forwards lua_read_doc, lua_list_docs and lua_search_docs to the host', async () => {
    const result = await pool.run(
      `
      local page = lua_read_doc('index')
      local pages = lua_list_docs()
      local hits = lua_search_docs('creates')
      local ok, err = pcall(lua_read_doc, 'missing')
      return { page = page, first = pages[1].page, hits = hits, err = err }
      `,
      testHost(),
    );
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.deepEqual(result.result, {
      page: '# kosmo-vero docs\n\nSee vero/identify_user.',
      first: 'index',
      hits: [{ page: 'vero/identify_user' }],
      err: 'no doc page "missing"; lua_list_docs() lists the pages',
    });
    const bad = await pool.run('lua_read_doc(42)', testHost());
    assert.match(bad.error?.message ?? '', /lua_read_doc\(page\) takes a page name string/);
  });

  it('works from inside coroutines and pcall, synchronously', async () => {
    const host = testHost();
    const result = await pool.run(
      `
      local co = coroutine.wrap(function()
        for i = 1, 3 do
          local r = app.integrations.vero.identify_user({ email = 'u' .. i .. '@example.com' })
          coroutine.yield(r.args.email)
        end
      end)
      local got = { co(), co(), co() }
      local ok, r = pcall(function() return app.integrations.vero.identify_user({ email = 'p@example.com' }) end)
      got[#got + 1] = r.args.email
      return got
      `,
      host,
    );
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.deepEqual(result.result, ['u1@example.com', 'u2@example.com', 'u3@example.com', 'p@example.com']);
  });
});
