import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY } from '../support/canary.js';
import { addFaults } from '../support/faults.js';
import { cli } from './support.js';

describe('kosmo-vero run', () => {
  let emulator: RunningEmulator;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-run-'));
  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    env = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_OUTBOX: join(dir, 'outbox.db') };
  });
  after(() => emulator.close());
  beforeEach(() => emulator.reset());

  test('a script file: prints its output, exit 0, the writes reach Vero', async () => {
    const { code, stdout, stderr } = await cli(['run', 'examples/onboard.lua'], { env });
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'onboarded usr_456\n');
    assert.equal(emulator.state().users[0]?.id, 'usr_456');
    assert.equal(emulator.state().events[0]?.event_name, 'Signed up');
  });

  test('--json from stdin: one object with ok, output, result, calls, error', async () => {
    const script = 'print("hi")\nreturn app.integrations.vero.unsubscribe({ id = "u1" })';
    const { code, stdout } = await cli(['run', '-', '--json'], { env, input: script });
    assert.equal(code, 0);
    const report = JSON.parse(stdout);
    assert.deepEqual(Object.keys(report).slice(0, 5), ['ok', 'output', 'result', 'calls', 'error']);
    assert.equal(report.ok, true);
    assert.deepEqual(report.output, ['hi']);
    assert.equal(report.result.status, 'sent');
    assert.equal(report.calls[0].function_name, 'vero.unsubscribe');
    assert.equal(report.error, null);
    assert.ok(!stdout.includes(CANARY));
  });

  test('a script error: exit 1, one line on stderr with the Lua line, output kept', async () => {
    const script = 'print("before")\napp.integrations.vero.identify_user({ id = "u", email = "bob@" })';
    const { code, stdout, stderr } = await cli(['run', '-'], { env, input: script });
    assert.equal(code, 1);
    assert.equal(stdout, 'before\n');
    assert.equal(
      stderr,
      'kosmo-vero: script error (line 2): vero.identify_user: email: invalid email address "bob@"\n',
    );
    assert.deepEqual(emulator.state().requests, []);
  });

  test('a KosmoKrator-style script runs unchanged: positional calls, tables printed in full', async () => {
    const { code, stdout, stderr } = await cli(['run', 'test/fixtures/kosmokrator/positional.lua'], {
      env,
    });
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /^sent\tvero\.unsubscribe\nfalse\tapp\.integrations\.vero\.unsubscribe takes at most 1 positional/,
    );
    const user = emulator.state().users.find((u) => u.id === 'usr_pos');
    assert.deepEqual([user?.email, user?.unsubscribed], ['pos@example.com', true]);
    const shown = await cli(['run', '-'], {
      env,
      input: 'print(app.integrations.vero.get_current_user().credential)',
    });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\{\n {2}hint: .+,\n {2}kind: auth_token\n\}\n$/);
    assert.ok(!shown.stdout.includes(CANARY));
  });

  test('--dry-run and --read-only', async () => {
    const script = 'return app.integrations.vero.delete_user({ id = "u" }).status';
    const dry = await cli(['run', '-', '--dry-run', '--json'], { env, input: script });
    assert.equal(JSON.parse(dry.stdout).result, 'dry_run');
    const readOnly = await cli(['run', '-', '--read-only'], { env, input: script });
    assert.equal(readOnly.code, 1);
    assert.match(readOnly.stderr, /read-only/);
    assert.deepEqual(emulator.state().requests, []);
  });

  test('--timeout ends a runaway script with the limit named', async () => {
    const { code, stderr } = await cli(['run', '-', '--timeout', '300'], {
      env,
      input: 'while true do end',
    });
    assert.equal(code, 1);
    assert.match(stderr, /time|instruction/i);
  });

  test('--emulator needs no account and prints what the emulator received', async () => {
    const { code, stdout, stderr } = await cli(['run', '--emulator', 'examples/lifecycle.lua'], {
      env: {},
    });
    assert.equal(code, 0);
    assert.match(stdout, /step 3: ok/);
    // The summary goes to stderr: stdout stays the script's own output.
    assert.match(stderr, /users \(1\):\n {2}usr_456 {2}jane@example\.com .*plan=premium.* UNSUBSCRIBED/);
    assert.match(stderr, /"Cancelled subscription"/);
  });

  test('--delivery queued waits for its writes; --no-wait leaves them to outbox drain', async () => {
    const script =
      'for i = 1, 5 do app.integrations.vero.track_event({ identity = "u" .. i, event_name = "Q" }) end';
    const waited = await cli(['run', '-', '--delivery', 'queued'], { env, input: script });
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr, /delivered 5 queued write\(s\), not delivered 0/);
    assert.equal(emulator.state().events.length, 5);

    emulator.reset();
    const later = await cli(['run', '-', '--delivery', 'queued', '--no-wait', '--json'], {
      env,
      input: script.replaceAll('"Q"', '"Later"'),
    });
    assert.equal(JSON.parse(later.stdout).calls.length, 5);
    const drained = await cli(['outbox', 'drain', '--json'], { env });
    assert.equal(drained.code, 0, drained.stderr);
    assert.equal(emulator.state().events.filter((e) => e.event_name === 'Later').length, 5);
    const status = JSON.parse((await cli(['outbox', 'status', '--json'], { env })).stdout);
    assert.equal(status.counts.pending, 0);
    assert.equal(status.counts.dead, 0);
  });

  test('bad usage exits 2', async () => {
    // With --emulator too: the embedded emulator must not keep the process alive after the error.
    assert.equal((await cli(['run', '-', '--emulator', '--delivery', 'later'], { env })).code, 2);
    const badConfig = await cli(['run', '-', '--emulator', '--config', 'no-such.json', '--json'], { env });
    assert.equal(badConfig.code, 2, 'a config file that cannot be read is a usage error, like a script file');
    assert.equal(JSON.parse(badConfig.stdout).error.code, 'invalid_config');
    assert.equal((await cli(['run', 'no-such-file.lua'], { env })).code, 2);
    assert.equal((await cli(['run', '-', '--timeout', 'soon'], { env })).code, 2);
    assert.equal((await cli(['run', '-', '--delivery', 'later'], { env })).code, 2);
    assert.equal((await cli(['run'], { env })).code, 2);
    // A client option at fault (raised below the runtime, by the Vero client) is a setup error too.
    const badBase = await cli(['call', 'vero.get_current_user', '--json'], {
      env: { ...env, VERO_BASE_URL: 'not a url' },
    });
    assert.equal(badBase.code, 2, badBase.stderr);
    assert.equal(JSON.parse(badBase.stdout).error.code, 'vero_config');
  });
});

describe('kosmo-vero outbox and import', () => {
  let emulator: RunningEmulator;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-import-'));
  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    env = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_OUTBOX: join(dir, 'outbox.db') };
  });
  after(() => emulator.close());

  test('import users.csv: bad rows reported by line and skipped, the rest delivered', async () => {
    const file = join(dir, 'users.csv');
    writeFileSync(
      file,
      'id,email,name,plan\nu1,u1@example.com,One,free\nu2,not-an-email,Two,pro\nu3,u3@example.com,,team\n',
    );
    const { code, stdout, stderr } = await cli(['import', file], { env });
    assert.equal(code, 1, 'a skipped row makes the exit code 1');
    assert.equal(stderr, 'line 3: vero.identify_user: email: invalid email address "not-an-email"\n');
    assert.equal(stdout, '3 rows: 2 accepted, 1 skipped; delivered 2, dead 0\n');
    const users = emulator.state().users;
    assert.deepEqual(
      users.map((u) => [u.id, u.data]),
      [
        ['u1', { name: 'One', plan: 'free' }],
        ['u3', { plan: 'team' }],
      ],
    );
  });

  test('import events.jsonl --events --json', async () => {
    const file = join(dir, 'events.jsonl');
    writeFileSync(
      file,
      '{"identity":"u1","event_name":"Imported","data":{"n":1}}\nnot json\n{"identity":"u1@example.com","event_name":"Imported","source":"crm"}\n',
    );
    const { stdout } = await cli(['import', file, '--events', '--json'], { env });
    const report = JSON.parse(stdout);
    assert.equal(report.accepted, 2);
    assert.equal(report.failed[0].line, 2);
    assert.equal(report.delivered, 2);
    const events = emulator.state().events.filter((e) => e.event_name === 'Imported');
    assert.deepEqual(events[1]?.identity, { email: 'u1@example.com' });
    assert.deepEqual(events[1]?.data, { source: 'crm' });
  });

  test('import with many dead writes: counted, the first ten named, the rest counted; same JSON keys', async () => {
    const file = join(dir, 'many.csv');
    writeFileSync(
      file,
      `id,email\n${Array.from({ length: 14 }, (_, i) => `m${i},m${i}@example.com`).join('\n')}\n`,
    );
    await addFaults(emulator, [{ endpoint: '/users/track', status: 400, count: 12 }]);
    // An outbox of its own: the dead writes stay there.
    const own = { ...env, KOSMO_VERO_OUTBOX: join(dir, 'many.db') };
    const { code, stdout } = await cli(['import', file, '--json'], { env: own });
    assert.equal(code, 1);
    const report = JSON.parse(stdout);
    assert.deepEqual(Object.keys(report), [
      'ok',
      'function_name',
      'rows',
      'accepted',
      'failed',
      'outbox_ids',
      'delivered',
      'dead',
      'waited',
      'error',
    ]);
    assert.deepEqual([report.ok, report.accepted, report.delivered, report.dead], [false, 14, 2, 12]);
    assert.equal(report.outbox_ids.length, 14);
    assert.equal(report.error.code, 'not_delivered');
    assert.match(
      report.error.message,
      /^12 queued writes not delivered: #\d+ vero\.identify_user dead: .*400/,
    );
    assert.equal(report.error.message.match(/vero\.identify_user dead/g)?.length, 10);
    assert.match(report.error.message, /; and 2 more\. See `kosmo-vero outbox status`/);
  });

  test('dead letters: status shows the error, retry --dead sends again', async () => {
    await addFaults(emulator, [{ endpoint: '/users/unsubscribe', status: 400 }]);
    const failed = await cli(['call', 'vero.unsubscribe', '{"id":"u1"}', '--delivery', 'queued', '--json'], {
      env,
    });
    assert.equal(failed.code, 1, 'a write that ends dead is a failure');
    assert.equal(JSON.parse(failed.stdout).ok, false);
    assert.equal(JSON.parse(failed.stdout).result.delivery.state, 'dead');
    const status = JSON.parse((await cli(['outbox', 'status', '--json'], { env })).stdout);
    assert.equal(status.counts.dead, 1);
    assert.match(status.last_errors[0].error, /400/);
    const retried = await cli(['outbox', 'retry', '--dead'], { env });
    assert.match(retried.stdout, /^1 write back to pending/);
    const drained = JSON.parse((await cli(['outbox', 'drain', '--json'], { env })).stdout);
    assert.equal(drained.delivered, 1);
    assert.equal(emulator.state().users.find((u) => u.id === 'u1')?.unsubscribed, true);
    const purged = JSON.parse((await cli(['outbox', 'purge', '--delivered', '--json'], { env })).stdout);
    assert.ok(purged.purged >= 1);
    assert.equal((await cli(['outbox', 'purge', '--older-than', 'soon'], { env })).code, 2);
    assert.equal((await cli(['outbox', 'retry'], { env })).code, 2);
  });
});
