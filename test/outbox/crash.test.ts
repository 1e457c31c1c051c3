import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { type EmulatorFault, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { Outbox } from '../../src/outbox/index.js';
import { addFaults } from '../support/faults.js';
import { CANARY, job, sleep, spawnFixture, TEST_DESTINATION, tempDb } from './helpers.js';

let emulator: RunningEmulator;

before(async () => {
  // Default dedup window: a replayed write (same body) is answered "Request already received." and stored once.
  emulator = await startEmulator({ tokens: [CANARY] });
});
after(() => emulator.close());
beforeEach(() => emulator.reset());

const scriptFaults = (faults: EmulatorFault[]) => addFaults(emulator, faults);

/** Enqueues `perUser` tracked events for each of `users` users, interleaved; returns the expected seqs per user. */
async function enqueueWrites(file: string, users: number, total: number): Promise<Map<string, number[]>> {
  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: async () => undefined });
  const expected = new Map<string, number[]>();
  for (let seq = 0; seq < total; seq++) {
    const user = `user-${(seq * 7) % users}`;
    await outbox.enqueue(
      job(user, { identity: { id: user }, eventName: 'step', data: { seq } }, 'vero.track_event'),
    );
    expected.set(user, [...(expected.get(user) ?? []), seq]);
  }
  await outbox.close();
  return expected;
}

/** Seqs per user in the order the emulator first stored them (replays, if any, ignored). */
function firstOccurrences(): Map<string, number[]> {
  const seen = new Set<number>();
  const byUser = new Map<string, number[]>();
  for (const event of emulator.state().events) {
    const seq = event.data.seq as number;
    if (seen.has(seq)) continue;
    seen.add(seq);
    const user = event.identity.id ?? '';
    byUser.set(user, [...(byUser.get(user) ?? []), seq]);
  }
  return byUser;
}

async function finalCounts(file: string) {
  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: async () => undefined });
  const status = await outbox.status();
  await outbox.close();
  return status;
}

test('enqueue: every write acknowledged before a SIGKILL is in the file afterwards', async () => {
  const file = tempDb();
  const child = spawnFixture('enqueue-worker.ts', [file, '100000']);
  await child.waitForLine((line) => line === 'ready');
  await child.waitForLine((line) => line.startsWith('acked 500'));
  await sleep(Math.floor(Math.random() * 30));
  child.proc.kill('SIGKILL');
  const { signal } = await child.exited;
  assert.equal(signal, 'SIGKILL', 'killed mid-way, not finished');
  const acked = child.lines.filter((l) => l.startsWith('acked ')).map((l) => Number(l.slice(6)));
  assert.ok(acked.length >= 500);

  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: async () => undefined });
  const outcomes = await outbox.waitFor(acked, { timeoutMs: 0 });
  assert.equal(outcomes.length, acked.length);
  assert.ok(outcomes.every((o) => o.state === 'pending'));
  await outbox.close();
});

test('rows left "sending" by a killed process are delivered on the next run, right away', async () => {
  const file = tempDb();
  const setup = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: async () => undefined });
  const a = await setup.enqueue(job('u1', { n: 1 }));
  const b = await setup.enqueue(job('u1', { n: 2 }));
  await setup.close();

  const child = spawnFixture('hang-worker.ts', [file]);
  await child.waitForLine((line) => line === `claimed ${a.id}`);
  child.proc.kill('SIGKILL');
  await child.exited;
  assert.equal((await finalCounts(file)).counts.sending, 1);

  const delivered: Array<{ id: number; attempts: number; key: string }> = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: file,
    deliver: async (j) => {
      delivered.push({ id: j.id, attempts: j.attempts, key: j.key });
    },
  });
  // Well under the 30 s lease: the dead pid is noticed, not waited out.
  const result = await outbox.drain({ deadlineMs: 10_000 });
  assert.deepEqual(result, { delivered: 2, dead: 0, pending: 0 });
  assert.deepEqual(
    delivered.map(({ id, attempts }) => ({ id, attempts })),
    [
      { id: a.id, attempts: 2 },
      { id: b.id, attempts: 1 },
    ],
  );
  assert.equal(delivered[0]?.key, a.key, 'the replay carries the same key');
  const [outcome] = await outbox.waitFor([a.id]);
  assert.match(outcome?.error ?? '', /^interrupted: the process delivering it \(pid \d+\) stopped/);
  await outbox.close();
});

test('a drainer SIGKILLed 5 times loses no write and keeps per-user order', async (t) => {
  await scriptFaults([{ endpoint: '/events/track', latencyMs: 5, forever: true }]);
  const file = tempDb();
  const expected = await enqueueWrites(file, 20, 300);

  let kills = 0;
  for (let round = 0; round < 5; round++) {
    const child = spawnFixture('drain-worker.ts', [file, emulator.url]);
    const first = await Promise.race([
      child.waitForLine((line) => line.startsWith('progress ') || line.startsWith('done ')),
      child.exited.then(() => 'exited'),
    ]);
    if (first.startsWith('done ') || first === 'exited') {
      await child.exited;
      break;
    }
    await sleep(Math.floor(Math.random() * 150));
    child.proc.kill('SIGKILL');
    const { signal } = await child.exited;
    if (signal === 'SIGKILL') kills++;
    t.diagnostic(
      `kill ${round + 1}: after ${child.lines.filter((l) => l.startsWith('progress')).length} deliveries`,
    );
  }
  assert.ok(kills >= 1, 'at least one drainer was killed mid-run');

  const last = spawnFixture('drain-worker.ts', [file, emulator.url]);
  const { code } = await last.exited;
  assert.equal(code, 0, last.stderr());

  const status = await finalCounts(file);
  assert.deepEqual(status.counts, { pending: 0, sending: 0, delivered: 300, dead: 0, discarded: 0 });
  assert.deepEqual(Object.fromEntries(firstOccurrences()), Object.fromEntries(expected));
  assert.doesNotMatch(JSON.stringify(emulator.state().requests), new RegExp(CANARY));
});

test('two processes draining the same file at once send each write exactly once', async () => {
  await scriptFaults([{ endpoint: '/events/track', latencyMs: 5, forever: true }]);
  const file = tempDb();
  const expected = await enqueueWrites(file, 10, 200);
  const workers = [
    spawnFixture('drain-worker.ts', [file, emulator.url]),
    spawnFixture('drain-worker.ts', [file, emulator.url]),
  ];
  const exits = await Promise.all(workers.map((w) => w.exited));
  assert.deepEqual(
    exits.map((e) => e.code),
    [0, 0],
    workers.map((w) => w.stderr()).join('\n'),
  );
  const requests = emulator.state().requests.filter((r) => r.endpoint === '/events/track');
  assert.equal(requests.length, 200, 'no write sent twice');
  assert.deepEqual(Object.fromEntries(firstOccurrences()), Object.fromEntries(expected));
  const done = workers.map((w) => JSON.parse(w.lines.find((l) => l.startsWith('done '))?.slice(5) ?? '{}'));
  assert.equal(
    done.reduce((sum, d) => sum + d.delivered, 0),
    200,
  );
});
