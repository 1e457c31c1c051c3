import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { Outbox } from '../../src/outbox/index.js';
import { launchCli } from '../cli/support.js';
import { connectHttp } from '../mcp/support.js';
import { until } from '../support/clock.js';
import { addFaults } from '../support/faults.js';
import { postgresUnavailable, tempSchema } from '../support/postgres.js';
import type { Launched } from '../support/process.js';
import { CANARY, spawnFixture } from './helpers.js';

/*
 * Several hosts on one PostgreSQL outbox: three `kosmo-vero serve` processes (the built CLI, `--delivery queued
 * --outbox <postgres URL>`) accept 600 writes for 20 users from MCP clients while three drainer processes deliver
 * them, and the drainers are SIGKILLed and restarted along the way.
 *
 * The serve replicas deliver too: `serve` has no accept-only switch (it always starts the outbox's background
 * drainer for its queued writes), and a replica that delivers what it and others queued is how serve runs in a
 * multi-host layout (docs/deploy.md). So six processes deliver, three of them serve, which is never killed. To
 * keep the kills landing on work, each serve delivers one write at a time (config `queue.concurrency` 1) against
 * the drainers' two each, and Vero answers slowly (100 ms a request), so a backlog builds.
 *
 * Order: each user's writes come from one serve (user-N belongs to serve N % 3), each sent after the previous one
 * was acknowledged, with a per-user sequence number in the event data. That acceptance order is the order that
 * must reach Vero; across serves there is no order to keep (two hosts' writes for one user are concurrent).
 */
const skip = await postgresUnavailable();

const SERVES = 3;
const DRAINERS = 3;
const PER_SERVE = 200;
const USERS = 20;
const LEASE_MS = 5000;
/** Deliveries in flight per drainer: few, and slow requests (below), so a backlog builds and kills hit work. */
const CONCURRENCY = 2;
/** Deliveries after which a drainer is killed (gates on what happened, not on time). */
const KILL_AFTER = [40, 120, 220, 320, 420];
// A client token is a secret as much as the Vero credential: neither may appear in any output.
const CLIENT_TOKEN = 'multi-serve-CANARY-5c8e2a7d1f';

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

/** A `kosmo-vero serve` replica on the shared outbox; resolves once it prints its base URL. */
async function startServe(config: string): Promise<{ launched: Launched; url: string }> {
  const launched = launchCli(
    ['serve', '--port', '0', '--delivery', 'queued', '--outbox', schema.url, '--config', config],
    {
      env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_SERVE_TOKENS: CLIENT_TOKEN },
    },
  );
  return { launched, url: await launched.waitForLine(() => true) };
}

interface Accepted {
  user: string;
  seq: number;
  id: number;
}

/**
 * Serve `s` takes PER_SERVE writes for its users (user-N with N % SERVES === s): one chain per user, all at once,
 * each write sent once the one before it was acknowledged as queued.
 */
async function produce(s: number, url: string): Promise<Accepted[]> {
  const users = Array.from({ length: USERS }, (_, n) => n).filter((n) => n % SERVES === s);
  const client = await connectHttp(url, CLIENT_TOKEN);
  const accepted: Accepted[] = [];
  try {
    await Promise.all(
      users.map(async (n, i) => {
        const user = `user-${n}`;
        // This user's share of PER_SERVE: the first PER_SERVE % users.length users get one more.
        const count = Math.floor(PER_SERVE / users.length) + (i < PER_SERVE % users.length ? 1 : 0);
        for (let seq = 0; seq < count; seq++) {
          const result = (await client.callTool({
            name: 'vero_track_event',
            arguments: { identity: user, event_name: 'Step', data: { serve: s, seq } },
          })) as CallToolResult;
          const content = result.structuredContent as { status?: string; outbox_id?: number };
          assert.equal(content?.status, 'queued', JSON.stringify(result));
          accepted.push({ user, seq, id: content.outbox_id as number });
        }
      }),
    );
  } finally {
    await client.close();
  }
  return accepted;
}

test('3 serve replicas and 3 drainers on one database, drainers SIGKILLed 5 times: all delivered, in order per user', {
  skip,
}, async (t) => {
  const drainer = () =>
    spawnFixture('pg-drainer.ts', [schema.url, emulator.url, String(LEASE_MS), String(CONCURRENCY)]);
  const drainers: Launched[] = [];
  for (let i = 0; i < DRAINERS; i++) drainers.push(drainer());
  // The first one migrates the new schema; the others wait on its advisory lock and find it done.
  await Promise.all(drainers.map((d) => d.waitForLine((line) => line === 'ready')));

  const config = join(mkdtempSync(join(tmpdir(), 'kosmo-vero-multi-')), 'config.json');
  writeFileSync(config, JSON.stringify({ queue: { concurrency: 1 } }));
  const serves = await Promise.all(Array.from({ length: SERVES }, () => startServe(config)));
  const sending = Promise.all(serves.map(({ url }, s) => produce(s, url)));
  // Awaited below, after the kills: a failure now must not be an unhandled rejection meanwhile.
  sending.catch(() => {});
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

  const accepted = (await sending).flat();
  assert.equal(accepted.length, SERVES * PER_SERVE);
  assert.equal(new Set(accepted.map((w) => w.id)).size, SERVES * PER_SERVE, 'one outbox row per write');
  const seqsByUser = new Map<string, number[]>();
  for (const { user, seq } of accepted) seqsByUser.set(user, [...(seqsByUser.get(user) ?? []), seq]);
  assert.equal(seqsByUser.size, USERS);
  // The outbox took each user's writes in the order they were sent: ids rise with the sequence number.
  for (const user of seqsByUser.keys()) {
    const ids = accepted
      .filter((w) => w.user === user)
      .sort((a, b) => a.seq - b.seq)
      .map((w) => w.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      `${user}: outbox ids in sending order`,
    );
  }

  // An observer on the same database waits for every write (drainers and serves deliver them).
  const observer = new Outbox({ path: schema.url, deliver: async () => undefined });
  const outcomes = await observer.waitFor(accepted.map((w) => w.id));
  assert.deepEqual(
    outcomes.filter((o) => o.state !== 'delivered'),
    [],
  );
  assert.deepEqual((await observer.status()).counts, {
    pending: 0,
    sending: 0,
    delivered: SERVES * PER_SERVE,
    dead: 0,
    discarded: 0,
  });
  await observer.close();
  for (const d of drainers) d.proc.kill('SIGKILL');
  await Promise.all(drainers.map((d) => d.exited));
  for (const { launched } of serves) launched.proc.kill('SIGTERM');
  const exits = await Promise.all(serves.map(({ launched }) => launched.exited));
  assert.deepEqual(
    exits.map((e) => e.code),
    Array(SERVES).fill(0),
    serves.map(({ launched }) => launched.stderr()).join('\n'),
  );

  // Each user's writes reached Vero in the order its serve acknowledged them: sequence 0, 1, 2, ...; replays
  // (a killed drainer's writes in flight, sent again) are ignored after their first arrival.
  const firstSeen = new Set<string>();
  const deliveredByUser = new Map<string, number[]>();
  for (const event of emulator.state().events) {
    const { serve, seq } = event.data as { serve: number; seq: number };
    const user = event.identity.id as string;
    assert.equal(Number(user.slice('user-'.length)) % SERVES, serve, `${user} came from its own serve`);
    if (firstSeen.has(`${user}:${seq}`)) continue;
    firstSeen.add(`${user}:${seq}`);
    deliveredByUser.set(user, [...(deliveredByUser.get(user) ?? []), seq]);
  }
  assert.equal(firstSeen.size, SERVES * PER_SERVE, 'every write delivered');
  for (const [user, seqs] of seqsByUser) {
    assert.deepEqual(
      deliveredByUser.get(user),
      Array.from({ length: seqs.length }, (_, i) => i),
      `${user}: delivered in accepted order`,
    );
  }
  // Repeats only as at-least-once allows: a killed drainer's writes in flight, sent again by another.
  const sent = emulator.state().requests.filter((r) => r.endpoint === '/events/track').length;
  const repeats = sent - SERVES * PER_SERVE;
  t.diagnostic(`${repeats} repeated requests after ${kills} kills`);
  assert.ok(repeats >= 0 && repeats <= kills * CONCURRENCY, `${repeats} repeats for ${kills} kills`);
  const output = [...serves.map((s) => s.launched), ...drainers]
    .map((c) => c.stdout() + c.stderr())
    .join('\n');
  for (const secret of [CANARY, CLIENT_TOKEN]) {
    assert.ok(!output.includes(secret), 'a secret in the output');
    assert.ok(!JSON.stringify(emulator.state().requests).includes(secret), 'a secret sent to Vero');
  }
});
