import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createRuntime } from '../../src/index.js';
import { CANARY, CANARY_MARKETING, exposed } from '../support/canary.js';
import { type Harness, startHarness } from '../support/runtime.js';

describe('accounts', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  beforeEach(() => h.emulator.reset());

  test('each account sends only its own credential', async () => {
    await h.runtime.call('vero.identify_user', { id: '1', email: 'a@example.com' });
    await h.runtime.call('vero.identify_user', { id: '1', email: 'a@example.com' }, { account: 'default' });
    await h.runtime.call('vero.identify_user', { id: '1', email: 'a@example.com' }, { account: 'MARKETING' });
    const tokens = h.emulator.state().requests.map((r) => r.token);
    assert.deepEqual(tokens, ['default', 'default', 'marketing']);
  });

  test('an unknown account names the configured ones and the nearest', async () => {
    await assert.rejects(h.runtime.call('vero.unsubscribe', { id: '1' }, { account: 'marketng' }), {
      code: 'unknown_account',
      message:
        'vero: unknown account "marketng" (configured: default, marketing). Did you mean "marketing"? Set VERO_MARKETNG_AUTH_TOKEN to add it.',
    });
    assert.deepEqual(h.emulator.state().requests, []);
  });

  test('accounts are listed with masked credentials only', () => {
    const accounts = h.runtime.accounts();
    assert.deepEqual(
      accounts.map((a) => [a.name, a.credential_kind, a.settings]),
      [
        ['default', 'auth_token', { email: 'ops@example.com' }],
        ['marketing', 'auth_token', {}],
      ],
    );
    assert.ok(!exposed(accounts).includes(CANARY) && !exposed(accounts).includes(CANARY_MARKETING));
  });

  test('no default account: a clear error saying which variable to set', async () => {
    const runtime = createRuntime({ env: { VERO_MARKETING_TRACKING_API_KEY: CANARY_MARKETING } });
    await assert.rejects(runtime.call('vero.unsubscribe', { id: '1' }), {
      code: 'unknown_account',
      message:
        'vero: unknown account "default" (configured: marketing). Set VERO_AUTH_TOKEN or VERO_TRACKING_API_KEY for the default account.',
    });
    assert.equal(runtime.accounts()[0]?.credential_kind, 'tracking_api_key');
  });

  test('VERO_<NAME>_DELIVERY picks queued delivery for that account only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kosmo-delivery-'));
    const runtime = createRuntime({
      env: {
        VERO_AUTH_TOKEN: CANARY,
        VERO_MARKETING_AUTH_TOKEN: CANARY_MARKETING,
        VERO_MARKETING_DELIVERY: 'queued',
        KOSMO_VERO_OUTBOX: join(dir, 'outbox.db'),
      },
      baseUrl: h.emulator.url,
    });
    try {
      const marketing = await runtime.call('vero.unsubscribe', { id: 'm' }, { account: 'marketing' });
      const direct = await runtime.call('vero.unsubscribe', { id: 'd' });
      assert.equal(marketing.status, 'queued');
      assert.equal(direct.status, 'sent');
      await runtime.waitForDelivery([marketing.outbox_id as number], 60_000);
    } finally {
      await runtime.close();
    }
  });

  test('settings without a credential: missing credential error', async () => {
    const runtime = createRuntime({ env: { VERO_SALES_EMAIL: 'sales@example.com' } });
    await assert.rejects(runtime.call('vero.unsubscribe', { id: '1' }, { account: 'sales' }), {
      code: 'missing_credential',
      message: 'vero: account "sales" has settings but no credential. Set VERO_SALES_AUTH_TOKEN.',
    });
  });
});

describe('config file accounts, tracking API keys', () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'from-file' }] });
  });
  after(() => emulator.close());

  test('a JSON config file configures accounts and wins over the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kosmo-config-'));
    const path = join(dir, 'config.json');
    writeFileSync(
      path,
      JSON.stringify({ accounts: { vero: { Default: { trackingApiKey: CANARY, baseUrl: emulator.url } } } }),
    );
    const runtime = createRuntime({
      config: path,
      env: { VERO_AUTH_TOKEN: 'wrong', VERO_BASE_URL: 'http://x' },
    });
    const result = await runtime.call('vero.resubscribe', { id: 'u' });
    assert.equal(result.status, 'sent');
    assert.equal(emulator.state().requests[0]?.token, 'from-file');
  });

  test('a config file that is not JSON: never the text around the mistake', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kosmo-config-'));
    const path = join(dir, 'config.json');
    writeFileSync(path, `{\n  "accounts": { "vero": { "default": { "authToken": ${CANARY} } } }\n}`);
    const error = (() => {
      try {
        createRuntime({ config: path });
      } catch (caught) {
        return caught;
      }
    })();
    assert.equal((error as { code: string }).code, 'invalid_config');
    assert.match(
      (error as Error).message,
      /^config file .* is not valid JSON( \(line \d+\))?\. Fix it and try again\.$/,
    );
    assert.ok(!exposed(error).includes(CANARY));
  });

  test('an invalid config file names the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kosmo-config-'));
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ permissions: { vero: { write: 'maybe' } } }));
    assert.throws(() => createRuntime({ config: path }), {
      code: 'invalid_config',
      message: new RegExp(`^config file ${path}: permissions\\.vero\\.write: `),
    });
  });
});

describe('permissions and dry-run', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ now: () => new Date('2025-06-15T10:30:00.000Z') });
  });
  after(() => h.close());
  beforeEach(() => h.emulator.reset());

  const write = { id: 'u1', email: 'u1@example.com' };

  test('deny', async () => {
    const runtime = createRuntime({
      env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: h.emulator.url },
      permissions: { vero: { write: 'deny' } },
    });
    await assert.rejects(runtime.call('vero.identify_user', write), {
      code: 'permission_denied',
      message:
        'Integration \'vero\' write access denied. vero.identify_user: denied by policy (vero write: deny); set permissions.vero.write to "allow" in the config file.',
    });
    const read = await runtime.call('vero.get_current_user', {});
    assert.equal(read.account, 'default', 'reads stay allowed');
    const writes = h.emulator.state().requests.filter((r) => r.endpoint !== '/heartbeat');
    assert.deepEqual(writes, []);
  });

  test('ask: accepted, refused, and nobody to ask', async () => {
    const asked: unknown[] = [];
    const make = (answer: boolean | undefined) =>
      createRuntime({
        env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: h.emulator.url },
        permissions: { '*': { write: 'ask' } },
        ask:
          answer === undefined
            ? undefined
            : (request) => {
                asked.push(request);
                return answer;
              },
      });
    assert.equal((await make(true).call('vero.identify_user', write)).status, 'sent');
    assert.deepEqual(asked[0], {
      fullName: 'vero.identify_user',
      integration: 'vero',
      operation: 'write',
      account: 'default',
      args: write,
    });
    await assert.rejects(make(false).call('vero.unsubscribe', { id: 'u1' }), {
      code: 'permission_denied',
      message:
        "Integration 'vero' write requires approval. vero.unsubscribe: the call was refused when approval was asked.",
    });
    await assert.rejects(make(undefined).call('vero.unsubscribe', { id: 'u1' }), {
      code: 'permission_denied',
      message:
        /^Integration 'vero' write requires approval\. vero\.unsubscribe: needs approval \(vero write: ask\) but nobody can be asked here/,
    });
    assert.equal(h.emulator.state().requests.length, 1, 'only the approved call was sent');
  });

  test('read-only denies writes, per runtime and per call', async () => {
    const runtime = createRuntime({
      env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: h.emulator.url },
      readOnly: true,
    });
    await assert.rejects(runtime.call('vero.track_event', { identity: 'u', event_name: 'x' }), {
      code: 'permission_denied',
      message: /^Integration 'vero' write access denied: this run is read-only/,
    });
    await assert.rejects(h.runtime.call('vero.delete_user', { id: 'u' }, { readOnly: true }), {
      code: 'permission_denied',
    });
    assert.equal(h.emulator.state().requests.length, 0);
  });

  test('dry-run reports the exact request and sends nothing', async () => {
    const result = await h.runtime.call(
      'vero.track_event',
      { identity: 'jane@example.com', event_name: 'Signed up', data: { plan: 'free' } },
      { dryRun: true },
    );
    assert.deepEqual(result, {
      status: 'dry_run',
      function_name: 'vero.track_event',
      account: 'default',
      email: 'jane@example.com',
      event_name: 'Signed up',
      request: {
        operation: 'trackEvent',
        method: 'POST',
        path: '/events/track',
        url: `${h.emulator.url}/events/track`,
        body: {
          auth_token: '[redacted]',
          identity: { email: 'jane@example.com' },
          event_name: 'Signed up',
          data: { plan: 'free' },
          extras: { created_at: '2025-06-15T10:30:00.000Z' },
        },
      },
    });
    assert.equal(h.emulator.state().requests.length, 0);
    assert.equal(h.runtime.calls().at(-1)?.status, 'dry_run');
  });
});
