// 16 scripts at once through runtime.runLua, each making one track_event call that the emulator answers after
// 1000 ms, against one such script alone (the baseline, same run): with parking, waiting scripts share workers and
// sixteen take about as long as one. Also: the same sixteen from a fresh runtime (its workers start during the
// burst), and sixteen whose call sits in a string.gsub callback, where Lua cannot yield, so each holds a worker as
// every script did before parking (the old behaviour, for comparison).
// Run: npm run build && npm run bench:lua-concurrency
import { createRuntime } from '../src/index.js';
import { interleave, report, setLatency, showSpread, startEmulatorProcess } from './support.js';

const SCRIPTS = Number(process.env.SCRIPTS ?? 16);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TOKEN = 'bench-token-0123456789';

const emulator = await startEmulatorProcess(TOKEN);
await setLatency(emulator.origin, LATENCY_MS);
const runtimeOptions = { env: { VERO_AUTH_TOKEN: TOKEN }, baseUrl: emulator.url };
const warm = createRuntime(runtimeOptions);

const parking = (i: number) =>
  `app.integrations.vero.track_event({ identity = "usr_${i}", event_name = "Bench", data = { i = ${i} } })`;
const holding = (i: number) => `string.gsub("x", "x", function() ${parking(i)} return "x" end)`;

async function burst(runtime: ReturnType<typeof createRuntime>, script: (i: number) => string, n: number) {
  const started = performance.now();
  const runs = await Promise.all(Array.from({ length: n }, (_, i) => runtime.runLua(script(i))));
  const elapsed = performance.now() - started;
  const failed = runs.find((run) => !run.ok);
  if (failed) throw new Error(`script failed: ${failed.error?.message}`);
  return elapsed;
}

const { cases, ratios } = await interleave(
  {
    one: () => burst(warm, parking, 1),
    sixteen: () => burst(warm, parking, SCRIPTS),
    oneFreshRuntime: async () => {
      const fresh = createRuntime(runtimeOptions);
      try {
        return await burst(fresh, parking, 1);
      } finally {
        await fresh.close();
      }
    },
    sixteenFreshRuntime: async () => {
      const fresh = createRuntime(runtimeOptions);
      try {
        return await burst(fresh, parking, SCRIPTS);
      } finally {
        await fresh.close();
      }
    },
    sixteenHolding: () => burst(warm, holding, SCRIPTS),
  },
  { rounds: ROUNDS, warmup: 1, baseline: 'one' },
);
await warm.close();
emulator.stop();

report(
  'lua-concurrency',
  [
    {
      measure: `one script, one ${LATENCY_MS} ms call (ms, median (min–max) of ${ROUNDS})`,
      value: showSpread(cases.one, 0),
      ratio: '1',
      target: '',
    },
    {
      measure: `${SCRIPTS} scripts at once, warm runtime (ms)`,
      value: showSpread(cases.sixteen, 0),
      ratio: showSpread(ratios.sixteen),
      target: '<= 1500 ms',
    },
    {
      measure: 'one script, fresh runtime: its worker starts first (ms)',
      value: showSpread(cases.oneFreshRuntime, 0),
      ratio: showSpread(ratios.oneFreshRuntime),
      target: '',
    },
    {
      measure: `${SCRIPTS} scripts at once, fresh runtime: workers start in the burst (ms)`,
      value: showSpread(cases.sixteenFreshRuntime, 0),
      ratio: showSpread(ratios.sixteenFreshRuntime),
      target: '',
    },
    {
      measure: `${SCRIPTS} scripts whose call cannot park (each holds a worker, as before) (ms)`,
      value: showSpread(cases.sixteenHolding, 0),
      ratio: showSpread(ratios.sixteenHolding),
      target: '',
    },
  ],
  { scripts: SCRIPTS, latencyMs: LATENCY_MS, rounds: ROUNDS, cases, ratios },
);
