import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Outbox, OutboxError } from '../../src/outbox/index.js';
import { newLockOwner, releaseLockOwner } from '../../src/outbox/liveness.js';
import { OutboxStore } from '../../src/outbox/sqlite/store.js';
import { CANARY, failure, job, TEST_DESTINATION, tempDb } from './helpers.js';

const ok = async () => ({ status: 200, message: 'Success.' });

test('enqueue rejects jobs that are not storable, naming the field', async () => {
  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: tempDb(), deliver: ok });
  await assert.rejects(async () => outbox.enqueue({ ...job('u', {}), fn: '' }), {
    code: 'outbox_invalid_job',
    message: /`fn`/,
  });
  for (const orderingKeys of [[], [''], ['u', 7], 'u', undefined]) {
    await assert.rejects(
      async () => outbox.enqueue({ ...job('u', {}), orderingKeys: orderingKeys as string[] }),
      {
        code: 'outbox_invalid_job',
        message: /`orderingKeys`/,
      },
    );
  }
  await assert.rejects(async () => outbox.enqueue(job('u', undefined)), {
    code: 'outbox_invalid_job',
    message: /payload/,
  });
  await assert.rejects(async () => outbox.enqueue(job('u', { n: 1n })), {
    code: 'outbox_invalid_job',
    message: /payload/,
  });
  assert.throws(
    () => new Outbox({ destinations: [TEST_DESTINATION], path: tempDb(), deliver: ok, concurrency: 0 }),
    OutboxError,
  );
  await outbox.close();
  await assert.rejects(async () => outbox.enqueue(job('u', {})), { code: 'outbox_closed' });
});

test('drain stops at its deadline and leaves the rest pending', async () => {
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: tempDb(),
    deliver: async () => {
      throw failure('HTTP 503', { retryable: true, retryAfterMs: 60_000 });
    },
  });
  await outbox.enqueue(job('u1', {}));
  assert.deepEqual(await outbox.drain({ deadlineMs: 200 }), { delivered: 0, dead: 0, pending: 1 });
  const { id } = await outbox.enqueue(job('u2', {}));
  assert.deepEqual(await outbox.waitFor([id], { timeoutMs: 50 }), [{ id, state: 'pending' }]);
  await outbox.close();
});

test('the stored error is the message only: no credential from cause, properties or stack', async () => {
  const file = tempDb();
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: file,
    deliver: async () => {
      const error = failure('POST /users/track: HTTP 400 Bad Request', { retryable: false });
      Object.assign(error, { authToken: CANARY, request: { body: { auth_token: CANARY } } });
      error.cause = new Error(`fetch with ${CANARY}`);
      error.stack = `Error: ${CANARY}`;
      throw error;
    },
  });
  const { id } = await outbox.enqueue(job('u1', { id: 'u1' }));
  await outbox.drain();
  const [outcome] = await outbox.waitFor([id]);
  assert.equal(outcome?.error, 'POST /users/track: HTTP 400 Bad Request');
  assert.doesNotMatch(JSON.stringify(await outbox.status()), new RegExp(CANARY));
  await outbox.close();
  for (const name of fs.readdirSync(path.dirname(file))) {
    const bytes = fs.readFileSync(path.join(path.dirname(file), name));
    assert.equal(bytes.includes(CANARY), false, `${name} contains the canary`);
  }
});

test('defaultPath is under the user data directory', () => {
  assert.match(Outbox.defaultPath(), /kosmo-vero[/\\]outbox\.db$/);
});

test("synchronous 'full' fsyncs enqueues only: claims and outcomes commit at NORMAL, and FULL is back after each", () => {
  const store = new OutboxStore(tempDb(), 'full');
  const synchronous = () => store.db.pragma('synchronous', { simple: true });
  const row = { integration: 'test', account: 'a', endpoint: 'e', fingerprint: 'f', credentialHint: 'h' };
  const destination = { id: store.destinationId(row, 1), ...row, pausedUntil: null, pauseReason: null };
  store.insert({ key: 'k', destination, fn: 'test.write', orderingKeys: ['u1'], payload: '{}', now: 1 });
  assert.equal(synchronous(), 2, 'FULL after an enqueue');
  const owner = newLockOwner();
  const seenInside: unknown[] = [];
  const request = {
    owner,
    outcomes: [],
    limit: 1,
    now: 2,
    leaseMs: 30_000,
    maxInterruptions: 10,
    serve: () => {
      seenInside.push(synchronous());
      return [{ destination, account: 'a' }];
    },
    gates: [() => true],
  };
  const [claimed] = store.claim(request).jobs;
  assert.ok(claimed);
  const outcome = { kind: 'delivered' as const, job: claimed, result: 'null', now: 3 };
  assert.deepEqual(store.claim({ ...request, outcomes: [outcome] }).recorded, [true]);
  assert.deepEqual(seenInside, [1, 1], 'NORMAL inside each claim');
  assert.equal(synchronous(), 2, 'FULL again after the claims');
  assert.throws(() =>
    store.claim({
      ...request,
      serve: () => {
        throw new Error('serve failed');
      },
    }),
  );
  assert.equal(synchronous(), 2, 'FULL again after a claim that failed');
  releaseLockOwner(owner);
  store.close();
});
