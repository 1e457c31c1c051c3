import { Outbox } from '../../src/outbox/index.js';
import { failure, job, TEST_DESTINATION } from './helpers.js';

/**
 * A random but replayable workload over two destinations and shared keys, through failures, dead jobs, retries,
 * discards and moves, for the engines' stored head state (SQLite's `blocked` flag, PostgreSQL's `blockers`
 * count). `wrongRows` returns the jobs whose stored state disagrees with their key rows; it is called while
 * deliveries are in flight and between operations. Everything is delivered in the end, or the workload hangs on a
 * head state stuck "blocked".
 */
export async function headWorkload(
  location: string,
  wrongRows: () => Promise<unknown[]>,
): Promise<{ mismatches: string[]; failures: number }> {
  const other = { ...TEST_DESTINATION, account: 'other', credential: 'test-credential-0002' };
  const failedOnce = new Set<number>();
  const mismatches: string[] = [];
  const check = async (when: string) => {
    const wrong = await wrongRows();
    if (wrong.length > 0) mismatches.push(`${when}: ${JSON.stringify(wrong)}`);
  };
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION, other],
    path: location,
    concurrency: 4,
    baseDelayMs: 1,
    maxDelayMs: 2,
    deliver: async (j) => {
      await check(`delivering ${j.id}`);
      const { fail } = j.payload as { fail: 'dead' | 'retry' | null };
      if (fail !== null && !failedOnce.has(j.id)) {
        failedOnce.add(j.id);
        throw failure(fail === 'dead' ? 'HTTP 400' : 'HTTP 503', { retryable: fail === 'retry' });
      }
      return { ok: true };
    },
  });
  const random = seeded(7);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  const keys = ['usr_1', 'usr_2', 'usr_3', 'a@x.com', 'b@x.com', 'usr_4'];
  for (const d of [TEST_DESTINATION, other])
    await outbox.enqueue(job('probe', { fail: null }, 'test.write', d));
  const idOf = new Map((await outbox.status()).destinations.map((d) => [d.account, d.id]));
  await outbox.drain();

  for (let round = 0; round < 25; round++) {
    for (let i = 0; i < 8; i++) {
      const jobKeys = [pick(keys), pick(keys), pick(keys)].slice(0, 1 + Math.floor(random() * 3));
      const fail = pick(['dead', 'retry', null, null, null] as const);
      await outbox.enqueue(job(jobKeys, { fail }, 'test.write', pick([TEST_DESTINATION, other])));
    }
    await check(`round ${round}, queued`);
    const operation = pick(['drain', 'drain', 'retry', 'discard', 'move'] as const);
    if (operation === 'drain') await outbox.drain();
    if (operation === 'retry') await outbox.retry('dead');
    if (operation === 'discard') {
      const dead = (await outbox.status()).held[0];
      if (dead) await outbox.discard(dead.id);
    }
    if (operation === 'move') {
      const [from, to] = random() < 0.5 ? [other, TEST_DESTINATION] : [TEST_DESTINATION, other];
      await outbox.move(idOf.get(from.account) as number, to);
    }
    await check(`round ${round}, after ${operation}`);
  }
  // A flag stuck at 1 would leave writes behind for good: everything goes once the dead are retried.
  while ((await outbox.status()).counts.dead > 0 || (await outbox.status()).counts.pending > 0) {
    await outbox.retry('dead');
    await outbox.drain();
  }
  await check('the end');
  await outbox.close();
  return { mismatches, failures: failedOnce.size };
}

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
