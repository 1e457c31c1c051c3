import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY } from '../support/canary.js';
import { postgresUnavailable, tempSchema } from '../support/postgres.js';
import { runCli } from './support.js';

test('a PostgreSQL outbox that cannot be reached: exit 1, the URL shown with its password masked', async () => {
  const url = 'postgres://kv:s3cret-pass@127.0.0.1:1/test';
  const status = await runCli(['outbox', 'status', '--outbox', url]);
  assert.equal(status.code, 1);
  assert.match(status.stderr, /postgres:\/\/kv:\*\*\*@127\.0\.0\.1:1\/test.*could not be reached/);
  assert.doesNotMatch(status.stderr + status.stdout, /s3cret-pass/);
});

const skip = await postgresUnavailable();

describe('kosmo-vero outbox on PostgreSQL (the built binary)', { skip }, () => {
  let emulator: RunningEmulator;
  const schema = tempSchema();
  let env: Record<string, string>;
  before(async () => {
    emulator = await startEmulator({ tokens: [CANARY] });
    env = { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_OUTBOX: schema.url };
  });
  after(async () => {
    await emulator.close();
    await schema.drop();
  });

  test('call queues into it, status counts, drain delivers, retry/discard answer, purge removes', async () => {
    for (const event_name of ['First', 'Second']) {
      const queued = await runCli(
        [
          'call',
          'vero.track_event',
          JSON.stringify({ identity: 'usr_1', event_name }),
          '--delivery',
          'queued',
          '--no-wait',
        ],
        { env },
      );
      assert.equal(queued.code, 0, queued.stderr);
    }
    const before = await runCli(['outbox', 'status', '--json'], { env });
    assert.equal(before.code, 0, before.stderr);
    assert.equal(JSON.parse(before.stdout).counts.pending, 2);

    const drain = await runCli(['outbox', 'drain', '--json'], { env });
    assert.equal(drain.code, 0, drain.stderr);
    assert.equal(JSON.parse(drain.stdout).delivered, 2);
    assert.deepEqual(
      emulator.state().events.map((e) => e.event_name),
      ['First', 'Second'],
    );

    const retry = await runCli(['outbox', 'retry', '--dead', '--json'], { env });
    assert.equal(JSON.parse(retry.stdout).retried, 0);
    const discard = await runCli(['outbox', 'discard', '1'], { env });
    assert.equal(discard.code, 1);
    assert.match(discard.stderr, /write 1 is already delivered/);

    const purge = await runCli(['outbox', 'purge', '--json'], { env });
    assert.equal(JSON.parse(purge.stdout).purged, 2);
    const afterPurge = await runCli(['outbox', 'status', '--json'], { env });
    assert.equal(JSON.parse(afterPurge.stdout).counts.delivered, 0);
    for (const output of [before, drain, purge, afterPurge])
      assert.doesNotMatch(output.stdout + output.stderr, new RegExp(CANARY));
  });
});
