import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { Outbox } from '../../src/outbox/index.js';
import { until } from '../support/clock.js';
import { addFaults } from '../support/faults.js';
import { postgresUnavailable, tempSchema } from '../support/postgres.js';
import type { Launched } from '../support/process.js';
import { CANARY, spawnFixture } from './helpers.js';

/*
 * Several hosts on one PostgreSQL outbox: three producer processes accept 600 writes for 20 users while three
 * drainer processes deliver them, and drainers are SIGKILLed and restarted along the way. The producers stand in
 * for `kosmo-vero serve` hosts (each accepts writes through the runtime and delivers nothing); swapping serve in
 * means spawning it instead and sending the same calls over MCP.
 */
const skip = await postgresUnavailable();

const PRODUCERS = 3;
const DRAINERS = 3;
const PER_PRODUCER = 200;
const USERS = 20;
const LEASE_MS = 5000;
/** Deliveries in flight per drainer: few, and slow requests (below), so a backlog builds and kills hit work. */
const CONCURRENCY = 2;
/** Deliveries after which a drainer is killed (gates on what happened, not on time). */
const KILL_AFTER = [40, 120, 220, 320, 420];

let emulator: RunningEmulator;
const schema = tempSchema();

before(async () => {
  // Default dedup window: a replayed write (same body) is answered "Request already received." and stored once.
  emulator = await startEmulator({ tokens: [CANARY] });
  await addFaults(emulator, [{ endpoint: '/events/track', latencyMs: 100, forever: true }]);
});
after(async () => {
  await emulator.close();
  if (!skip) await schema.drop();
});

test('3 producers and 3 drainers on one database, drainers SIGKILLed 5 times: all delivered, in order per user', {
  skip,
}, async (t) => {
  const drainer = () =>
    spawnFixture('pg-drainer.ts', [schema.url, emulator.url, String(LEASE_MS), String(CONCURRENCY)]);
  const drainers: Launched[] = [];
  for (let i = 0; i < DRAINERS; i++) drainers.push(drainer());
  // The first one migrates the new schema; the others wait on its advisory lock and find it done.
  await Promise.all(drainers.map((d) => d.waitForLine((line) => line === 'ready')));

  const producers = Array.from({ length: PRODUCERS }, (_, p) =>
    spawnFixture('pg-producer.ts', [
      schema.url,
      emulator.url,
      String(p),
      String(PER_PRODUCER),
      String(USERS),
    ]),
  );
  const stored = () => emulator.state().events.length;

  let kills = 0;
  for (const threshold of KILL_AFTER) {
    await until(() => stored() >= threshold, `${threshold} writes delivered`);
    const victim = kills % DRAINERS;
    const child = drainers[victim] as Launched;
    child.proc.kill('SIGKILL');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL', child.stderr());
    kills++;
    t.diagnostic(`killed drainer ${victim} after ${stored()} deliveries`);
    // Its replacement starts while the others go on; the next kill waits for more deliveries, not for it.
    drainers[victim] = drainer();
  }

  const exits = await Promise.all(producers.map((p) => p.exited));
  assert.deepEqual(
    exits.map((e) => e.code),
    Array(PRODUCERS).fill(0),
    producers.map((p) => p.stderr()).join('\n'),
  );
  // Every acknowledged write: its outbox id and user, by the write's own name.
  const accepted = new Map<string, { id: number; user: string }>();
  for (const producer of producers) {
    for (const line of producer.lines.filter((l) => l.startsWith('queued '))) {
      const [, id, user, write] = line.split(' ');
      accepted.set(write as string, { id: Number(id), user: user as string });
    }
  }
  assert.equal(accepted.size, PRODUCERS * PER_PRODUCER);

  // An observer on the same database waits for every write (drainers elsewhere deliver them).
  const observer = new Outbox({ path: schema.url, deliver: async () => undefined });
  const outcomes = await observer.waitFor([...accepted.values()].map((w) => w.id));
  assert.deepEqual(
    outcomes.filter((o) => o.state !== 'delivered'),
    [],
  );
  assert.deepEqual((await observer.status()).counts, {
    pending: 0,
    sending: 0,
    delivered: PRODUCERS * PER_PRODUCER,
    dead: 0,
    discarded: 0,
  });
  await observer.close();
  for (const d of drainers) d.proc.kill('SIGKILL');
  await Promise.all(drainers.map((d) => d.exited));

  // Each user's writes reached Vero in the order they were accepted (the outbox id order); replays ignored.
  const firstSeen = new Set<string>();
  const idsByUser = new Map<string, number[]>();
  for (const event of emulator.state().events) {
    const write = event.data.write as string;
    if (firstSeen.has(write)) continue;
    firstSeen.add(write);
    const { id, user } = accepted.get(write) as { id: number; user: string };
    assert.equal(event.identity.id, user);
    idsByUser.set(user, [...(idsByUser.get(user) ?? []), id]);
  }
  assert.equal(firstSeen.size, PRODUCERS * PER_PRODUCER, 'every write delivered');
  assert.equal(idsByUser.size, USERS);
  for (const [user, ids] of idsByUser) {
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      `${user}: delivered in accepted order`,
    );
  }
  // Repeats only as at-least-once allows: a killed drainer's writes in flight, sent again by another.
  const sent = emulator.state().requests.filter((r) => r.endpoint === '/events/track').length;
  const repeats = sent - PRODUCERS * PER_PRODUCER;
  t.diagnostic(`${repeats} repeated requests after ${kills} kills`);
  assert.ok(repeats >= 0 && repeats <= kills * CONCURRENCY, `${repeats} repeats for ${kills} kills`);
  const output = [...producers, ...drainers].map((c) => c.lines.join('\n') + c.stderr()).join('\n');
  assert.doesNotMatch(output, new RegExp(CANARY));
  assert.doesNotMatch(JSON.stringify(emulator.state().requests), new RegExp(CANARY));
});
