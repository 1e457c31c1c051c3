// Sequential track_event calls from Lua versus the same requests from a bare fetch loop (the baseline) and
// from a bare node:http keep-alive loop (the cheapest way to send them), same emulator, interleaved rounds with
// per-round ratios (bench/support.ts interleave); the time from
// runLua to the first host call on a warm pool; and how long the next run takes after one killed at its time limit.
// Run: npm run build && npm run bench:lua-bridge
import { createRuntime } from '../src/index.js';
import { LuaPool } from '../src/lua/index.js';
import { luaHostFor } from '../src/runtime/lua-host.js';
import { interleave, jsonPoster, report, showSpread, spread, startEmulatorProcess } from './support.js';

const CALLS = Number(process.env.CALLS ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TOKEN = 'bench-token-0123456789';

const emulator = await startEmulatorProcess(TOKEN);
const runtime = createRuntime({ env: { VERO_AUTH_TOKEN: TOKEN }, baseUrl: emulator.url });

const script = `
for i = 1, ${CALLS} do
  app.integrations.vero.track_event({ identity = "usr_" .. (i % 10), event_name = "Bench", data = { i = i } })
end`;

const body = (i: number) =>
  JSON.stringify({ auth_token: TOKEN, identity: { id: `usr_${i % 10}` }, event_name: 'Bench', data: { i } });

async function bareLoop(): Promise<number> {
  const started = performance.now();
  for (let i = 1; i <= CALLS; i++) {
    const response = await fetch(`${emulator.url}/events/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(i),
    });
    await response.json();
  }
  return performance.now() - started;
}

const { post, close: closePoster } = jsonPoster(`${emulator.url}/events/track`);

async function bareHttpLoop(): Promise<number> {
  const started = performance.now();
  for (let i = 1; i <= CALLS; i++) await post(body(i));
  return performance.now() - started;
}

async function luaLoop(): Promise<number> {
  const started = performance.now();
  const run = await runtime.runLua(script);
  if (!run.ok) throw new Error(`script failed: ${run.error?.message}`);
  return performance.now() - started;
}

// Warm every path (JIT, keep-alive sockets, pool workers), then rounds in rotating order with per-round ratios.
const { cases, ratios } = await interleave(
  { bare: bareLoop, bareHttp: bareHttpLoop, lua: luaLoop },
  { rounds: ROUNDS, warmup: 1, baseline: 'bare' },
);
closePoster();

// Warm start: from pool.run() to the host receiving the script's first call, on a pool that has run before.
const pool = new LuaPool();
const firstCall: number[] = [];
for (let i = 0; i < 30; i++) {
  const { host } = luaHostFor(runtime, {});
  let started = 0;
  let seen = -1;
  const call = host.call;
  host.call = (request) => {
    if (seen < 0) seen = performance.now() - started;
    return call(request);
  };
  started = performance.now();
  await pool.run('app.integrations.vero.unsubscribe({ id = "warm" })', host);
  if (i >= 5) firstCall.push(seen);
}

// Recovery: a run killed at its time limit takes its worker with it; how long the next run takes end to end.
const afterKill: number[] = [];
for (let i = 0; i < 10; i++) {
  const { host } = luaHostFor(runtime, {});
  await pool.run('while true do end', host, { instructionLimit: 1e15, timeoutMs: 50 });
  const started = performance.now();
  const next = await pool.run('return 1', host);
  afterKill.push(performance.now() - started);
  if (!next.ok) throw new Error(`run after a kill failed: ${next.error?.message}`);
}
await pool.close();
await runtime.close();
emulator.stop();

const perCall = (ms: number) => ms / CALLS;
report(
  'lua-bridge',
  [
    {
      measure: `bare fetch loop, ${CALLS} calls (ms, median (min–max) of ${ROUNDS})`,
      value: showSpread(cases.bare, 1),
      target: '',
    },
    {
      measure: `bare node:http keep-alive loop, ${CALLS} calls (ms)`,
      value: showSpread(cases.bareHttp, 1),
      target: '',
    },
    { measure: `Lua track_event loop, ${CALLS} calls (ms)`, value: showSpread(cases.lua, 1), target: '' },
    { measure: 'ratio Lua / bare fetch (per round)', value: showSpread(ratios.lua), target: '<= 1.2' },
    {
      measure: 'ratio bare node:http / bare fetch (per round)',
      value: showSpread(ratios.bareHttp),
      target: '',
    },
    { measure: 'per call, bare fetch (ms)', value: perCall(cases.bare.median), target: '' },
    { measure: 'per call, bare node:http (ms)', value: perCall(cases.bareHttp.median), target: '' },
    { measure: 'per call, Lua (ms)', value: perCall(cases.lua.median), target: '' },
    {
      measure: 'warm start: run() to first call (ms, median (min–max) of 25)',
      value: showSpread(spread(firstCall)),
      target: '<= 5',
    },
    {
      measure: 'next run after a run killed at its time limit (ms, median (min–max) of 10)',
      value: showSpread(spread(afterKill), 1),
      target: '',
    },
  ],
  { calls: CALLS, rounds: ROUNDS, cases, ratios, firstCall, afterKill },
);
