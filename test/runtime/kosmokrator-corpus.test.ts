import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { RunningEmulator } from '../../src/emulator/index.js';
import type { LuaScriptResult } from '../../src/runtime/runtime.js';
import { CANARY, CANARY_MARKETING, exposed } from '../support/canary.js';
import { type Harness, startHarness } from '../support/runtime.js';

// KosmoKrator-style scripts (test/fixtures/kosmokrator/README.md), each run unchanged against the emulator.
const folder = new URL('../fixtures/kosmokrator/', import.meta.url);
const scripts = readdirSync(folder).filter((name) => name.endsWith('.lua'));

type State = ReturnType<RunningEmulator['state']>;
const eventsFor = (state: State, key: string) =>
  state.events.filter((e) => Object.values(e.identity as Record<string, string>).includes(key));

/** What each script must have done: the emulator's state after it, and what it printed. */
const checks: Record<string, (run: LuaScriptResult, state: State) => void> = {
  'current-user.lua': ({ output }) => {
    // print(table) shows the contents, KosmoKrator's way; dump prints the same and hands the table back.
    assert.equal(output.length, 3);
    for (const shown of output.slice(0, 2)) {
      assert.match(
        shown ?? '',
        /^\{\n {2}account: default,\n {2}base_url: http:\/\/127\.0\.0\.1:\d+\/api\/v2,\n/,
      );
      assert.match(
        shown ?? '',
        /\n {2}connectivity: \{\n {4}latency_ms: \d+,\n {4}ok: true,\n {4}status: 200\n {2}\},/,
      );
      assert.match(shown ?? '', /\n {2}email: ops@example\.com,\n/);
    }
    assert.equal(output[2], 'Account: default, reachable: true');
  },
  'positional.lua': ({ output }, state) => {
    const user = state.users.find((u) => u.id === 'usr_pos');
    assert.deepEqual(
      [user?.email, user?.data, user?.tags, user?.unsubscribed],
      ['pos@example.com', { plan: 'pro' }, ['beta', 'newsletter'], true],
    );
    assert.deepEqual(
      eventsFor(state, 'usr_pos').map((e) => e.event_name),
      ['Signed up'],
    );
    assert.deepEqual(output, [
      'sent\tvero.unsubscribe',
      'false\tapp.integrations.vero.unsubscribe takes at most 1 positional argument (id), got 2; pass them in that order, or one table: app.integrations.vero.unsubscribe({ id = ... })',
    ]);
  },
  'error-handling.lua': ({ output }, state) => {
    assert.deepEqual(output, [
      'Error: vero.identify_user: email: invalid email address "bob@"',
      'Warning: script:20: Unknown function: app.integrations.vero.identfy_user. Did you mean: identify_user',
      'Status: skipped',
      'Status: sent',
    ]);
    assert.equal(
      state.users.some((u) => u.id === 'usr_bad' || u.id === 'usr_typo'),
      false,
    );
    assert.equal(state.users.find((u) => u.id === 'usr_ok')?.email, 'ok@example.com');
  },
  'accounts.lua': ({ output }, state) => {
    assert.deepEqual(output.slice(0, 2), [
      '[default] sent       default',
      '[marketing] sent       marketing',
    ]);
    assert.match(
      output[2] ?? '',
      /^\[sales\] Error: script:7: Unknown function: app\.integrations\.vero\.sales\./,
    );
    assert.equal(output[3], '2 of 3 accounts');
    const events = eventsFor(state, 'usr_multi');
    assert.deepEqual(
      events.map((e) => e.data),
      [{ via: 'default' }, { via: 'marketing' }],
    );
    // Each went out with its own account's credential.
    const tracked = state.requests.filter((r) => r.endpoint === '/events/track');
    assert.deepEqual(
      tracked.map((r) => r.token),
      ['default', 'marketing'],
    );
  },
  'batch.lua': ({ output }, state) => {
    assert.deepEqual(output, [
      'usr_b1   sent',
      'usr_b2   Error: vero.identify_user: email: invalid email address "not-an-ema',
      'usr_b3   sent',
      '[\n  usr_b1,\n  usr_b3\n]',
    ]);
    assert.deepEqual(
      state.users.filter((u) => u.id.startsWith('usr_b')).map((u) => [u.id, u.data]),
      [
        ['usr_b1', { source: 'batch' }],
        ['usr_b3', { source: 'batch' }],
      ],
    );
  },
  'regex.lua': ({ output }, state) => {
    assert.deepEqual(output, [
      'tracked order 1042 for jane@example.com',
      'tracked order 1043 for bob@example.com',
      'skipped: Refund requested for order number 1040',
      'orders seen: 1042, 1043, 1040',
    ]);
    const paid = state.events.filter((e) => e.event_name === 'Order paid');
    assert.deepEqual(
      paid.map((e) => [e.identity, e.data]),
      [
        [{ email: 'jane@example.com' }, { order: '1042', amount: 49.9, currency: 'EUR' }],
        [{ email: 'bob@example.com' }, { order: '1043', amount: 12, currency: 'USD' }],
      ],
    );
  },
  'docs.lua': ({ output }, state) => {
    assert.deepEqual(output, [
      'true',
      '# app.integrations.vero — Vero',
      'true',
      `Page 'vero.trak_event' not found. Did you mean "integrations.vero.track_event"? Pages: integrations, integrations.vero; lua_list_docs() lists all.`,
      'vero.unsubscribe - Unsubscribe a user from all Vero email campaigns.',
      '{"docs_checked":true,"status":"sent"}',
    ]);
    assert.deepEqual(
      eventsFor(state, 'usr_docs').map((e) => e.event_name),
      ['Read the docs'],
    );
  },
  'json.lua': ({ output }, state) => {
    assert.deepEqual(output, [
      '2 users',
      'false\tjson.decode: invalid JSON at position 2: expected a string key',
      '{"count":2}',
    ]);
    assert.deepEqual(
      state.users.filter((u) => u.id.startsWith('usr_j')).map((u) => [u.id, u.email, u.data]),
      [
        ['usr_j1', 'j1@example.com', { plan: 'free' }],
        ['usr_j2', 'j2@example.com', { plan: 'pro' }],
      ],
    );
  },
};

describe('KosmoKrator-style scripts run unchanged against the emulator', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('every script in the corpus has its checks', () => {
    assert.ok(scripts.length >= 8);
    assert.deepEqual(
      scripts.filter((name) => !checks[name]),
      [],
    );
    assert.deepEqual(
      Object.keys(checks).filter((name) => !scripts.includes(name)),
      [],
    );
  });

  for (const name of scripts) {
    test(name, async () => {
      h.emulator.reset();
      const run = await h.runtime.runLua(readFileSync(new URL(name, folder), 'utf8'));
      assert.equal(run.error, null, `${name}: ${run.error?.message}`);
      assert.ok(!exposed(run).includes(CANARY) && !exposed(run).includes(CANARY_MARKETING));
      checks[name]?.(run, h.emulator.state());
    });
  }
});
