import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY, CANARY_MARKETING } from '../support/canary.js';
import { cli, lines } from './support.js';

describe('kosmo-vero accounts', { concurrency: true }, () => {
  let emulator: RunningEmulator;
  let env: Record<string, string>;
  before(async () => {
    emulator = await startEmulator({ tokens: [CANARY, CANARY_MARKETING] });
    env = {
      VERO_AUTH_TOKEN: CANARY,
      VERO_BASE_URL: emulator.url,
      VERO_EMAIL: 'ops@example.com',
      VERO_MARKETING_AUTH_TOKEN: CANARY_MARKETING,
      VERO_MARKETING_BASE_URL: emulator.url,
    };
  });
  after(() => emulator?.close());

  const noSecret = (text: string) => {
    assert.ok(!text.includes(CANARY), 'default credential shown');
    assert.ok(!text.includes(CANARY_MARKETING), 'marketing credential shown');
  };

  test('list: every account with a masked credential, text and --json', async () => {
    const [text, json] = await Promise.all([
      cli(['accounts', 'list'], { env }),
      cli(['accounts', 'list', '--json'], { env }),
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(lines(text.stdout), [
      `vero.default\tauth_token …${CANARY.slice(-4)} ops@example.com\t${emulator.url}`,
      `vero.marketing\tauth_token …${CANARY_MARKETING.slice(-4)}\t${emulator.url}`,
    ]);
    const { accounts } = JSON.parse(json.stdout);
    assert.deepEqual(
      accounts.map((a: { name: string; credential_hint: string }) => [a.name, a.credential_hint]),
      [
        ['default', `…${CANARY.slice(-4)}`],
        ['marketing', `…${CANARY_MARKETING.slice(-4)}`],
      ],
    );
    noSecret(text.stdout + text.stderr + json.stdout + json.stderr);
  });

  test('list with no account says how to configure one', async () => {
    const run = await cli(['accounts', 'list']);
    assert.equal(run.code, 0);
    assert.match(
      run.stdout,
      /^no account is configured: set a credential .*\(vero: VERO_AUTH_TOKEN or VERO_TRACKING_API_KEY/,
    );
  });

  test('test: probes each account (or one) without writing; exit 0 when all are reachable', async () => {
    const before = emulator.state();
    const [all, one] = await Promise.all([
      cli(['accounts', 'test'], { env }),
      cli(['accounts', 'test', 'marketing', '--json'], { env }),
    ]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^vero\.default\treachable \(\d+ ms\)/m);
    assert.match(all.stdout, /^vero\.marketing\treachable \(\d+ ms\)/m);
    assert.match(all.stdout, /^Note: /m);
    assert.equal(one.code, 0);
    const out = JSON.parse(one.stdout);
    assert.equal(out.ok, true);
    assert.deepEqual(
      out.accounts.map((a: { account: string; ok: boolean }) => [a.account, a.ok]),
      [['marketing', true]],
    );
    const after = emulator.state();
    assert.deepEqual(after.users, before.users, 'no data written');
    assert.deepEqual(after.events, before.events, 'no data written');
    noSecret(all.stdout + all.stderr + one.stdout + one.stderr);
  });

  test('test: an unreachable API is exit 1 with the reason; an unknown account is a usage error (exit 2) naming the others', async () => {
    const [down, unknown] = await Promise.all([
      cli(['accounts', 'test'], {
        env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: 'http://127.0.0.1:9/api/v2' },
      }),
      cli(['accounts', 'test', 'sales'], { env }),
    ]);
    assert.equal(down.code, 1);
    assert.match(down.stdout, /^vero\.default\tUNREACHABLE: /m);
    assert.equal(unknown.code, 2);
    assert.equal(lines(unknown.stderr).length, 1);
    assert.match(unknown.stderr, /sales/);
    assert.match(unknown.stderr, /marketing/);
    noSecret(down.stdout + down.stderr + unknown.stdout + unknown.stderr);
  });
});
