// The outbox's drain rate against a bare node:http keep-alive loop sending the same requests with the same
// concurrency (8, the outbox's default), against the emulator with no added latency: what the outbox costs per
// write (claim, record, the runtime's client) when Vero answers at once. Same emulator, reset before each case
// (its cost per request grows with what it holds), interleaved rounds. A third case drains the same number of
// writes through an Outbox whose delivery is an in-process no-op: the outbox's own CPU per write, whatever the
// emulator costs.
// LATENCY_MS=20 adds that much to each of the emulator's answers (the target is for 0: the outbox's own cost).
// Run: npm run build && npm run bench:outbox-drain   (CALLS=2000 ROUNDS=5 LATENCY_MS=0)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../src/index.js';
import { Outbox } from '../src/outbox/index.js';
import {
  interleave,
  jsonPoster,
  report,
  resetEmulator,
  setLatency,
  showSpread,
  spread,
  startEmulatorProcess,
} from './support.js';

const CALLS = Number(process.env.CALLS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CONCURRENCY = 8; // the outbox's default
const USERS = 50;
const TOKEN = 'bench-token-0123456789';
const WARMUP = 1;
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 0);

const emulator = await startEmulatorProcess(TOKEN);
const dir = mkdtempSync(join(tmpdir(), 'kosmo-bench-drain-'));
let files = 0;
/** This process's CPU per write in each case: on a busy machine, what it costs us, apart from what it waits for. */
const cpuPerWrite = { bare: [] as number[], drain: [] as number[], own: [] as number[] };
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CALLS;
};
/** A fresh emulator for each case, answering after LATENCY_MS. */
async function resetForCase(): Promise<void> {
  await resetEmulator(emulator.origin);
  await setLatency(emulator.origin, LATENCY_MS);
}
const poster = jsonPoster(`${emulator.url}/events/track`);

/** The same track_event requests the runtime sends, `CONCURRENCY` at a time. */
async function bareMs(): Promise<number> {
  await resetForCase();
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    while (next < CALLS) {
      const i = next++;
      await poster.post(
        JSON.stringify({
          auth_token: TOKEN,
          identity: { id: `usr_${i % USERS}` },
          event_name: 'Bench',
          data: { i },
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - started;
  cpuPerWrite.bare.push(cpuSince(cpu));
  return elapsed;
}

/** Queues CALLS writes (not timed), then times one drain of them. */
async function drainMs(): Promise<number> {
  const runtime = createRuntime({
    env: { VERO_AUTH_TOKEN: TOKEN },
    baseUrl: emulator.url,
    delivery: 'queued',
    outbox: join(dir, `drain-${files++}.db`),
    background: false,
  });
  await resetForCase();
  for (let i = 0; i < CALLS; i++) {
    await runtime.call('vero.track_event', {
      identity: `usr_${i % USERS}`,
      event_name: 'Bench',
      data: { i },
    });
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  const drained = await runtime.outbox().drain();
  const elapsed = performance.now() - started;
  cpuPerWrite.drain.push(cpuSince(cpu));
  await runtime.close();
  if (drained.delivered !== CALLS) throw new Error(`delivered ${drained.delivered} of ${CALLS}`);
  return elapsed;
}

/** The outbox alone: the same number of writes (same keys) drained with a delivery that does nothing. */
async function ownMs(): Promise<number> {
  const destination = { integration: 'vero', account: 'default', endpoint: emulator.url, credential: TOKEN };
  const outbox = new Outbox({
    path: join(dir, `own-${files++}.db`),
    destinations: [destination],
    deliver: async () => ({ status: 200, message: 'Success.', duplicate: false }),
  });
  for (let i = 0; i < CALLS; i++) {
    await outbox.enqueue({
      destination,
      fn: 'track_event',
      orderingKeys: [`usr_${i % USERS}`],
      payload: { identity: { id: `usr_${i % USERS}` }, eventName: 'Bench', data: { i } },
    });
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  const drained = await outbox.drain();
  const elapsed = performance.now() - started;
  cpuPerWrite.own.push(cpuSince(cpu));
  await outbox.close();
  if (drained.delivered !== CALLS) throw new Error(`delivered ${drained.delivered} of ${CALLS}`);
  return elapsed;
}

const result = await interleave<'drain' | 'bare' | 'own'>(
  { drain: drainMs, bare: bareMs, own: ownMs },
  { rounds: ROUNDS, warmup: WARMUP, baseline: 'drain' },
);
poster.close();
emulator.stop();
rmSync(dir, { recursive: true, force: true });

const rate = (ms: number) => CALLS / (ms / 1000);
/** CPU per write over the measured rounds (the warm-up rounds are left out). */
const cpu = (name: keyof typeof cpuPerWrite) => showSpread(spread(cpuPerWrite[name].slice(WARMUP)), 0);
report(
  'outbox-drain',
  [
    {
      measure: `bare node:http loop, concurrency ${CONCURRENCY}, ${CALLS} writes, ${LATENCY_MS} ms latency (ms)`,
      value: showSpread(result.cases.bare, 0),
      target: '',
    },
    {
      measure: `outbox drain of ${CALLS} queued writes (ms)`,
      value: showSpread(result.cases.drain, 0),
      target: '',
    },
    { measure: 'bare rate (writes/s)', value: rate(result.cases.bare.median), target: '' },
    { measure: 'bare: CPU of this process per write (µs)', value: cpu('bare'), target: '' },
    { measure: 'drain: CPU of this process per write (µs)', value: cpu('drain'), target: '' },
    { measure: 'outbox alone (no-op delivery): CPU per write (µs)', value: cpu('own'), target: '' },
    { measure: 'drain rate (writes/s)', value: rate(result.cases.drain.median), target: '' },
    // Per round: bare time / drain time = drain rate / bare rate.
    { measure: 'drain rate / bare rate', value: showSpread(result.ratios.bare), target: '>= 0.8' },
  ],
  {
    calls: CALLS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    users: USERS,
    latencyMs: LATENCY_MS,
    result,
    cpuPerWrite,
  },
);
