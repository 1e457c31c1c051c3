// 1000 track_event calls from one Lua script against the emulator with 50 ms added latency: direct versus queued
// delivery, and the queued drain rate against a bare fetch loop with the same concurrency, same run.
// Run: npm run build && npm run bench:queued
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../src/index.js';
import { report, setLatency, startEmulatorProcess } from './support.js';

const CALLS = Number(process.env.CALLS ?? 1000);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const CONCURRENCY = 8; // the outbox's default
const TOKEN = 'bench-token-0123456789';

const emulator = await startEmulatorProcess(TOKEN);
await setLatency(emulator.origin, LATENCY_MS);
const dir = mkdtempSync(join(tmpdir(), 'kosmo-bench-'));

const script = `
for i = 1, ${CALLS} do
  app.integrations.vero.track_event({ identity = "usr_" .. (i % 50), event_name = "Bench", data = { i = i } })
end`;

const runtimeFor = (delivery: 'direct' | 'queued', name: string, background = true) =>
  createRuntime({
    env: { VERO_AUTH_TOKEN: TOKEN },
    baseUrl: emulator.url,
    delivery,
    outbox: join(dir, `${name}.db`),
    background,
  });

const outboxIds = (calls: Array<{ outbox_id?: number }>) =>
  calls.flatMap((call) => (call.outbox_id === undefined ? [] : [call.outbox_id]));

/** The script as an agent runs it: queued writes are delivered in the background while it runs. */
async function runScript(delivery: 'direct' | 'queued') {
  const runtime = runtimeFor(delivery, delivery);
  // Time the script, not the pool's first start (worker threads, wasm compile): a service runs warm.
  await runtime.runLua('return 1');
  const started = performance.now();
  const run = await runtime.runLua(script, { timeoutMs: 10 * 60_000 });
  const scriptMs = performance.now() - started;
  if (!run.ok) throw new Error(`${delivery} script failed: ${run.error?.message}`);
  const outcomes = await runtime.waitForDelivery(outboxIds(run.calls));
  const deliveredMs = performance.now() - started;
  const dead = outcomes.filter((o) => o.state !== 'delivered').length;
  await runtime.close();
  return { scriptMs, deliveredMs, dead };
}

/** The drainer's own rate: the script queues everything first (no background delivery), then one drain. */
async function drainRate() {
  const runtime = runtimeFor('queued', 'drain', false);
  const run = await runtime.runLua(script, { timeoutMs: 10 * 60_000 });
  if (!run.ok) throw new Error(`script failed: ${run.error?.message}`);
  const started = performance.now();
  const drained = await runtime.outbox().drain();
  const drainMs = performance.now() - started;
  await runtime.close();
  return { drainMs, delivered: drained.delivered, dead: drained.dead };
}

async function bareLoop(): Promise<number> {
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
  return performance.now() - started;
}

const bareMs = await bareLoop();
const drain = await drainRate();
const queued = await runScript('queued');
const direct = await runScript('direct');
emulator.stop();
rmSync(dir, { recursive: true, force: true });

const bareRate = CALLS / (bareMs / 1000);
const drainRateValue = drain.delivered / (drain.drainMs / 1000);
report(
  'queued',
  [
    { measure: `direct: script time, ${CALLS} calls (ms)`, value: direct.scriptMs, target: '' },
    { measure: 'queued: script time (ms)', value: queued.scriptMs, target: '' },
    {
      measure: 'script speed-up, direct / queued',
      value: direct.scriptMs / queued.scriptMs,
      target: '>= 50',
    },
    { measure: 'queued: script start to all delivered (ms)', value: queued.deliveredMs, target: '' },
    { measure: `bare fetch loop, concurrency ${CONCURRENCY} (ms)`, value: bareMs, target: '' },
    { measure: 'bare loop rate (writes/s)', value: bareRate, target: '' },
    { measure: 'outbox drain rate, same concurrency (writes/s)', value: drainRateValue, target: '' },
    { measure: 'drain rate / bare rate', value: drainRateValue / bareRate, target: '>= 0.8' },
    { measure: 'dead or undelivered writes', value: queued.dead + direct.dead + drain.dead, target: '0' },
  ],
  { calls: CALLS, latencyMs: LATENCY_MS, concurrency: CONCURRENCY, direct, queued, drain, bareMs },
);
