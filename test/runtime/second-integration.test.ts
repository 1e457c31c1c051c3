import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Cli } from '../../src/cli/io.js';
import { openRuntime } from '../../src/cli/runtime-options.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createRuntime } from '../../src/index.js';
import { vero } from '../../src/integrations/vero/index.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { notes } from '../fixtures/integrations/notes/index.js';
import { type NotesService, startNotesService } from '../fixtures/integrations/notes/service.js';
import { CANARY, CANARY_MARKETING, exposed } from '../support/canary.js';

// A second integration is a folder (test/fixtures/integrations/notes) handed to the runtime next to Vero: nothing
// in src/ names it, yet Lua, queued delivery, dry runs, docs, account listings, imports and --emulator all serve it.
describe('a second integration, from its folder alone', () => {
  let emulator: RunningEmulator;
  let service: NotesService;
  let runtime: Runtime;
  let dir: string;

  const env = () => ({
    VERO_AUTH_TOKEN: CANARY,
    VERO_BASE_URL: emulator.url,
    NOTES_API_KEY: CANARY_MARKETING,
    NOTES_URL: service.url,
    NOTES_WORKSPACE: 'team',
  });
  // The CLI's runtime as a command opens it, with this suite's environment and nowhere to print.
  const quietCli = () =>
    new Cli({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), env: env() });

  before(async () => {
    emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    service = await startNotesService([CANARY_MARKETING]);
    dir = mkdtempSync(join(tmpdir(), 'kosmo-second-'));
    runtime = createRuntime({ env: env(), integrations: [vero, notes], outbox: join(dir, 'outbox.db') });
  });

  after(async () => {
    await runtime?.close();
    await service?.close();
    await emulator?.close();
  });

  test('one script calls both integrations, each through its own client to its own service', async () => {
    const run = await runtime.runLua(`
      local added = app.integrations.notes.add_note({ title = "Call Jane", body = "renewal" })
      app.integrations.notes.archive_note(added.id or "n1")
      app.integrations.vero.track_event({ identity = "usr_1", event_name = "Noted" })
      return { added = added, listed = #app.integrations.notes.list_notes({}).notes }
    `);
    assert.equal(run.error, null);
    assert.deepEqual(
      service.notes.map(({ title, body, archived }) => [title, body, archived]),
      [['Call Jane', 'renewal', true]],
    );
    assert.ok(service.requests.every((request) => request.token === CANARY_MARKETING));
    assert.deepEqual(
      emulator.state().events.map((event) => event.event_name),
      ['Noted'],
    );
    const result = run.result as { added: Record<string, unknown>; listed: number };
    assert.deepEqual(result.added, {
      status: 'sent',
      function_name: 'notes.add_note',
      account: 'default',
      title: 'Call Jane',
      message: 'added n1',
    });
    assert.equal(result.listed, 1);
    assert.ok(!exposed(run).includes(CANARY_MARKETING) && !exposed(run).includes(CANARY));
  });

  test('its writes queue in the outbox under their own destination and are delivered by its client', async () => {
    // No background delivery: the write waits in the outbox until the wait below starts the drainer.
    const queuing = createRuntime({
      env: env(),
      integrations: [vero, notes],
      outbox: join(dir, 'queued.db'),
      delivery: 'queued',
      background: false,
    });
    try {
      const queued = await queuing.call('notes.add_note', { title: 'Queued' });
      assert.equal(queued.status, 'queued');
      assert.ok(!service.notes.some((note) => note.title === 'Queued'));
      assert.deepEqual(
        (await queuing.outbox().status()).destinations.map((d) => [
          d.integration,
          d.account,
          d.endpoint,
          d.pending,
          d.deliverableAs,
        ]),
        [['notes', 'default', service.url, 1, 'default']],
      );
      const [outcome] = await queuing.waitForDelivery([queued.outbox_id as number]);
      assert.equal(outcome?.state, 'delivered');
      assert.ok(service.notes.some((note) => note.title === 'Queued'));
    } finally {
      await queuing.close();
    }
  });

  test('a dry run shows its request with the key redacted and sends nothing', async () => {
    const before = service.requests.length;
    const preview = await runtime.call('notes.add_note', { title: 'Dry' }, { dryRun: true });
    assert.deepEqual(preview.request, {
      method: 'POST',
      url: `${service.url}/notes`,
      headers: { authorization: 'Bearer [redacted]' },
      body: { title: 'Dry' },
    });
    assert.equal(service.requests.length, before);
  });

  test('its reference, guide included, is a doc page like Vero’s', () => {
    const page = runtime.readDoc('integrations.notes');
    assert.match(page, /app\.integrations\.notes\.add_note/);
    assert.match(page, /## Working with Notes/);
  });

  test('account listings show the settings it lists (workspace), not Vero’s', () => {
    const accounts = runtime.accounts();
    assert.deepEqual(
      accounts.map((a) => [a.integration, a.name, a.base_url, a.settings]),
      [
        ['vero', 'default', emulator.url, {}],
        ['notes', 'default', service.url, { workspace: 'team' }],
      ],
    );
    assert.ok(!exposed(accounts).includes(CANARY_MARKETING));
  });

  test('an import kind only it offers needs no integration name; one Vero offers too must be named', async () => {
    const file = join(dir, 'notes.csv');
    writeFileSync(file, 'title,body,source\nImported,from a file,crm\n');
    const summary = await runtime.importFile(file, { kind: 'notes', delivery: 'direct' });
    assert.deepEqual([summary.function_name, summary.accepted, summary.failed], ['notes.add_note', 1, []]);
    await assert.rejects(runtime.importFile(file, { kind: 'events', delivery: 'direct' }), {
      code: 'unknown_function',
      message: /several integrations import "events" \(vero, notes\); name one/,
    });
    const named = await runtime.importFile(file, {
      kind: 'events',
      integration: 'notes',
      delivery: 'direct',
    });
    assert.equal(named.accepted, 1);
    assert.equal(service.notes.filter((note) => note.title === 'Imported').length, 2);
  });

  test('--emulator points only the integrations with an emulator (Vero) at it; notes keeps its own service', async () => {
    const cli = await openRuntime(quietCli(), { emulator: true }, { integrations: [vero, notes] });
    try {
      const bases = Object.fromEntries(cli.runtime.accounts().map((a) => [a.integration, a.base_url]));
      assert.deepEqual(bases, { vero: cli.emulator?.url, notes: service.url });
      const sent = await cli.runtime.call('notes.add_note', { title: 'Via the CLI runtime' });
      assert.equal(sent.status, 'sent');
      assert.ok(service.notes.some((note) => note.title === 'Via the CLI runtime'));
    } finally {
      await cli.close();
    }
    await assert.rejects(openRuntime(quietCli(), { emulator: true }, { integrations: [notes] }), {
      code: 'usage',
      message: '--emulator: none of the integrations (notes) has an emulator',
    });
  });
});
