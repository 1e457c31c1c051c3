// 1000 track_event calls from one Lua script against the emulator with 50 ms added latency: direct versus queued
// delivery, and the queued drain rate against a bare fetch loop with the same concurrency. Each pair is warmed up
// and interleaved (bench/support.ts), so a busy neighbour slows both sides of a ratio alike; medians with min–max.
// Run: npm run build && npm run bench:queued
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../src/index.js';
import { interleave, report, setLatency, showSpread, spread, startEmulatorProcess } from './support.js';

const CALLS = Number(process.env.CALLS ?? 1000);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONCURRENCY = 8; // the outbox's default
const TOKEN = 'bench-token-0123456789';

const emulator = await startEmulatorProcess(TOKEN);
await setLatency(emulator.origin, LATENCY_MS);
const dir = mkdtempSync(join(tmpdir(), 'kosmo-bench-'));

const script = `
for i = 1, ${CALLS} do
  app.integrations.vero.track_event({ identity = "usr_" .. (i % 50), event_name = "Bench", data = { i = i } })
end`;

let runs = 0;
/** A runtime with an outbox of its own: no run starts with another's rows. */
const runtimeFor = (delivery: 'direct' | 'queued', background = true) =>
  createRuntime({
    env: { VERO_AUTH_TOKEN: TOKEN },
    baseUrl: emulator.url,
    delivery,
    outbox: join(dir, `${++runs}.db`),
    background,
  });

/** Dead or undelivered writes over every run: anything but 0 makes the figures meaningless. */
let lost = 0;
/** Script start to every write delivered, each run (warm-up first). */
const deliveredMsOf = { direct: [] as number[], queued: [] as number[] };

const outboxIds = (calls: Array<{ outbox_id?: number }>) =>
  calls.flatMap((call) => (call.outbox_id === undefined ? [] : [call.outbox_id]));

/** The script as an agent runs it: queued writes are delivered in the background while it runs. */
async function runScript(delivery: 'direct' | 'queued') {
  const runtime = runtimeFor(delivery);
  // Time the script, not the pool's first start (worker threads, wasm compile): a service runs warm.
  await runtime.runLua('return 1');
  const started = performance.now();
  const run = await runtime.runLua(script, { timeoutMs: 10 * 60_000 });
  const scriptMs = performance.now() - started;
  if (!run.ok) throw new Error(`${delivery} script failed: ${run.error?.message}`);
  const outcomes = await runtime.waitForDelivery(outboxIds(run.calls));
  const deliveredMs = performance.now() - started;
  lost += outcomes.filter((o) => o.state !== 'delivered').length;
  await runtime.close();
  deliveredMsOf[delivery].push(deliveredMs);
  return scriptMs;
}

/** The drainer's own rate (writes/s): the script queues everything first (no background delivery), then one drain. */
async function drainRate(): Promise<number> {
  const runtime = runtimeFor('queued', false);
  const run = await runtime.runLua(script, { timeoutMs: 10 * 60_000 });
  if (!run.ok) throw new Error(`script failed: ${run.error?.message}`);
  const started = performance.now();
  const drained = await runtime.outbox().drain();
  const drainMs = performance.now() - started;
  await runtime.close();
  lost += CALLS - drained.delivered;
  return drained.delivered / (drainMs / 1000);
}

/** The same writes from a bare fetch loop at the outbox's concurrency (writes/s). */
async function bareRate(): Promise<number> {
  let next = 1;
  const started = performance.now();
  const worker = async () => {
    while (next <= CALLS) {
      const i = next++;
      const response = await fetch(`${emulator.url}/events/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          auth_token: TOKEN,
          identity: { id: `usr_${i % 50}` },
          event_name: 'Bench',
          data: { i },
        }),
      });
      await response.json();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return CALLS / ((performance.now() - started) / 1000);
}

// Script time: baseline queued, so the ratio is direct / queued, the speed-up.
const scripts = await interleave(
  { direct: () => runScript('direct'), queued: () => runScript('queued') },
  { rounds: ROUNDS, warmup: 1, baseline: 'queued' },
);
const rates = await interleave(
  { bare: bareRate, drain: drainRate },
  { rounds: ROUNDS, warmup: 1, baseline: 'bare' },
);
emulator.stop();
rmSync(dir, { recursive: true, force: true });

const measured = (values: number[]) => spread(values.slice(values.length - ROUNDS)); // warm-up left out
report(
  'queued',
  [
    {
      measure: `direct: script time, ${CALLS} calls (ms)`,
      value: showSpread(scripts.cases.direct, 0),
      target: '',
    },
    { measure: 'queued: script time (ms)', value: showSpread(scripts.cases.queued, 0), target: '' },
    {
      measure: 'script speed-up, direct / queued',
      value: showSpread(scripts.ratios.direct, 1),
      target: '>= 50',
    },
    {
      measure: 'queued: script start to all delivered (ms)',
      value: showSpread(measured(deliveredMsOf.queued), 0),
      target: '',
    },
    {
      measure: `bare fetch loop, concurrency ${CONCURRENCY} (writes/s)`,
      value: showSpread(rates.cases.bare, 0),
      target: '',
    },
    {
      measure: 'outbox drain rate, same concurrency (writes/s)',
      value: showSpread(rates.cases.drain, 0),
      target: '',
    },
    { measure: 'drain rate / bare rate, per round', value: showSpread(rates.ratios.drain), target: '>= 0.8' },
    { measure: 'dead or undelivered writes', value: String(lost), target: '0' },
  ],
  {
    calls: CALLS,
    latencyMs: LATENCY_MS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    scripts,
    rates,
    deliveredMsOf,
  },
);
