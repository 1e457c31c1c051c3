// The outbox's drain rate against a bare node:http keep-alive loop sending the same requests with the same
// concurrency (8, the outbox's default), against the emulator with no added latency: what the outbox costs per
// write (claim, record, the runtime's client) when Vero answers at once. Same emulator, reset before each case
// (its cost per request grows with what it holds), interleaved rounds.
// Run: npm run build && npm run bench:outbox-drain   (CALLS=2000 ROUNDS=5)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../src/index.js';
import {
  interleave,
  jsonPoster,
  report,
  resetEmulator,
  showSpread,
  spread,
  startEmulatorProcess,
} from './support.js';

const CALLS = Number(process.env.CALLS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CONCURRENCY = 8; // the outbox's default
const USERS = 50;
const TOKEN = 'bench-token-0123456789';

const emulator = await startEmulatorProcess(TOKEN);
const dir = mkdtempSync(join(tmpdir(), 'kosmo-bench-drain-'));
let files = 0;
/** This process's CPU per write in each case: on a busy machine, what it costs us, apart from what it waits for. */
const cpuPerWrite = { bare: [] as number[], drain: [] as number[] };
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CALLS;
};
const poster = jsonPoster(`${emulator.url}/events/track`);

/** The same track_event requests the runtime sends, `CONCURRENCY` at a time. */
async function bareMs(): Promise<number> {
  await resetEmulator(emulator.origin);
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
  await resetEmulator(emulator.origin);
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

const result = await interleave<'drain' | 'bare'>(
  { drain: drainMs, bare: bareMs },
  { rounds: ROUNDS, warmup: 1, baseline: 'drain' },
);
poster.close();
emulator.stop();
rmSync(dir, { recursive: true, force: true });

const rate = (ms: number) => CALLS / (ms / 1000);
report(
  'outbox-drain',
  [
    {
      measure: `bare node:http loop, concurrency ${CONCURRENCY}, ${CALLS} writes (ms)`,
      value: showSpread(result.cases.bare, 0),
      target: '',
    },
    {
      measure: `outbox drain of ${CALLS} queued writes (ms)`,
      value: showSpread(result.cases.drain, 0),
      target: '',
    },
    { measure: 'bare rate (writes/s)', value: rate(result.cases.bare.median), target: '' },
    {
      measure: 'bare: CPU of this process per write (µs)',
      value: showSpread(spread(cpuPerWrite.bare), 0),
      target: '',
    },
    {
      measure: 'drain: CPU of this process per write (µs)',
      value: showSpread(spread(cpuPerWrite.drain), 0),
      target: '',
    },
    { measure: 'drain rate (writes/s)', value: rate(result.cases.drain.median), target: '' },
    // Per round: bare time / drain time = drain rate / bare rate.
    { measure: 'drain rate / bare rate', value: showSpread(result.ratios.bare), target: '>= 0.8' },
  ],
  { calls: CALLS, rounds: ROUNDS, concurrency: CONCURRENCY, users: USERS, result, cpuPerWrite },
);
