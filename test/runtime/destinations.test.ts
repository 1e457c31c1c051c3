import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createRuntime } from '../../src/index.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { CANARY, CANARY_MARKETING } from '../support/canary.js';

// Two emulators stand in for two Vero accounts (say, two projects of one OS user): each accepts only its token.
describe('queued writes go only to the destination they were accepted for', () => {
  let accountA: RunningEmulator;
  let accountB: RunningEmulator;
  let outboxFile: string;
  const runtimes: Runtime[] = [];

  const project = (token: string, emulator: RunningEmulator, extra: Record<string, string> = {}) => {
    const runtime = createRuntime({
      env: { VERO_AUTH_TOKEN: token, VERO_BASE_URL: emulator.url, ...extra },
      outbox: outboxFile,
      delivery: 'queued',
      background: false,
    });
    runtimes.push(runtime);
    return runtime;
  };

  before(async () => {
    accountA = await startEmulator({ tokens: [{ token: CANARY, label: 'a' }] });
    accountB = await startEmulator({ tokens: [{ token: CANARY_MARKETING, label: 'b' }] });
    outboxFile = join(mkdtempSync(join(tmpdir(), 'kosmo-destinations-')), 'outbox.db');
  });

  after(async () => {
    for (const runtime of runtimes) await runtime.close();
    await accountA.close();
    await accountB.close();
  });

  test("another project's drainer leaves A's writes pending, untouched; A's own drainer delivers them", async () => {
    const a = project(CANARY, accountA);
    const b = project(CANARY_MARKETING, accountB);
    const queued = await a.call('vero.track_event', { identity: 'usr_1', event_name: 'From A' });
    assert.equal(queued.status, 'queued');

    assert.deepEqual(await b.outbox().drain(), { delivered: 0, dead: 0, pending: 0 });
    assert.equal(accountB.state().requests.length, 0);
    assert.equal(accountA.state().requests.length, 0);
    const seenByB = await b.outbox().status();
    assert.equal(seenByB.counts.pending, 1);
    const [waiting] = seenByB.destinations;
    assert.equal(waiting?.deliverableAs, null, 'B holds no matching account');
    assert.equal(waiting?.endpoint, accountA.url);
    assert.equal(waiting?.credentialHint, `…${CANARY.slice(-4)}`);
    assert.equal(waiting?.pending, 1);

    // Nothing was attempted: no attempt counted, no error stored.
    const db = new Database(outboxFile, { readonly: true });
    assert.deepEqual(db.prepare('SELECT attempts, last_error AS error FROM outbox_jobs').all(), [
      { attempts: 0, error: null },
    ]);
    db.close();

    assert.deepEqual(await a.outbox().drain(), { delivered: 1, dead: 0, pending: 0 });
    assert.deepEqual(
      accountA.state().events.map((e) => e.event_name),
      ['From A'],
    );
    assert.equal(accountB.state().events.length, 0);
  });

  test('the same account name at another base URL, or with another credential, is another destination', async () => {
    const sameTokenElsewhere = project(CANARY, accountB);
    const otherToken = project(CANARY_MARKETING, accountA);
    const a = project(CANARY, accountA);
    await a.call('vero.identify_user', { id: 'usr_2', email: 'jane@example.com' });
    assert.equal((await sameTokenElsewhere.outbox().drain()).delivered, 0);
    assert.equal((await otherToken.outbox().drain()).delivered, 0);
    assert.equal(accountB.state().requests.length, 0);
    assert.equal((await a.outbox().drain()).delivered, 1);
    assert.ok(accountA.state().users.some((u) => u.id === 'usr_2'));
  });

  test('a drainer with no credential attempts nothing; the status says which credential to set', async () => {
    const a = project(CANARY, accountA);
    await a.call('vero.track_event', { identity: 'usr_3', event_name: 'Waits' });
    const none = createRuntime({
      env: { VERO_BASE_URL: accountA.url },
      outbox: outboxFile,
      background: false,
    });
    runtimes.push(none);
    assert.deepEqual(await none.outbox().drain(), { delivered: 0, dead: 0, pending: 0 });
    const status = await none.outbox().status();
    assert.equal(status.counts.dead, 0);
    assert.equal(status.counts.pending, 1);
    assert.equal(none.credentialVariable('vero', 'default'), 'VERO_AUTH_TOKEN or VERO_TRACKING_API_KEY');
    await a.outbox().drain();
  });

  test('ordering keys are per destination: a user held back in one account does not hold the same id in another', async () => {
    const a = project(CANARY, accountA);
    const b = project(CANARY_MARKETING, accountB);
    await a.call('vero.track_event', { identity: 'usr_shared', event_name: 'A waits' });
    await b.call('vero.track_event', { identity: 'usr_shared', event_name: 'B goes' });
    assert.equal((await b.outbox().drain()).delivered, 1);
    assert.ok(accountB.state().events.some((e) => e.event_name === 'B goes'));
    assert.equal((await a.outbox().drain()).delivered, 1);
  });

  test('after a credential rotation the operator moves the old destination’s writes; nothing moves by itself', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kosmo-rotation-')), 'outbox.db');
    const rotated = await startEmulator({ tokens: [{ token: CANARY_MARKETING, label: 'new' }] });
    try {
      const before = createRuntime({
        env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: rotated.url },
        outbox: file,
        delivery: 'queued',
        background: false,
      });
      await before.call('vero.unsubscribe', { id: 'usr_9' });
      await before.close();
      const afterRotation = createRuntime({
        env: { VERO_AUTH_TOKEN: CANARY_MARKETING, VERO_BASE_URL: rotated.url },
        outbox: file,
        background: false,
      });
      runtimes.push(afterRotation);
      assert.equal((await afterRotation.outbox().drain()).delivered, 0);
      const [old] = (await afterRotation.outbox().status()).destinations;
      assert.equal(old?.deliverableAs, null);
      await assert.rejects(async () => afterRotation.moveQueuedWrites(99, 'default'), {
        code: 'invalid_config',
        message: /no pending or dead writes wait for destination #99 \(destinations with writes: #1\)/,
      });
      assert.equal(await afterRotation.moveQueuedWrites(old?.id as number, 'default'), 1);
      assert.equal((await afterRotation.outbox().drain()).delivered, 1);
      assert.ok(rotated.state().users.some((u) => u.id === 'usr_9' && u.unsubscribed));
    } finally {
      await rotated.close();
    }
  });

  test('the outbox file keeps a keyed fingerprint and a masked hint, never the credential', async () => {
    const db = new Database(outboxFile, { readonly: true });
    const rows = db.prepare('SELECT * FROM outbox_destinations').all() as Array<Record<string, unknown>>;
    db.close();
    assert.ok(rows.length >= 2);
    for (const row of rows) {
      assert.match(String(row.fingerprint), /^[0-9a-f]{32}$/);
      assert.ok(!JSON.stringify(row).includes(CANARY) && !JSON.stringify(row).includes(CANARY_MARKETING));
    }
  });
});
