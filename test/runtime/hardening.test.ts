/**
 * Configuration and calls that used to slip through: a typo'd integration key in permissions or accounts (a `deny`
 * that failed open), a dry run that still sent a read, and arguments too large or too deep for any Lua call that were
 * sent anyway from outside Lua. Each is refused (or answered) before anything reaches the emulator.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import { type ImportRow, readImportFile } from '../../src/runtime/import-file.js';
import { callTool } from '../../src/tools/index.js';
import { CANARY, exposed } from '../support/canary.js';
import { type Harness, startHarness } from '../support/runtime.js';

/** `depth` nested objects: `{ a: { a: ... } }`, built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe('permissions and accounts: an unknown integration key is a configuration error', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const env = () => ({ VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: h.emulator.url });

  for (const key of ['VERO', 'vero ', 'Vero', 'veor']) {
    test(`permissions key ${JSON.stringify(key)} fails closed, with a did-you-mean`, () => {
      assert.throws(
        () => createRuntime({ env: env(), config: { permissions: { [key]: { write: 'deny' } } } }),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'invalid_config');
          assert.equal(
            error.message,
            `the config option: permissions: unknown integration ${JSON.stringify(key)}. Did you mean "vero"? Integrations: "vero", "*" (spelled exactly). Fix it and try again.`,
          );
          return true;
        },
      );
      assert.throws(() => createRuntime({ env: env(), permissions: { [key]: { write: 'deny' } } }), {
        code: 'invalid_config',
        message: /^the permissions option: permissions: unknown integration .* Did you mean "vero"\?/,
      });
    });
  }

  test('in a config file, in accounts, and an unknown operation in the permissions option', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kosmo-config-')), 'config.json');
    writeFileSync(path, JSON.stringify({ permissions: { 'vero ': { write: 'deny' } } }));
    assert.throws(() => createRuntime({ env: env(), config: path }), {
      code: 'invalid_config',
      message: new RegExp(
        `^config file ${path}: permissions: unknown integration "vero "\\. Did you mean "vero"\\?`,
      ),
    });
    writeFileSync(path, JSON.stringify({ accounts: { VERO: { default: { authToken: CANARY } } } }));
    assert.throws(
      () => createRuntime({ env: env(), config: path }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'invalid_config');
        assert.match(error.message, /accounts: unknown integration "VERO"\. Did you mean "vero"\?/);
        assert.ok(!exposed(error).includes(CANARY));
        return true;
      },
    );
    assert.throws(
      () =>
        createRuntime({
          env: env(),
          permissions: { vero: { writes: 'deny' } } as unknown as Record<string, { write: 'deny' }>,
        }),
      { code: 'invalid_config', message: /permissions\.vero: Unrecognized key: "writes"/ },
    );
  });

  test('the exact key still denies, and nothing was sent by any of the refused runtimes', async () => {
    const runtime = createRuntime({ env: env(), permissions: { vero: { write: 'deny' } } });
    await assert.rejects(runtime.call('vero.unsubscribe', { id: 'u1' }), { code: 'permission_denied' });
    assert.deepEqual(h.emulator.state().requests, []);
  });
});

describe('dry-run sends nothing, reads included', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ dryRun: true });
  });
  after(() => h.close());

  test('get_current_user says what it would send (GET /heartbeat) and sends nothing', async () => {
    const result = await h.runtime.call('vero.get_current_user', {});
    assert.deepEqual(result, {
      status: 'dry_run',
      function_name: 'vero.get_current_user',
      account: 'default',
      request: {
        operation: 'heartbeat',
        method: 'GET',
        path: '/heartbeat',
        url: `${h.emulator.url}/heartbeat`,
        body: undefined,
      },
    });
    const run = await h.runtime.runLua('return app.integrations.vero.marketing.get_current_user({}).status');
    assert.equal(run.result, 'dry_run');
    assert.deepEqual(h.emulator.state().requests, []);
  });
});

describe('arguments from outside Lua meet the same bounds as a Lua call', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  beforeEach(() => h.emulator.reset());

  test('8 MB of arguments: refused naming the limit, nothing sent, not kept in the call log', async () => {
    const big = { identity: 'u1', event_name: 'e', data: { blob: 'x'.repeat(8 * 1024 * 1024) } };
    for (const delivery of ['direct', 'queued'] as const) {
      await assert.rejects(h.runtime.call('vero.track_event', big, { delivery }), {
        code: 'invalid_arguments',
        message:
          'vero.track_event: arguments are too large as JSON (8388661 bytes), above the limit of 1048576 bytes (maxArgBytes); send less per call',
      });
    }
    const viaTool = await callTool(h.runtime, 'vero_track_event', big).catch((error: Error) => error);
    assert.match((viaTool as Error).message, /above the limit of 1048576 bytes/);
    assert.deepEqual(h.emulator.state().requests, []);
    assert.equal(h.runtime.calls().at(-1)?.args, '[not recorded]');
  });

  test('20 000 levels deep: refused naming the depth (no stack overflow); 200 levels pass the bound', async () => {
    await assert.rejects(
      h.runtime.call('vero.track_event', { identity: 'u1', event_name: 'e', data: nested(20_000) }),
      {
        code: 'invalid_arguments',
        message: 'vero.track_event: arguments are nested more than 200 levels deep; flatten them',
      },
    );
    const sent = await h.runtime.call('vero.track_event', {
      identity: 'u1',
      event_name: 'e',
      data: nested(198),
    });
    assert.equal(sent.status, 'sent');
    assert.equal(h.emulator.state().requests.length, 1);
  });

  test('the bound follows the Lua limits: the runtime default, and a run that raises maxArgBytes', async () => {
    const runtime = createRuntime({
      env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: h.emulator.url },
      lua: { limits: { maxArgBytes: 64 * 1024 } },
    });
    try {
      const args = { identity: 'u1', event_name: 'e', data: { blob: 'x'.repeat(100_000) } };
      await assert.rejects(runtime.call('vero.track_event', args), {
        message: /above the limit of 65536 bytes \(maxArgBytes\)/,
      });
      const run = await runtime.runLua(
        'return app.integrations.vero.track_event({ identity = "u1", event_name = "e", data = { blob = string.rep("x", 100000) } }).status',
        { maxArgBytes: 128 * 1024 },
      );
      assert.equal(run.result, 'sent', JSON.stringify(run.error));
      assert.equal(h.emulator.state().requests.length, 1);
    } finally {
      await runtime.close();
    }
  });
});

describe('CSV import: unreadable rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-csv-'));
  const parameters = ['id', 'email'];
  const spec = { function: 'identify_user', dataField: 'data' };
  const allRows = async (path: string) => {
    const rows: ImportRow[] = [];
    for await (const row of await readImportFile(path, parameters, spec)) rows.push(row);
    return rows;
  };

  test('each bad quote costs its own row, reported on the line it starts; the rows around it are read', async () => {
    const path = join(dir, 'quotes.csv');
    writeFileSync(path, 'id,email\n"a"x,1\nb,2\nc,"open\nd,4\n');
    const rows = await allRows(path);
    assert.deepEqual(
      rows.map((row) => [row.line, row.args?.id ?? row.problem?.slice(0, 24)]),
      [
        [2, 'a quote in the middle of'],
        [3, 'b'],
        [4, 'a quoted field is never '],
        [5, 'd'],
      ],
    );
  });

  test('read as a stream: rows far into the file, across read chunks, keep their lines around bad quotes', async () => {
    const path = join(dir, 'long.csv');
    const lines = ['\uFEFFid,email,note'];
    for (let i = 1; i <= 6000; i++) {
      if (i === 1500) lines.push('bad,"x"y,1');
      else if (i === 4000) lines.push('open,"never closed');
      else if (i % 1000 === 0) lines.push(`u${i},u${i}@example.com,"two\nlines"`, '');
      else lines.push(`u${i},u${i}@example.com,${'n'.repeat(40)}`);
    }
    writeFileSync(path, `${lines.join('\r\n')}\r\n`);
    const rows = await allRows(path);
    const problems = rows.filter((row) => row.problem).map((row) => row.line);
    // Each multi-line row takes two lines and a blank line follows it: two more lines per thousand rows.
    assert.deepEqual(problems, [1503, 4007]);
    const byId = new Map(rows.flatMap((row) => (row.args ? [[row.args.id, row] as const] : [])));
    assert.equal(byId.size, 5998);
    assert.equal(byId.get('u1')?.line, 2);
    assert.equal(byId.get('u999')?.line, 1000);
    assert.equal(byId.get('u1000')?.line, 1002);
    assert.equal(byId.get('u1001')?.line, 1004);
    // The unclosed quote swallowed the lines after it up to the next quote: they are read again after it.
    assert.equal(byId.get('u4001')?.line, 4008);
    assert.equal(byId.get('u6000')?.line, 6010);
    assert.deepEqual(byId.get('u2000')?.args, {
      id: 'u2000',
      email: 'u2000@example.com',
      data: { note: 'two\nlines' },
    });
  });

  test('a quote that never closes stops swallowing the file after 2 MiB: that row is reported, the rest read', async () => {
    const path = join(dir, 'swallowed.csv');
    const rest = Array.from({ length: 40_000 }, (_, i) => `u${i},u${i}@example.com${' '.repeat(40)}`);
    writeFileSync(path, `id,email\nopen,"never closed\n${rest.join('\n')}\n`);
    const rows = await allRows(path);
    assert.deepEqual(
      rows.filter((row) => row.problem).map((row) => [row.line, row.problem]),
      [[2, 'the row is longer than 2 MiB (a quote that never closes?): close the quote']],
    );
    assert.equal(rows.filter((row) => row.args).length, 40_000);
    assert.equal(rows.at(-1)?.line, 40_002);
  });

  test('JSONL is read line by line: byte-order mark, CRLF, blank and bad lines', async () => {
    const path = join(dir, 'events.jsonl');
    writeFileSync(path, '\uFEFF{"id":"u1"}\r\n\r\n[1]\r\n{"id":"u2","plan":"pro"}\r\nnot json\r\n');
    const rows = await allRows(path);
    assert.deepEqual(
      rows.map((row) => [row.line, row.args ?? row.problem?.slice(0, 20)]),
      [
        [1, { id: 'u1' }],
        [3, 'expected one JSON ob'],
        [4, { id: 'u2', data: { plan: 'pro' } }],
        [5, 'not valid JSON: Unex'],
      ],
    );
  });

  test('more than 100 unreadable rows: the file is refused, naming the first lines', async () => {
    const path = join(dir, 'broken.csv');
    writeFileSync(path, `id,email\n${'x,"open\n'.repeat(150)}`);
    await assert.rejects(readImportFile(path, parameters, spec), {
      code: 'import_file',
      message:
        /^more than 100 rows cannot be read as CSV \(lines 2, 3, 4, 5, 6, \.\.\.\): check the file's quoting/,
    });
  });
});
