import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY } from '../support/canary.js';
import { cli, lines } from './support.js';

describe('kosmo-vero call, against an emulator', { concurrency: true }, () => {
  let emulator: RunningEmulator;
  let env: Record<string, string>;
  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    env = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url };
  });
  after(() => emulator?.close());

  // Tests run concurrently against one emulator: each uses its own user ids.
  const requestsFor = (id: string) =>
    emulator.state().requests.filter((r) => JSON.stringify(r.body ?? null).includes(`"${id}"`));

  test('text: prints the result as JSON, exit 0, and the write reaches the emulator', async () => {
    const run = await cli(['call', 'vero.identify_user', '{"id":"cli_text","email":"text@example.com"}'], {
      env,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      status: 'sent',
      function_name: 'vero.identify_user',
      account: 'default',
      id: 'cli_text',
      email: 'text@example.com',
      message: 'Success.',
    });
    assert.equal(run.stderr, '');
    assert.equal(emulator.state().users.find((u) => u.id === 'cli_text')?.email, 'text@example.com');
  });

  test('--json: one object { ok, result, calls, error }', async () => {
    const run = await cli(['call', 'vero_add_tags', '{"id":"cli_json","tags":["vip"]}', '--json'], {
      env,
    });
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.deepEqual(Object.keys(out), ['ok', 'result', 'calls', 'error']);
    assert.equal(out.ok, true);
    assert.equal(out.result.status, 'sent');
    assert.equal(out.error, null);
    assert.equal(out.calls.length, 1);
    assert.equal(out.calls[0].function_name, 'vero.add_tags');
    assert.equal(out.calls[0].status, 'sent');
  });

  test('arguments from stdin with "-"', async () => {
    const run = await cli(['call', 'vero.track_event', '-'], {
      env,
      input: '{"identity":"cli_stdin","event_name":"Piped","data":{"n":1}}\n',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).event_name, 'Piped');
    const event = emulator.state().events.find((e) => e.identity.id === 'cli_stdin');
    assert.deepEqual(event?.data, { n: 1 });
  });

  test('an invalid argument: exit 1, one line on stderr, nothing sent; --json puts the error on stdout', async () => {
    const args = ['call', 'vero.identify_user', '{"id":"cli_bad","email":"bob@"}'];
    const [text, json] = await Promise.all([cli(args, { env }), cli([...args, '--json'], { env })]);
    assert.equal(text.code, 1);
    assert.equal(text.stdout, '');
    assert.deepEqual(lines(text.stderr), [
      'kosmo-vero: vero.identify_user: email: invalid email address "bob@"',
    ]);
    assert.equal(json.code, 1);
    const out = JSON.parse(json.stdout);
    assert.equal(out.ok, false);
    assert.equal(out.result, null);
    assert.deepEqual(out.error, {
      code: 'invalid_arguments',
      message: 'vero.identify_user: email: invalid email address "bob@"',
    });
    assert.equal(out.calls[0].status, 'error');
    assert.deepEqual(requestsFor('cli_bad'), []);
  });

  test('an unknown function: exit 1 naming the functions', async () => {
    const run = await cli(['call', 'vero.identfy_user', '{}'], { env });
    assert.equal(run.code, 1);
    assert.equal(lines(run.stderr).length, 1);
    assert.match(run.stderr, /unknown function "vero\.identfy_user"/);
    assert.match(run.stderr, /vero\.identify_user/);
  });

  test('arguments that are not JSON: usage error, exit 2, one line', async () => {
    const [inline, piped] = await Promise.all([
      cli(['call', 'vero.unsubscribe', '{id:1}'], { env }),
      cli(['call', 'vero.unsubscribe', '-'], { env, input: 'not json' }),
    ]);
    for (const run of [inline, piped]) {
      assert.equal(run.code, 2);
      assert.equal(run.stdout, '');
      assert.equal(lines(run.stderr).length, 1, run.stderr);
      assert.match(run.stderr, /^kosmo-vero: arguments must be one JSON object/);
    }
  });

  test('--dry-run shows the request and sends nothing; --read-only denies the write', async () => {
    const args = ['call', 'vero.unsubscribe', '{"id":"cli_dry"}'];
    const [dry, readOnly] = await Promise.all([
      cli([...args, '--dry-run'], { env }),
      cli([...args, '--read-only', '--json'], { env }),
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout);
    assert.equal(planned.status, 'dry_run');
    assert.ok(planned.request);
    assert.equal(readOnly.code, 1);
    assert.equal(JSON.parse(readOnly.stdout).error.code, 'permission_denied');
    assert.deepEqual(requestsFor('cli_dry'), []);
    assert.ok(!dry.stdout.includes(CANARY) && !readOnly.stdout.includes(CANARY));
  });

  test('a credential Vero rejects: exit 1, vero_auth, the credential nowhere', async () => {
    const run = await cli(['call', 'vero.resubscribe', '{"id":"cli_auth"}', '--json'], {
      env: { ...env, VERO_AUTH_TOKEN: `${CANARY}-wrong` },
    });
    assert.equal(run.code, 1);
    assert.equal(JSON.parse(run.stdout).error.code, 'vero_auth');
    assert.ok(!run.stdout.includes(CANARY) && !run.stderr.includes(CANARY));
  });

  test('--emulator: an embedded emulator, no account needed', async () => {
    const run = await cli(['call', 'vero.get_current_user', '--emulator'], {});
    assert.equal(run.code, 0, run.stderr);
    const profile = JSON.parse(run.stdout);
    assert.equal(profile.connectivity.ok, true);
    assert.match(profile.base_url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v2$/);
  });
});
