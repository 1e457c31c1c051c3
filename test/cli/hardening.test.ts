/**
 * The CLI against hostile input: huge or deeply nested arguments, scripts that print terminal escape sequences,
 * broken import files, a typo'd permissions key and a dry-run read. Real subprocesses against a real emulator.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY } from '../support/canary.js';
import { addFaults } from '../support/faults.js';
import { cli } from './support.js';

const ESC = '\u001b';
const BEL = '\u0007';

describe('kosmo-vero CLI against hostile input', { concurrency: true }, () => {
  let emulator: RunningEmulator;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-hardening-'));
  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    env = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_OUTBOX: join(dir, 'outbox.db') };
  });
  after(() => emulator.close());

  const requestsFor = (id: string) =>
    emulator.state().requests.filter((r) => JSON.stringify(r.body ?? null).includes(id));

  test('call: 8 MB of arguments are refused before anything is sent, in text and --json', async () => {
    const args = JSON.stringify({
      identity: 'big_args',
      event_name: 'e',
      data: { blob: 'x'.repeat(8 * 1024 * 1024) },
    });
    const text = await cli(['call', 'vero.track_event', '-'], { env, input: args });
    assert.equal(text.code, 1);
    assert.equal(
      text.stderr,
      'kosmo-vero: vero.track_event: arguments are too large as JSON (8388667 bytes), above the limit of 1048576 bytes (maxArgBytes); send less per call\n',
    );
    const json = await cli(['call', 'vero.track_event', '-', '--json', '--delivery', 'queued'], {
      env,
      input: args,
    });
    assert.equal(json.code, 1);
    const out = JSON.parse(json.stdout);
    assert.equal(out.error.code, 'invalid_arguments');
    assert.equal(out.calls[0].args, '[not recorded]');
    assert.deepEqual(requestsFor('big_args'), []);
  });

  test('call: JSON nested 20 000 deep is refused naming the depth, no stack overflow', async () => {
    const deep = `{"identity":"deep_args","event_name":"e","data":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`;
    const run = await cli(['call', 'vero.track_event', '-'], { env, input: deep });
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      'kosmo-vero: vero.track_event: arguments are nested more than 200 levels deep; flatten them\n',
    );
    assert.deepEqual(requestsFor('deep_args'), []);
  });

  test('run: printed escape sequences and error messages reach the terminal escaped; --json escapes them too', async () => {
    const script = [
      `print("title \\27]0;pwned\\7 clear \\27[2J clip \\27]52;c;aGk=\\7 tab\\tend")`,
      `app.integrations.vero.identify_user({ id = "esc\\27[31m", email = "esc@example.com" })`,
      `error("bad \\27]0;owned\\7 \\13 done")`,
    ].join('\n');
    const text = await cli(['run', '-', '--emulator'], { input: script });
    assert.equal(text.code, 1);
    for (const stream of [text.stdout, text.stderr]) {
      assert.ok(
        !stream.includes(ESC) && !stream.includes(BEL) && !stream.includes('\r'),
        JSON.stringify(stream),
      );
    }
    assert.match(
      text.stdout,
      /^title \\x1b\]0;pwned\\x07 clear \\x1b\[2J clip \\x1b\]52;c;aGk=\\x07 tab\tend$/m,
    );
    // The emulator summary goes to stderr (stdout is the script's own output).
    assert.match(text.stderr, /esc\\x1b\[31m/, 'the emulator summary shows the id escaped');
    assert.match(text.stderr, /script error \(line 3\): .*bad \\x1b\]0;owned\\x07 \\x0d done/);
    const json = await cli(['run', '-', '--json'], { input: script.split('\n')[0], env });
    assert.equal(json.code, 0, json.stderr);
    assert.ok(!json.stdout.includes(ESC));
    assert.match(JSON.parse(json.stdout).output[0], new RegExp(`title ${ESC}\\]0;pwned${BEL}`));
  });

  test('accounts test: a remote answer carrying escape sequences is shown escaped', async () => {
    const hostile = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    try {
      await addFaults(hostile, [
        { endpoint: '/heartbeat', status: 503, body: { message: `down ${ESC}]0;pwned${BEL} ${ESC}[2J` } },
      ]);
      const run = await cli(['accounts', 'test'], { env: { ...env, VERO_BASE_URL: hostile.url } });
      assert.equal(run.code, 1);
      assert.ok(!run.stdout.includes(ESC) && !run.stdout.includes(BEL), JSON.stringify(run.stdout));
      assert.match(run.stdout, /UNREACHABLE: HTTP 503: "down \\x1b\]0;pwned\\x07 \\x1b\[2J"/);
    } finally {
      await hostile.close();
    }
  });

  test('import: a bad quote skips its row only, by line; a BOM is fine; --json always prints JSON', async () => {
    const csv = join(dir, 'quotes.csv');
    writeFileSync(
      csv,
      'id,email\nq1,q1@example.com\nq2,"bad"q2@example.com\n\nq3,q3@example.com\nq4,"unclosed\nq5,q5@example.com\n',
    );
    const text = await cli(['import', csv, '--no-wait'], { env });
    assert.equal(text.code, 1);
    assert.equal(
      text.stderr,
      'line 3: a quote in the middle of a field: quote the whole field and double the quotes inside it ("say ""hi""")\n' +
        'line 6: a quoted field is never closed: add the closing quote\n',
    );
    assert.equal(text.stdout, '5 rows: 3 accepted, 2 skipped; run `kosmo-vero outbox drain` to deliver\n');
    const json = JSON.parse((await cli(['import', csv, '--json'], { env })).stdout);
    assert.equal(json.ok, false);
    assert.deepEqual(
      json.failed.map((f: { line: number }) => f.line),
      [3, 6],
    );
    assert.equal(json.delivered, 3);

    const bom = join(dir, 'bom.jsonl');
    writeFileSync(bom, '\uFEFF{"id":"b1","email":"b1@example.com"}\n{"id":"b2","email":"b2@example.com"}\n');
    const withBom = JSON.parse((await cli(['import', bom, '--json'], { env })).stdout);
    assert.deepEqual([withBom.ok, withBom.accepted, withBom.failed, withBom.delivered], [true, 2, [], 2]);

    for (const args of [
      ['import', '--json'],
      ['import', join(dir, 'missing.csv'), '--json'],
    ]) {
      const failed = await cli(args, { env });
      assert.notEqual(failed.code, 0);
      const report = JSON.parse(failed.stdout);
      assert.equal(report.ok, false, args.join(' '));
      assert.ok(report.error.message.length > 0);
    }
  });

  test('a permissions typo in --config stops the call before anything is sent', async () => {
    const config = join(dir, 'typo.json');
    writeFileSync(config, JSON.stringify({ permissions: { VERO: { write: 'deny' } } }));
    const run = await cli(['call', 'vero.unsubscribe', '{"id":"typo_user"}', '--config', config], { env });
    assert.equal(run.code, 2, 'an invalid --config file is a usage error');
    assert.match(run.stderr, /permissions: unknown integration "VERO"\. Did you mean "vero"\?/);
    assert.deepEqual(requestsFor('typo_user'), []);
  });

  test('--dry-run get_current_user sends nothing and says what it would send', async () => {
    const before = emulator.state().requests.filter((r) => r.endpoint === '/heartbeat').length;
    const run = await cli(['call', 'vero.get_current_user', '--dry-run'], { env });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.status, 'dry_run');
    assert.deepEqual([result.request.method, result.request.path], ['GET', '/heartbeat']);
    assert.equal(emulator.state().requests.filter((r) => r.endpoint === '/heartbeat').length, before);
  });
});
