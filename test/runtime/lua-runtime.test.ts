import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CANARY, CANARY_MARKETING, exposed } from '../support/canary.js';
import { addFaults } from '../support/faults.js';
import { type Harness, startHarness } from '../support/runtime.js';

describe('runtime.runLua: the runtime seen from a script', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  beforeEach(() => h.emulator.reset());

  test('namespace forms: plain, metadata spelling, explicit default, named account', async () => {
    const run = await h.runtime.runLua(`
      local a = app.integrations.vero.unsubscribe({ id = "a" })
      local b = app.integrations.vero.vero_unsubscribe({ id = "b" })
      local c = app.integrations.vero.default.unsubscribe({ id = "c" })
      local d = app.integrations.vero.marketing.vero_unsubscribe({ id = "d" })
      return { a.account, b.account, c.account, d.account, d.function_name, d.status }
    `);
    assert.equal(run.error, null);
    assert.deepEqual(run.result, ['default', 'default', 'default', 'marketing', 'vero.unsubscribe', 'sent']);
    assert.deepEqual(
      h.emulator.state().requests.map((r) => r.token),
      ['default', 'default', 'default', 'marketing'],
    );
  });

  test('the run account applies to the plain namespace; explicit default still means default', async () => {
    const run = await h.runtime.runLua(
      `return { app.integrations.vero.resubscribe({ id = "x" }).account,
                app.integrations.vero.default.resubscribe({ id = "y" }).account }`,
      { account: 'marketing' },
    );
    assert.deepEqual(run.result, ['marketing', 'default']);
  });

  test('validation errors are Lua errors, catchable with pcall, and nothing is sent', async () => {
    const run = await h.runtime.runLua(`
      local ok, err = pcall(app.integrations.vero.identify_user, { id = "u", email = "bob@" })
      print(ok, err)
      app.integrations.vero.track_event({ identity = "u" })
    `);
    assert.equal(run.ok, false);
    assert.deepEqual(run.output, ['false\tvero.identify_user: email: invalid email address "bob@"']);
    assert.equal(run.error?.code, 'invalid_arguments');
    assert.equal(run.error?.message, 'vero.track_event: event_name: is required');
    assert.equal(run.error?.line, 4);
    assert.deepEqual(h.emulator.state().requests, []);
  });

  test('unknown function and unknown account suggest what exists', async () => {
    const fn = await h.runtime.runLua('app.integrations.vero.identfy_user({})');
    assert.match(fn.error?.message ?? '', /identify_user/);
    const account = await h.runtime.runLua('app.integrations.vero.marketng.identify_user({})');
    assert.match(
      account.error?.message ?? '',
      /^Unknown function: app\.integrations\.vero\.marketng\. Did you mean: marketing$/,
    );
  });

  test('docs functions return what runtime.readDoc gives', async () => {
    const run = await h.runtime.runLua(`
      local hits = lua_search_docs("unsubscribe")
      return { lua_read_doc("integrations.vero"), #lua_list_docs(), hits[1].page }
    `);
    assert.equal(run.error, null);
    const [reference, pages, firstHit] = run.result as [string, number, string];
    assert.equal(reference, h.runtime.readDoc('integrations.vero'));
    assert.equal(pages, h.runtime.listDocs().length);
    assert.equal(firstHit, h.runtime.searchDocs('unsubscribe')[0]?.page);
    // As in KosmoKrator, an unknown page is an answer, not an error; docs.* is the same host path.
    const unknown = await h.runtime.runLua(
      'return { lua_read_doc("integrations.vero.trak_event"), docs.read("vero.trak_event") }',
    );
    assert.equal(unknown.error, null);
    const [text, viaDocs] = unknown.result as [string, string];
    assert.match(
      text,
      /^Page 'integrations\.vero\.trak_event' not found\. Did you mean "integrations\.vero\.track_event"\?/,
    );
    assert.match(
      viaDocs,
      /^Page 'vero\.trak_event' not found\. Did you mean "integrations\.vero\.track_event"\?/,
    );
  });

  test('dry-run and read-only apply to scripts', async () => {
    const dry = await h.runtime.runLua('return app.integrations.vero.delete_user({ id = "u" })', {
      dryRun: true,
    });
    assert.equal((dry.result as { status: string }).status, 'dry_run');
    const readOnly = await h.runtime.runLua(
      `local ok, err = pcall(app.integrations.vero.delete_user, { id = "u" })
       return { ok, app.integrations.vero.get_current_user({}).account }`,
      { readOnly: true },
    );
    assert.deepEqual((readOnly.result as unknown[])[0], false);
    assert.equal(h.emulator.state().requests.filter((r) => r.endpoint !== '/heartbeat').length, 0);
  });

  test('queued delivery from a script returns at once and delivers everything', async () => {
    const run = await h.runtime.runLua(
      `local ids = {}
       for i = 1, 50 do
         local r = app.integrations.vero.track_event({ identity = "usr_" .. (i % 5), event_name = "Tick", data = { i = i } })
         ids[#ids + 1] = r.status
       end
       return ids[50]`,
      { delivery: 'queued' },
    );
    assert.equal(run.result, 'queued');
    const ids = run.calls.map((c) => c.outbox_id as number);
    const outcomes = await h.runtime.waitForDelivery(ids, 60_000);
    assert.ok(outcomes.every((o) => o.state === 'delivered'));
    assert.equal(h.emulator.state().events.length, 50);
  });

  test('a run ended by its time limit still reports the call it left on the way to Vero', async () => {
    await addFaults(h.emulator, [{ endpoint: '/users/unsubscribe', latencyMs: 1500 }]);
    const run = await h.runtime.runLua('app.integrations.vero.unsubscribe({ id = "slow" })', {
      timeoutMs: 300,
    });
    assert.equal(run.error?.code, 'lua_timeout');
    assert.deepEqual(
      run.calls.map((c) => [c.function_name, c.status]),
      [['vero.unsubscribe', 'sent']],
    );
    assert.equal(h.emulator.state().users.find((u) => u.id === 'slow')?.unsubscribed, true);
  });

  test('a script looking for credentials finds none', async () => {
    const run = await h.runtime.runLua(`
      local seen = {}
      local function walk(t, depth)
        if depth > 6 then return end
        for k, v in pairs(t) do
          -- utf8.charpattern is not valid UTF-8 itself, and JSON results must be
          local text = type(v) == "string" and utf8.len(v) and v or type(v)
          seen[#seen + 1] = tostring(k) .. "=" .. text
          if type(v) == "table" then walk(v, depth + 1) end
        end
      end
      walk(_G, 0)
      local me = app.integrations.vero.get_current_user({})
      return { table.concat(seen, ","), dump(me), json.encode(me) }
    `);
    assert.equal(run.error, null);
    assert.ok(!exposed(run).includes(CANARY));
    assert.ok(!exposed(run).includes(CANARY_MARKETING));
  });
});
