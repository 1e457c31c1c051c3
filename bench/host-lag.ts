// How long the host's main thread is unavailable while a script floods it with docs calls: huge inputs (refused by
// their bound), inputs just under the bound, and a cheap host call as the same-run baseline. The lag is the longest
// gap between ticks of a 5 ms interval on the main thread, where the wall-time limit and every other run are served.
// Run: npm run build && npm run bench:host-lag
import { createRuntime } from '../src/index.js';
import { report } from './support.js';

const CALLS = Number(process.env.CALLS ?? 200);
const runtime = createRuntime({ env: {} });

async function measure(name: string, body: string) {
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
  return { name, totalMs, perCallMs: totalMs / CALLS, maxLagMs: lagMs };
}

// Warm the pool so the first case does not pay for starting a worker.
await runtime.runLua('return 1');
const baseline = await measure('lua_list_docs (baseline)', 'lua_list_docs()');
const cases = [
  baseline,
  await measure('450 KB query, refused', 'pcall(lua_search_docs, big)'),
  await measure('450 KB page name, refused', 'pcall(lua_read_doc, big)'),
  await measure('50-word query (199 chars)', 'lua_search_docs(query)'),
  await measure('200-char unknown page + did-you-mean', 'pcall(lua_read_doc, near)'),
  await measure('typo page + did-you-mean', 'pcall(lua_read_doc, "integrations.vero.identfy_user")'),
];
report(
  'host-lag',
  cases.map((row) => ({
    case: row.name,
    per_call_ms: row.perCallMs,
    vs_baseline: row.perCallMs / baseline.perCallMs,
    max_lag_ms: row.maxLagMs,
  })),
  { calls: CALLS },
);
await runtime.close();
