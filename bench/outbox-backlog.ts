// One user's backlog: every write shares the ordering key `usr_1`, so they go one at a time. The drain cost per
// write at 8000 queued writes against 2000, same run: a claim or due-time lookup that walks the writes waiting
// behind the one in flight makes the ratio grow with the backlog; constant per write, it stays near 1.
// Delivery is an in-process no-op, so only the outbox's own cost is measured.
// Run: npm run bench:outbox-backlog   (SMALL=2000 LARGE=8000 ROUNDS=5)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '../src/outbox/index.js';
import { interleave, report, showSpread } from './support.js';

const SMALL = Number(process.env.SMALL ?? 2000);
const LARGE = Number(process.env.LARGE ?? 8000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

const destination = {
  integration: 'bench',
  account: 'default',
  endpoint: 'http://127.0.0.1:9/bench',
  credential: 'bench-credential-0001',
};
const dir = mkdtempSync(join(tmpdir(), 'kosmo-bench-backlog-'));
let files = 0;

/** Queues `count` writes of one user (not timed), then times the drain: microseconds per write. */
async function perWriteUs(count: number): Promise<number> {
  const outbox = new Outbox({
    path: join(dir, `backlog-${files++}.db`),
    destinations: [destination],
    deliver: async () => undefined,
  });
  for (let i = 0; i < count; i++) {
    await outbox.enqueue({ destination, fn: 'bench.write', orderingKeys: ['usr_1'], payload: { i } });
  }
  const started = performance.now();
  const drained = await outbox.drain();
  const elapsed = performance.now() - started;
  await outbox.close();
  if (drained.delivered !== count) throw new Error(`delivered ${drained.delivered} of ${count}`);
  return (elapsed * 1000) / count;
}

const result = await interleave<'small' | 'large'>(
  { small: () => perWriteUs(SMALL), large: () => perWriteUs(LARGE) },
  { rounds: ROUNDS, warmup: 1, baseline: 'small' },
);
rmSync(dir, { recursive: true, force: true });

report(
  'outbox-backlog',
  [
    {
      measure: `per-write drain cost, ${SMALL} queued (µs)`,
      value: showSpread(result.cases.small, 1),
      target: '',
    },
    {
      measure: `per-write drain cost, ${LARGE} queued (µs)`,
      value: showSpread(result.cases.large, 1),
      target: '',
    },
    { measure: `${LARGE} / ${SMALL} per write`, value: showSpread(result.ratios.large), target: '<= 1.2' },
  ],
  { small: SMALL, large: LARGE, rounds: ROUNDS, result },
);
