// Issue 16: what a newcomer trips over in the first hour, item by item: in-process through main(), and through the
// built binary where a terminal or the process itself matters.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY } from '../support/canary.js';
import { addFaults } from '../support/faults.js';
import { runToEnd } from '../support/process.js';
import { cli, isolatedEnv, launchCli, lines, serve } from './support.js';
import { runOnTerminal } from './terminal.js';

const dir = mkdtempSync(join(tmpdir(), 'kosmo-first-hour-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const TRACK = 'print(app.integrations.vero.track_event({ identity = "u1", event_name = "E" }).status)';

describe('issue 16: the CLI as a newcomer meets it', () => {
  let emulator: RunningEmulator;
  let env: Record<string, string>;
  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    env = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_OUTBOX: join(dir, 'outbox.db') };
  });
  after(() => emulator.close());
  beforeEach(() => emulator.reset());

  test('1. run --dry-run shows each request, credential redacted, in text and --json; needs no account', async () => {
    const text = await cli(['run', '-', '--dry-run'], { env: {}, input: TRACK });
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'dry_run\n', 'stdout stays the script’s own output');
    assert.match(
      text.stderr,
      /^dry run: POST https:\/\/api\.getvero\.com\/api\/v2\/events\/track \{"auth_token":"\[redacted\]","identity":\{"id":"u1"\},"event_name":"E"/m,
    );
    const json = await cli(['run', '-', '--dry-run', '--json'], { env, input: TRACK });
    const report = JSON.parse(json.stdout);
    assert.deepEqual(report.output, ['dry_run']);
    assert.equal(report.calls[0].request.url, `${emulator.url}/events/track`);
    assert.equal(report.calls[0].request.body.auth_token, '[redacted]');
    assert.ok(!json.stdout.includes(CANARY) && !json.stderr.includes(CANARY));
    const call = await cli(['call', 'vero.unsubscribe', '{"id":"u1"}', '--dry-run'], { env: {} });
    assert.equal(call.code, 0, call.stderr);
    assert.equal(JSON.parse(call.stdout).request.url, 'https://api.getvero.com/api/v2/users/unsubscribe');
    assert.deepEqual(emulator.state().requests, [], 'a dry run sends nothing');
  });

  test('2. accounts test: nothing configured and an unknown name are errors saying how to configure', async () => {
    const none = await cli(['accounts', 'test']);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /no account is configured.*VERO_AUTH_TOKEN/);
    const noneJson = JSON.parse((await cli(['accounts', 'test', '--json'])).stdout);
    assert.equal(noneJson.ok, false);
    const unknown = await cli(['accounts', 'test', 'nosuch'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown account "nosuch".*Set VERO_NOSUCH_AUTH_TOKEN to add it/);
    for (const flag of ['--dry-run', '--read-only', '--account=x']) {
      for (const sub of ['list', 'test']) {
        const run = await cli(['accounts', sub, flag], { env });
        assert.equal(run.code, 2, `accounts ${sub} ${flag}`);
        assert.match(run.stderr, /unknown option/);
      }
    }
  });

  test('3. VERO_BASE_URL is every account’s base unless VERO_<NAME>_BASE_URL says otherwise', async () => {
    const named = { VERO_BASE_URL: emulator.url, VERO_MARKETING_AUTH_TOKEN: CANARY };
    const call = await cli(
      ['call', 'vero.track_event', '{"identity":"m1","event_name":"M"}', '--account', 'marketing'],
      { env: { ...named, KOSMO_VERO_OUTBOX: join(dir, 'outbox.db') } },
    );
    assert.equal(call.code, 0, call.stderr);
    assert.equal(emulator.state().events[0]?.event_name, 'M');
    const list = await cli(['accounts', 'list'], {
      env: {
        ...named,
        VERO_SALES_AUTH_TOKEN: 'sales-token-1234',
        VERO_SALES_BASE_URL: 'http://127.0.0.1:9/api/v2',
      },
    });
    // VERO_BASE_URL alone is a shared setting, not a default account.
    assert.deepEqual(
      lines(list.stdout).map((line) => [line.split('\t')[0], line.split('\t').at(-1)]),
      [
        ['vero.marketing', emulator.url],
        ['vero.sales', 'http://127.0.0.1:9/api/v2'],
      ],
    );
    const defaults = JSON.parse(
      (await cli(['accounts', 'list', '--json'], { env: { VERO_AUTH_TOKEN: 'x' } })).stdout,
    );
    assert.equal(defaults.accounts[0].base_url, 'https://api.getvero.com/api/v2', 'the actual URL, not null');
    // A mistyped URL is reported with the variable to fix, not the library's option name.
    const typo = await cli(
      ['call', 'vero.track_event', '{"identity":"u","event_name":"E"}', '--account', 'marketing'],
      {
        env: { VERO_BASE_URL: 'localhost:8787', VERO_MARKETING_AUTH_TOKEN: CANARY },
      },
    );
    assert.equal(typo.code, 2, 'configuration to fix: a usage error');
    assert.match(
      typo.stderr,
      /the base URL "localhost:8787" is not an http\(s\) URL.*fix VERO_MARKETING_BASE_URL or VERO_BASE_URL/,
    );
    assert.ok(!/VeroClient|baseUrl is/.test(typo.stderr));
  });

  test('4. a hung server: --request-timeout (or requestTimeoutMs in --config) bounds it and is named', async () => {
    await addFaults(emulator, [{ endpoint: '/events/track', hang: true, forever: true }]);
    const args = ['call', 'vero.track_event', '{"identity":"u1","event_name":"E"}'];
    const flag = await cli([...args, '--request-timeout', '100'], { env });
    assert.equal(flag.code, 1);
    assert.match(
      flag.stderr,
      /did not answer within 100 ms.*raise --request-timeout <ms> \(or requestTimeoutMs/,
    );
    assert.ok(!/timeoutMs if/.test(flag.stderr), 'no library option name');
    const config = file('timeout.json', '{"requestTimeoutMs": 150}');
    const fromConfig = await cli([...args, '--config', config], { env });
    assert.match(fromConfig.stderr, /did not answer within 150 ms/);
    assert.equal((await cli([...args, '--request-timeout', 'soon'], { env })).code, 2);
  });

  test('4. on a terminal, each retry is a progress line', async () => {
    await addFaults(emulator, [{ endpoint: '/events/track', status: 503, count: 1 }]);
    const run = await runOnTerminal(['call', 'vero.track_event', '{"identity":"u1","event_name":"E"}'], {
      env,
    });
    assert.equal(run.code, 0, run.stdout);
    assert.match(
      run.stdout,
      /vero\/default \/events\/track: attempt 1 failed \(HTTP 503.*\); retrying in \d/,
    );
    assert.equal(emulator.state().events.length, 1);
  });

  test('5. --emulator needs nothing, even with VERO_EMAIL set and no token', async () => {
    const run = await cli(['run', '-', '--emulator'], {
      env: { VERO_EMAIL: 'ops@example.com' },
      input: TRACK,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'sent\n');
  });

  test('6. "write": "ask": a terminal asks y/N showing the call; without one the error says how to allow', async () => {
    const config = file('ask.json', '{"permissions":{"vero":{"write":"ask"}}}');
    const args = ['call', 'vero.track_event', '{"identity":"u1","event_name":"Asked"}', '--config', config];
    const piped = await cli(args, { env });
    assert.equal(piped.code, 1);
    assert.match(
      piped.stderr,
      /no terminal to ask on.*set permissions\.vero\.write to "allow" in the --config file/,
    );
    assert.ok(!/callback/.test(piped.stderr));
    const no = await runOnTerminal(args, { env, input: 'n\n' });
    assert.match(
      no.stdout,
      /vero\.track_event \(account "default"\) with \{"identity":"u1","event_name":"Asked"\}/,
    );
    assert.match(no.stdout, /allow this write\? \[y\/N\]/);
    assert.match(no.stdout, /refused when approval was asked/);
    assert.deepEqual(emulator.state().events, []);
    const yes = await runOnTerminal(args, { env, input: 'y\n' });
    assert.equal(yes.code, 0, yes.stdout);
    assert.equal(emulator.state().events[0]?.event_name, 'Asked');
  });

  test('7. a failed queued run says why and points to outbox status; --no-wait says how delivery happens', async () => {
    await addFaults(emulator, [{ endpoint: '/users/unsubscribe', status: 400, forever: true }]);
    const script =
      'app.integrations.vero.unsubscribe({ id = "a" })\napp.integrations.vero.unsubscribe({ id = "b" })';
    const text = await cli(['run', '-', '--delivery', 'queued'], { env, input: script });
    assert.equal(text.code, 1);
    assert.match(text.stderr, /delivered 0 queued write\(s\), not delivered 2/);
    assert.match(
      text.stderr,
      /2 queued writes not delivered: #\d+ vero\.unsubscribe dead: .*400.*; #\d+ vero\.unsubscribe dead: .*`kosmo-vero outbox status`/,
    );
    // Other users: the dead writes above hold back later writes for a and b until retried or discarded.
    const others = script.replace('"a"', '"c"').replace('"b"', '"d"');
    const json = JSON.parse(
      (await cli(['run', '-', '--delivery', 'queued', '--json'], { env, input: others })).stdout,
    );
    assert.equal(json.ok, false);
    assert.equal(json.error.code, 'not_delivered');
    assert.match(json.error.message, /400/);
    const noWait = await cli(['run', '-', '--delivery', 'queued', '--no-wait'], { env, input: TRACK });
    assert.equal(noWait.code, 0);
    assert.match(
      noWait.stderr,
      /^1 write queued in the outbox; run `kosmo-vero outbox drain` to deliver them$/m,
    );
    await cli(['outbox', 'drain'], { env });
  });

  test('8. import: a wrong header is reported once; delivery shows progress; exit codes agree with run', async () => {
    const wrong = file('wrong.csv', 'user_id,email\nu1,u1@example.com\nu2,u2@example.com\n');
    const run = await cli(['import', wrong], { env });
    assert.equal(run.code, 1);
    assert.deepEqual(lines(run.stderr), [
      'kosmo-vero: the header has no id column: expected id, email, name, data (required: id, email; any other column becomes a data attribute), found user_id, email',
    ]);
    assert.equal((await cli(['import', join(dir, 'missing.csv')], { env })).code, 2);
    assert.equal((await cli(['run', join(dir, 'missing.lua')], { env })).code, 2);
    assert.equal((await cli(['import', file('users.txt', 'id\n')], { env })).code, 2);
    for (const command of [
      ['run', '-'],
      ['import', wrong],
      ['call', 'vero.track_event', '{}'],
    ]) {
      const run = await cli([...command, '--config', join(dir, 'missing.json')], { env });
      assert.equal(run.code, 2, `${command[0]} --config missing.json`);
      assert.match(run.stderr, /cannot read config file .*missing\.json/);
    }

    const rows = Array.from({ length: 6 }, (_, i) => `u${i},u${i}@example.com`).join('\n');
    const users = file('users.csv', `id,email\n${rows}\n`);
    await addFaults(emulator, [{ endpoint: '/users/track', latencyMs: 300, count: 6 }]);
    const slow = await runOnTerminal(['import', users], { env });
    assert.equal(slow.code, 0, slow.stdout);
    assert.match(slow.stdout, /delivering \[#*\.*\] \d\/6/);
    assert.match(slow.stdout, /6 rows: 6 accepted, 0 skipped; delivered 6, dead 0/);
    const one = JSON.parse(
      (await cli(['import', file('one.csv', 'id,email\nu9,u9@example.com\n'), '--json'], { env })).stdout,
    );
    assert.equal(one.ok, true);
  });

  test('9. run --account nosuch is a usage error with the hint; the same hint in Lua', async () => {
    const run = await cli(['run', '-', '--account', 'nosuch'], { env, input: TRACK });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown account "nosuch".*Set VERO_NOSUCH_AUTH_TOKEN to add it\./);
    for (const command of [['call', 'vero.track_event', '{}'], ['import', 'users.csv'], ['mcp']]) {
      const other = await cli([...command, '--account', 'nosuch'], { env });
      assert.equal(other.code, 2, command[0]);
      assert.match(other.stderr, /Set VERO_NOSUCH_AUTH_TOKEN to add it\./, command[0]);
    }
    const lua = await cli(['run', '-'], { env, input: 'app.integrations.vero.nosuch.track_event({})' });
    assert.equal(lua.code, 1);
    assert.match(
      lua.stderr,
      // KosmoKrator's wording for an unknown name (nothing close: every function and the accounts), then the hint.
      /Unknown function: app\.integrations\.vero\.nosuch\. .*\(accounts: default\)\. Set VERO_NOSUCH_AUTH_TOKEN to add it\./,
    );
  });

  test('10. run --emulator keeps stdout for the script; a closed pipe ends quietly', async () => {
    const run = await cli(['run', '--emulator', '-', '--json'], { input: TRACK });
    assert.deepEqual(JSON.parse(run.stdout).output, ['sent'], 'stdout is one JSON object');
    const text = await cli(['run', '--emulator', '-'], { input: TRACK });
    assert.equal(text.stdout, 'sent\n');
    assert.match(text.stderr, /--- the emulator at .* received 1 request/);

    // The built binary: a closed pipe is the process's own stdout.
    const child = launchCli(['docs']);
    child.proc.stdout.destroy(); // the reader is gone before the first write, as with `| head -0`
    const { code } = await child.exited;
    assert.equal(child.stderr(), '');
    assert.equal(code, 0);
  });

  test('11. docs takes a function’s short name; an unknown page points to kosmo-vero docs --list', async () => {
    // The integration's page: its signature index, then the reference.
    assert.match(
      (await cli(['docs', 'vero'])).stdout,
      /^# app\.integrations\.vero — Vero\n[\s\S]*^# Vero — Lua API Reference$/m,
    );
    for (const name of ['track_event', 'vero.track_event', 'vero_track_event']) {
      const run = await cli(['docs', name]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^# track_event/);
    }
    const unknown = await cli(['docs', 'nosuch']);
    assert.match(unknown.stderr, /`kosmo-vero docs --list` lists all/);
    assert.ok(!unknown.stderr.includes('lua_list_docs'));
  });

  test('13. one JSON key style; import --json has ok; no library or Lua wording in CLI messages', async () => {
    await addFaults(emulator, [{ endpoint: '/users/unsubscribe', status: 400 }]);
    await cli(['call', 'vero.unsubscribe', '{"id":"k"}', '--delivery', 'queued'], { env });
    const keys = (value: unknown): string[] =>
      Array.isArray(value)
        ? value.flatMap(keys)
        : value && typeof value === 'object'
          ? Object.entries(value).flatMap(([key, item]) => [key, ...keys(item)])
          : [];
    const status = JSON.parse((await cli(['outbox', 'status', '--json'], { env })).stdout);
    assert.ok(status.last_errors.length > 0 && status.destinations.length > 0);
    for (const command of [['status'], ['drain'], ['retry', '--dead'], ['purge']]) {
      const out = JSON.parse((await cli(['outbox', ...command, '--json'], { env })).stdout);
      assert.deepEqual(
        keys(out).filter((key) => /[A-Z]/.test(key)),
        [],
        `outbox ${command[0]}`,
      );
      assert.equal(typeof out.ok, 'boolean', `outbox ${command[0]} --json has ok`);
    }
    const readOnly = await cli(['run', '-', '--read-only'], { env, input: TRACK });
    assert.match(
      readOnly.stderr,
      /read-only \(--read-only\).*Run without --read-only to allow writes, or with --dry-run to preview them\./,
    );
    assert.ok(!/readOnly|use dry-run/.test(readOnly.stderr));
  });

  test('14. emulator: second stdout line is the bare inspector URL; GET / points to it; port and --db errors', async () => {
    const served = serve(['emulator', '--quiet']);
    const [api, inspector] = await served.firstLines(2);
    assert.equal(inspector, `${new URL(api ?? '').origin}/_emulator/`);
    const root = await fetch(`${new URL(api ?? '').origin}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/_emulator/');
    assert.equal(await served.stop(), 0);

    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = String((busy.address() as { port: number }).port);
    const taken = await cli(['emulator', '--port', port]);
    busy.close();
    assert.equal(taken.code, 2);
    assert.deepEqual(lines(taken.stderr), [
      `kosmo-vero: port ${port} on 127.0.0.1 is already in use: pick another with --port, or leave --port out for a free one`,
    ]);
    const badDb = await cli(['emulator', '--db', join(dir, 'no-such-dir', 'vero.db')]);
    assert.equal(badDb.code, 2);
    assert.match(badDb.stderr, /--db .*no-such-dir\/vero\.db: cannot open it/);
  });

  test('14. help reads naturally; outbox subcommands have examples; purge needs no --delivered', async () => {
    const emulatorHelp = await cli(['emulator', '--help']);
    assert.ok(!/\(default: ["[]/.test(emulatorHelp.stdout), emulatorHelp.stdout);
    assert.match(emulatorHelp.stdout, /--port <port> +port \(default: a free one\)/);
    for (const sub of ['status', 'drain', 'retry', 'move', 'purge']) {
      assert.match((await cli(['outbox', sub, '--help'])).stdout, /Examples:\n {2}kosmo-vero outbox /, sub);
    }
    const purge = await cli(['outbox', 'purge'], { env });
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /^purged \d+ delivered writes?\n$/);
    assert.equal((await cli(['outbox', 'purge', '--delivered'], { env })).code, 0, 'still accepted');
  });

  test('14. a script with a shebang line and a UTF-8 BOM runs; counts are singular when 1', async () => {
    const script = file('exec.lua', `\uFEFF#!/usr/bin/env kosmo-vero run\nprint("hi")\nerror("boom")\n`);
    const run = await cli(['run', script], { env });
    assert.equal(run.stdout, 'hi\n');
    assert.match(run.stderr, /script error \(line 3\): .*boom/, 'line numbers unchanged');
    const one = await cli(['import', file('single.csv', 'id,email\nu1,u1@example.com\n')], { env });
    assert.match(one.stdout, /^1 row: 1 accepted/);
  });
});

test('12. npm run demo runs from the sources: no build step, and it works', async () => {
  const { code, stdout, stderr } = await runToEnd('npm', ['run', '--silent', 'demo'], { env: isolatedEnv() });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /step 3: ok/);
  assert.match(stderr, /users \(1\):\n {2}usr_456 {2}jane@example\.com .*UNSUBSCRIBED/);
  assert.ok(!/tsc|copy-assets/.test(stdout + stderr), 'nothing was built');
});
