import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY, CANARY_MARKETING } from '../support/canary.js';
import { addFaults } from '../support/faults.js';
import { cli } from './support.js';

// Two emulators stand in for two real Vero accounts (project A and project B of one OS user, sharing an outbox).
describe('kosmo-vero outbox: destinations', () => {
  let accountA: RunningEmulator;
  let accountB: RunningEmulator;
  let envA: Record<string, string>;
  let envB: Record<string, string>;
  const queueTwo =
    'app.integrations.vero.track_event({ identity = "usr_1", event_name = "A1" })\n' +
    'app.integrations.vero.track_event({ identity = "usr_2", event_name = "A2" })';

  before(async () => {
    accountA = await startEmulator({ tokens: [{ token: CANARY, label: 'a' }] });
    accountB = await startEmulator({ tokens: [{ token: CANARY_MARKETING, label: 'b' }] });
    const outbox = join(mkdtempSync(join(tmpdir(), 'kosmo-cli-outbox-')), 'outbox.db');
    envA = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: accountA.url, KOSMO_VERO_OUTBOX: outbox };
    envB = { VERO_AUTH_TOKEN: CANARY_MARKETING, VERO_BASE_URL: accountB.url, KOSMO_VERO_OUTBOX: outbox };
  });
  after(async () => {
    await accountA.close();
    await accountB.close();
  });

  test('real writes queued with --no-wait survive an --emulator run and a drain by another project', async () => {
    const queued = await cli(['run', '-', '--delivery', 'queued', '--no-wait'], {
      env: envA,
      input: queueTwo,
    });
    assert.equal(queued.code, 0, queued.stderr);

    // A trial run on the embedded emulator queues in memory: it neither sees nor delivers the real writes.
    const trial = await cli(['run', '-', '--emulator', '--delivery', 'queued', '--json'], {
      env: envA,
      input: 'app.integrations.vero.track_event({ identity = "usr_1", event_name = "Trial" })',
    });
    assert.equal(trial.code, 0, trial.stderr);
    assert.deepEqual(
      JSON.parse(trial.stdout).emulator.events.map((e: { event_name: string }) => e.event_name),
      ['Trial'],
    );

    // Project B drains the shared file: nothing it holds can deliver A's writes, so it attempts none and says so.
    const drainB = await cli(['outbox', 'drain'], { env: envB });
    assert.equal(drainB.code, 1);
    assert.match(
      drainB.stderr,
      new RegExp(
        `not delivered here: #1 2 writes \\(2 pending\\) for vero/default at ${accountA.url.replaceAll('.', '\\.')} with a credential ending …${CANARY.slice(-4)}; set VERO_AUTH_TOKEN or VERO_TRACKING_API_KEY to that credential`,
      ),
    );
    assert.match(drainB.stdout, /delivered 0, dead 0, still pending 0, waiting for another account 2/);
    assert.equal(accountA.state().requests.length, 0);
    assert.equal(accountB.state().requests.length, 0);

    const status = await cli(['outbox', 'status', '--json'], { env: envB });
    const [waiting] = JSON.parse(status.stdout).destinations;
    assert.equal(waiting.pending, 2);
    assert.equal(waiting.deliverable_as, null);
    assert.match(waiting.hint, /^set VERO_AUTH_TOKEN or VERO_TRACKING_API_KEY to that credential/);

    const drainA = await cli(['outbox', 'drain', '--json'], { env: envA });
    assert.equal(drainA.code, 0, drainA.stderr);
    assert.deepEqual(JSON.parse(drainA.stdout), {
      ok: true,
      delivered: 2,
      dead: 0,
      pending: 0,
      waiting: [],
      paused: [],
      held: [],
    });
    assert.deepEqual(
      accountA.state().events.map((e) => e.event_name),
      ['A1', 'A2'],
    );
    assert.equal(accountB.state().events.length, 0);
    for (const output of [queued, trial, drainB, status, drainA]) {
      assert.ok(!`${output.stdout}${output.stderr}`.includes(CANARY), 'no credential in any output');
    }
  });

  test('a drain without a credential attempts nothing, exits 1 and says which variable to set', async () => {
    const queued = await cli(
      ['call', 'vero.unsubscribe', '{"id":"usr_3"}', '--delivery', 'queued', '--no-wait'],
      {
        env: envA,
      },
    );
    assert.equal(queued.code, 0, queued.stderr);
    const { VERO_AUTH_TOKEN: _token, ...noCredential } = envA;
    const drained = await cli(['outbox', 'drain'], { env: noCredential });
    assert.equal(drained.code, 1);
    assert.match(drained.stderr, /set VERO_AUTH_TOKEN or VERO_TRACKING_API_KEY to that credential/);
    const status = JSON.parse((await cli(['outbox', 'status', '--json'], { env: noCredential })).stdout);
    assert.equal(status.counts.dead, 0, 'a forgotten export kills nothing');
    assert.equal(status.counts.pending, 1);
    assert.equal((await cli(['outbox', 'drain'], { env: envA })).code, 0);
  });

  test('--emulator refuses --no-wait and --outbox: its writes never reach a file a real drain reads', async () => {
    const noWait = await cli(['run', '-', '--emulator', '--delivery', 'queued', '--no-wait'], {
      env: envA,
      input: 'print(1)',
    });
    assert.equal(noWait.code, 2);
    assert.match(noWait.stderr, /--no-wait cannot go with --emulator/);
    const refusedFile = join(mkdtempSync(join(tmpdir(), 'kosmo-cli-refused-')), 'o.db');
    const outbox = await cli(['import', 'x.csv', '--emulator', '--outbox', refusedFile], { env: envA });
    assert.equal(outbox.code, 2);
    assert.match(outbox.stderr, /--outbox cannot go with --emulator/);
    assert.equal(existsSync(refusedFile), false, 'the refused outbox file was not created');
  });

  test('retry of an id that does not exist is an error naming the dead ones; move hands writes to another account', async () => {
    const missing = await cli(['outbox', 'retry', '999'], { env: envA });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /retry: no write with id 999 in this outbox \(no write is dead\)/);

    // Rotation: writes queued with the old credential wait until the operator moves them to the new one.
    const rotated = await startEmulator({ tokens: [{ token: CANARY_MARKETING, label: 'new' }] });
    try {
      const outbox = join(mkdtempSync(join(tmpdir(), 'kosmo-cli-rotate-')), 'outbox.db');
      const oldEnv = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: rotated.url, KOSMO_VERO_OUTBOX: outbox };
      const newEnv = { ...oldEnv, VERO_AUTH_TOKEN: CANARY_MARKETING };
      await cli(['call', 'vero.unsubscribe', '{"id":"usr_9"}', '--delivery', 'queued', '--no-wait'], {
        env: oldEnv,
      });
      const before = await cli(['outbox', 'status'], { env: newEnv });
      assert.match(
        before.stdout,
        /#1 1 write \(1 pending\) for vero\/default at .* outbox move --from 1 --to <account>/,
      );
      const moved = await cli(['outbox', 'move', '--from', '1', '--to', 'default'], { env: newEnv });
      assert.equal(moved.code, 0, moved.stderr);
      assert.match(moved.stdout, /1 write moved to account "default"/);
      const drained = await cli(['outbox', 'drain'], { env: newEnv });
      assert.equal(drained.code, 0, drained.stderr);
      assert.ok(rotated.state().users.some((u) => u.id === 'usr_9' && u.unsubscribed));
    } finally {
      await rotated.close();
    }
  });

  test('a dead write holds back its user: run reports it instead of hanging; discard lets the rest go', async () => {
    await addFaults(accountA, [{ endpoint: '/users/unsubscribe', status: 400, count: 1 }]);
    const script =
      'app.integrations.vero.unsubscribe({ id = "usr_held" })\n' +
      'app.integrations.vero.resubscribe({ id = "usr_held" })\n' +
      'app.integrations.vero.track_event({ identity = "usr_free", event_name = "Free" })';
    const run = await cli(['run', '-', '--delivery', 'queued'], { env: envA, input: script });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /unsubscribe dead: .*HTTP 400/);
    assert.match(run.stderr, /resubscribe pending \(held behind dead write #\d+ of the same user\)/);
    assert.ok(
      accountA.state().events.some((e) => e.event_name === 'Free'),
      'other users are not held',
    );

    const status = await cli(['outbox', 'status'], { env: envA });
    const held =
      /held: #(\d+) unsubscribe \(default\) is dead: .*HTTP 400.*; 1 later write of usr_held waits behind it/.exec(
        status.stdout,
      );
    assert.ok(held, status.stdout);
    const discarded = await cli(['outbox', 'discard', held[1] as string], { env: envA });
    assert.equal(discarded.code, 0, discarded.stderr);
    assert.match(discarded.stdout, /1 dead write discarded/);
    const drained = await cli(['outbox', 'drain', '--json'], { env: envA });
    assert.equal(drained.code, 0, drained.stderr);
    assert.equal(JSON.parse(drained.stdout).delivered, 1);
    const user = accountA.state().users.find((u) => u.id === 'usr_held');
    assert.equal(user?.unsubscribed, false, 'the resubscribe went, after the discarded unsubscribe');
  });

  test('a damaged outbox file: queueing and draining fail at once with a message, exit 1, nothing acknowledged', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kosmo-cli-damaged-')), 'outbox.db');
    const env = { ...envA, KOSMO_VERO_OUTBOX: file };
    const script =
      'for i = 1, 200 do app.integrations.vero.track_event({ identity = "u" .. i, event_name = "E" }) end';
    assert.equal(
      (await cli(['run', '-', '--delivery', 'queued', '--no-wait'], { env, input: script })).code,
      0,
    );
    const fd = openSync(file, 'r+');
    const middle = Math.floor(statSync(file).size / 4096 / 2) * 4096;
    writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, middle);
    closeSync(fd);

    const queued = await cli(['run', '-', '--delivery', 'queued', '--no-wait', '--json'], {
      env,
      input: 'return app.integrations.vero.unsubscribe({ id = "usr_d" })',
    });
    assert.equal(queued.code, 1);
    const report = JSON.parse(queued.stdout);
    assert.equal(report.ok, false);
    assert.match(report.error.message, /is damaged .*Move the file aside/);
    assert.equal(report.calls[0]?.status, 'error', 'the write was not acknowledged as queued');

    const drained = await cli(['outbox', 'drain'], { env });
    assert.equal(drained.code, 1);
    assert.match(drained.stderr, /is damaged/);
  });
});
