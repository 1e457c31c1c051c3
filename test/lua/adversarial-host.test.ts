/**
 * Hostile scripts aimed at the host rather than the sandbox: work the main thread does on a script's behalf must be
 * bounded (docs helpers, did-you-mean), and what comes back to the script must be as safe as any other value.
 * Runs the real runtime against a real emulator. How long the main thread is held is a timing figure, measured by
 * bench/host-lag.ts rather than asserted here (a busy machine delays ticks regardless of the code).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRuntime } from '../../src/index.js';
import { CANARY, exposed } from '../support/canary.js';
import { startEchoServer } from '../support/echo-server.js';
import { type Harness, startHarness } from '../support/runtime.js';

describe('hostile scripts against the host', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('a flood of huge docs queries and page names is refused by their bound', async () => {
    const run = await h.runtime.runLua(`
        local big = string.rep("ab ", 150000)
        local refused, last = 0, {}
        for i = 1, 40 do
          for _, helper in ipairs({ lua_search_docs, lua_read_doc }) do
            local ok, err = pcall(helper, big .. i)
            if not ok then refused = refused + 1; last[#last + 1] = tostring(err) end
          end
        end
        return { refused = refused, search = last[#last - 1], read = last[#last] }
      `);
    assert.equal(run.ok, true, JSON.stringify(run.error));
    const result = run.result as { refused: number; search: string; read: string };
    assert.equal(result.refused, 80);
    assert.match(result.search, /lua_search_docs: query: must be at most 200 characters \(got 450002\)/);
    assert.match(result.read, /lua_read_doc: page: must be at most 200 characters \(got 450002\)/);
  });

  it('queries and page names just under the bound: many distinct words, near-miss names, still cheap', async () => {
    const run = await h.runtime.runLua(`
        local words = {}
        for i = 1, 50 do words[#words + 1] = string.format("w%02d", i) end
        local query = table.concat(words, " ")
        local name = "integrations.vero." .. string.rep("x", 200 - #"integrations.vero.")
        local hits, misses = 0, 0
        -- An unknown page answers with text (as KosmoKrator's does), not an error.
        local function missing(page)
          local ok, text = pcall(lua_read_doc, page)
          return not ok or text:find("not found", 1, true) ~= nil
        end
        for i = 1, 200 do
          hits = hits + #lua_search_docs(query) + #lua_search_docs("user id")
          if missing(name) then misses = misses + 1 end
          if missing("integrations.vero.identfy_user") then misses = misses + 1 end
        end
        local typo = lua_read_doc("integrations.vero.identfy_user")
        return { query = #query, hits = hits, misses = misses, typo = tostring(typo) }
      `);
    assert.equal(run.ok, true, JSON.stringify(run.error));
    const result = run.result as { query: number; hits: number; misses: number; typo: string };
    assert.equal(result.query, 199);
    assert.ok(result.hits > 0);
    assert.equal(result.misses, 400);
    assert.match(result.typo, /Did you mean "integrations\.vero\.identify_user"/);
  });

  it('a huge account name is refused without a suggestion search and never echoed whole', async () => {
    const huge = 'm'.repeat(400_000);
    const run = await h.runtime.runLua('return 1', { account: huge });
    assert.equal(run.ok, true);
    const refused = await h.runtime
      .call('vero.unsubscribe', { id: 'u1' }, { account: huge })
      .then(() => assert.fail('expected a refusal'))
      .catch((error: Error) => error);
    assert.equal((refused as { code?: string }).code, 'unknown_account');
    assert.match(refused.message, /account names are at most 200 characters/);
    assert.ok(refused.message.length < 1000, 'the name is cut in the message');
    assert.ok(!refused.message.includes(CANARY));
    assert.ok(h.runtime.calls().every((call) => (call.account?.length ?? 0) <= 200));
    assert.deepEqual(h.emulator.state().requests, []);
  });

  it('prototype keys in arguments cannot pollute the host or the emulator (which shares this process)', async () => {
    const run = await h.runtime.runLua(`
      local results = {}
      for _, data in ipairs({ { ["__proto__"] = { id = "X" } }, { constructor = { prototype = { polluted = 1 } } } }) do
        local ok, err = pcall(app.integrations.vero.identify_user, { id = "proto", email = "p@example.com", data = data })
        results[#results + 1] = ok and "sent" or tostring(err)
      end
      return results
    `);
    assert.equal(run.ok, true, JSON.stringify(run.error));
    assert.equal(({} as Record<string, unknown>).id, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    for (const outcome of run.result as string[]) {
      assert.ok(outcome === 'sent' || /is reserved/.test(outcome), outcome);
    }
    assert.ok(h.emulator.state().users.every((user) => user.id === 'proto'));
  });

  it('a credential echoed back with JSON escapes never reaches the script', async () => {
    const echo = await startEchoServer({ status: 200, escape: 'unicode' });
    const runtime = createRuntime({ env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: echo.url } });
    try {
      const run = await runtime.runLua(`
        local sent = app.integrations.vero.unsubscribe({ id = "u1" })
        print(sent.message)
        return sent
      `);
      assert.equal(run.ok, true, JSON.stringify(run.error));
      assert.deepEqual(run.output, ['bad auth_token [redacted]']);
      assert.ok(!exposed(run).includes(CANARY));
    } finally {
      await runtime.close();
      await echo.close();
    }
  });

  it('a dry-run script reads nothing from the network either', async () => {
    const before = h.emulator.state().requests.length;
    const run = await h.runtime.runLua('return app.integrations.vero.get_current_user({})', { dryRun: true });
    assert.equal((run.result as { status: string }).status, 'dry_run');
    assert.equal(h.emulator.state().requests.length, before);
  });
});
