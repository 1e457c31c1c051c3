import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createRuntime } from '../../src/index.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { CANARY, CANARY_MARKETING, exposed } from '../support/canary.js';

// Every ```lua block of the published page, unchanged (addresses de-obfuscated), in page order.
const published = readFileSync(new URL('../fixtures/published-vero-reference.md', import.meta.url), 'utf8');
const blocks = [...published.matchAll(/```lua\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
const TRANSACTIONAL = 'CANARY-TRANSACTIONAL-93ac11d2';

describe('the published page examples, run as Lua against the emulator', () => {
  let emulator: RunningEmulator;
  let runtime: Runtime;
  before(async () => {
    emulator = await startEmulator({
      tokens: [
        { token: CANARY, label: 'default' },
        { token: CANARY_MARKETING, label: 'marketing' },
        { token: TRANSACTIONAL, label: 'transactional' },
      ],
    });
    runtime = createRuntime({
      env: {
        VERO_AUTH_TOKEN: CANARY,
        VERO_EMAIL: 'ops@example.com',
        VERO_MARKETING_AUTH_TOKEN: CANARY_MARKETING,
        VERO_TRANSACTIONAL_TRACKING_API_KEY: TRANSACTIONAL,
      },
      baseUrl: emulator.url,
    });
  });
  after(async () => {
    await runtime.close();
    await emulator.close();
  });

  const run = async (index: number) => {
    const code = blocks[index];
    assert.ok(code, `block ${index} exists`);
    const result = await runtime.runLua(code);
    assert.equal(result.error, null, `block ${index} ran without error`);
    assert.ok(result.ok);
    assert.ok(!exposed(result).includes(CANARY));
    return result;
  };
  const user = (id: string) => emulator.state().users.find((u) => u.id === id);

  test('the page has the 10 example blocks this suite covers', () => {
    assert.equal(blocks.length, 10);
  });

  test('identify_user', async () => {
    await run(0);
    assert.equal(user('usr_123')?.email, 'john@example.com');
    assert.deepEqual(user('usr_123')?.data, {
      plan: 'premium',
      signup_date: '2025-01-15',
      company: 'Acme Inc',
      name: 'John Doe',
    });
  });

  test('track_event', async () => {
    await run(1);
    const event = emulator.state().events.at(-1);
    assert.deepEqual(event?.identity, { id: 'usr_123' });
    assert.equal(event?.event_name, 'Purchased');
    assert.deepEqual(event?.data, { product: 'Widget', price: 29.99, currency: 'USD' });
  });

  test('update_user', async () => {
    await run(2);
    assert.equal(user('usr_123')?.email, 'john.doe@example.com');
    assert.equal(user('usr_123')?.data.plan, 'enterprise');
    assert.equal(user('usr_123')?.data.company, 'Big Corp');
  });

  test('unsubscribe, then resubscribe', async () => {
    await run(3);
    assert.equal(user('usr_123')?.unsubscribed, true);
    await run(4);
    assert.equal(user('usr_123')?.unsubscribed, false);
  });

  test('get_current_user prints the configured account email', async () => {
    const result = await run(5);
    assert.deepEqual(result.output, ['Account: ops@example.com']);
  });

  test('workflow: onboard a new user', async () => {
    await run(6);
    assert.deepEqual(user('usr_456')?.data, { plan: 'free', signup_date: '2025-06-15', name: 'Jane Smith' });
    const event = emulator.state().events.at(-1);
    assert.equal(event?.event_name, 'Signed up');
    assert.deepEqual(event?.data, { source: 'landing_page', plan: 'free' });
  });

  test('workflow: upgrade a plan', async () => {
    await run(7);
    assert.equal(user('usr_456')?.data.plan, 'premium');
    assert.equal(user('usr_456')?.data.upgraded_at, '2025-07-01');
    assert.equal(emulator.state().events.at(-1)?.event_name, 'Upgraded plan');
  });

  test('workflow: handle a user leaving', async () => {
    await run(8);
    assert.equal(emulator.state().events.at(-1)?.event_name, 'Cancelled subscription');
    assert.equal(user('usr_456')?.unsubscribed, true);
  });

  test('multi-account usage: each namespace uses its own account', async () => {
    const before = emulator.state().requests.length;
    const result = await run(9);
    assert.deepEqual(
      result.calls.map((c) => [c.function_name, c.account, c.status]),
      [
        ['vero.identify_user', 'default', 'sent'],
        ['vero.identify_user', 'default', 'duplicate'],
        ['vero.identify_user', 'marketing', 'sent'],
        ['vero.track_event', 'transactional', 'sent'],
      ],
    );
    const tokens = emulator
      .state()
      .requests.slice(before)
      .map((r) => r.token);
    assert.deepEqual(tokens, ['default', 'default', 'marketing', 'transactional']);
  });
});
