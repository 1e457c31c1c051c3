// How long the host's main thread is unavailable while a script floods it with docs calls: huge inputs (refused by
// their bound), inputs just under the bound, and a cheap host call as the same-run baseline. The lag is the longest
// gap between ticks of a 5 ms interval on the main thread, where the wall-time limit and every other run are served.
// Cases are warmed up and interleaved (bench/support.ts); per-call times are medians with min–max, ratios per round.
// Run: npm run build && npm run bench:host-lag
import { createRuntime } from '../src/index.js';
import { interleave, report, showSpread, spread } from './support.js';

const CALLS = Number(process.env.CALLS ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const runtime = createRuntime({ env: {} });

/** The longest main-thread stall of each run of each case. */
const lags = new Map<string, number[]>();

/** Runs CALLS calls of `body` in one script; its time per call in ms. */
async function measure(name: string, body: string): Promise<number> {
  let last = performance.now();
  let lagMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    lagMs = Math.max(lagMs, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  const run = await runtime.runLua(`
    local big = string.rep("ab ", 150000)
    local words = {}
    for i = 1, 50 do words[#words + 1] = string.format("w%02d", i) end
    local query = table.concat(words, " ")
    local near = "integrations.vero." .. string.rep("x", 182)
    for i = 1, ${CALLS} do ${body} end`);
  const totalMs = performance.now() - started;
  // A block just before the run settled has had no tick after it yet: count it too.
  lagMs = Math.max(lagMs, performance.now() - last);
  clearInterval(timer);
  if (!run.ok) throw new Error(`${name}: ${run.error?.message}`);
  lags.set(name, [...(lags.get(name) ?? []), lagMs]);
  return totalMs / CALLS;
}

const CASES = {
  'lua_list_docs (baseline)': 'lua_list_docs()',
  '450 KB query, refused': 'pcall(lua_search_docs, big)',
  '450 KB page name, refused': 'pcall(lua_read_doc, big)',
  '50-word query (199 chars)': 'lua_search_docs(query)',
  '200-char unknown page + did-you-mean': 'pcall(lua_read_doc, near)',
  'typo page + did-you-mean': 'pcall(lua_read_doc, "integrations.vero.identfy_user")',
};
type Case = keyof typeof CASES;

// Warm the pool so the first case does not pay for starting a worker.
await runtime.runLua('return 1');
const perCall = await interleave(
  Object.fromEntries(
    Object.entries(CASES).map(([name, body]) => [name, () => measure(name, body)]),
  ) as Record<Case, () => Promise<number>>,
  { rounds: ROUNDS, warmup: 1, baseline: 'lua_list_docs (baseline)' },
);
report(
  'host-lag',
  (Object.keys(CASES) as Case[]).map((name) => ({
    case: name,
    per_call_ms: showSpread(perCall.cases[name], 3),
    vs_baseline: showSpread(perCall.ratios[name]),
    // Warm-up left out.
    max_lag_ms: showSpread(spread((lags.get(name) ?? []).slice(1)), 1),
    target: name === 'lua_list_docs (baseline)' ? '' : 'stall < 20 ms',
  })),
  { calls: CALLS, rounds: ROUNDS, perCall, lags: Object.fromEntries(lags) },
);
await runtime.close();
