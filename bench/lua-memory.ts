// Memory per concurrent sandbox: the process's RSS while N scripts wait inside a host call, against the same pool
// idle (one warm worker), same run; and what stays after a script that held 16 MiB of Lua data, with the worker
// recycling (default) and without it (recycleAboveBytes out of reach: what every worker did before). Each round
// measures in this process, after a full GC, once the pool has settled (every worker that exits has exited).
// Run: npm run build && npm run bench:lua-memory
import { setTimeout as sleep } from 'node:timers/promises';
import { type LuaHost, LuaPool } from '../src/lua/index.js';
import { report, showSpread, spread } from './support.js';

const SANDBOXES = Number(process.env.SANDBOXES ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const MiB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:lua-memory does)');

/** A host whose calls wait for open(); arrived counts the calls waiting. */
function gatedHost() {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state = { arrived: 0, open };
  const host: LuaHost = {
    namespaces: [{ integration: 'vero', functions: ['track_event'], aliases: {}, accounts: [] }],
    async call() {
      state.arrived++;
      await gate;
      return { status: 'sent' };
    },
    readDoc: () => '',
    listDocs: () => [],
    searchDocs: () => [],
  };
  return { host, state };
}

async function until(condition: () => boolean): Promise<void> {
  if (process.env.DEBUG) console.error('until', new Error().stack?.split('\n')[2]);
  while (!condition()) await sleep(10);
}

/** RSS once V8's heaps are collected and the workers' memory has had a moment to be unmapped. */
async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(100);
  }
  return process.memoryUsage().rss;
}

// A sandbox that has just built its data and is waiting on the host, as an agent's script does between calls.
const WAITING = `
local t = {}
for i = 1, 200 do t[i] = { id = "usr_" .. i, email = "user" .. i .. "@example.com" } end
app.integrations.vero.track_event({ identity = "usr_1", event_name = "Bench", data = { n = #t } })
return #t`;
const BIG = `
local t = {}
for i = 1, 16 do t[i] = string.rep(string.char(64 + i), 1024 * 1024) end
return #t`;

async function concurrent(): Promise<{ perSandboxMiB: number; workers: number }> {
  const pool = new LuaPool();
  const { host } = gatedHost();
  await pool.run('return 1', host);
  const idle = await settledRss();
  const gated = gatedHost();
  const runs = Array.from({ length: SANDBOXES }, () => pool.run(WAITING, gated.host));
  await until(() => gated.state.arrived === SANDBOXES);
  const busy = await settledRss();
  const { workers } = pool.status();
  gated.state.open();
  await Promise.all(runs);
  await pool.close();
  return { perSandboxMiB: (busy - idle) / SANDBOXES / MiB, workers };
}

/** RSS kept once a 16 MiB script is over, against the same pool before it. */
async function keptAfterBig(recycle: boolean): Promise<number> {
  let exited = 0;
  const onWorker = (worker: import('node:worker_threads').Worker) =>
    worker.once('exit', () => {
      exited++;
    });
  process.on('worker', onWorker);
  const pool = new LuaPool({ maxWorkers: 1, ...(recycle ? {} : { recycleAboveBytes: 1024 * MiB }) });
  const { host } = gatedHost();
  await pool.run('return 1', host);
  const before = await settledRss();
  const run = await pool.run(BIG, host);
  if (!run.ok) throw new Error(`big script failed: ${run.error?.message}`);
  // Recycled: the first worker exits and a fresh one is up in its place.
  if (recycle) await until(() => exited > 0);
  await until(() => pool.status().starting === 0 && pool.status().workers === 1);
  process.off('worker', onWorker);
  const after = await settledRss();
  await pool.close();
  return (after - before) / MiB;
}

const perSandbox: number[] = [];
const workers: number[] = [];
const kept: number[] = [];
const keptWithout: number[] = [];
await concurrent(); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order so that whatever one measurement leaves behind does not always land on the same next one.
  const steps = [
    async () => {
      const c = await concurrent();
      perSandbox.push(c.perSandboxMiB);
      workers.push(c.workers);
    },
    async () => kept.push(await keptAfterBig(true)),
    async () => keptWithout.push(await keptAfterBig(false)),
  ];
  for (let i = 0; i < steps.length; i++) await steps[(round + i) % steps.length]?.();
}

report(
  'lua-memory',
  [
    {
      measure: `RSS per concurrent sandbox, ${SANDBOXES} waiting in a host call (MiB, median (min–max) of ${ROUNDS})`,
      value: showSpread(spread(perSandbox)),
      target: '<= 8',
    },
    {
      measure: `workers holding those ${SANDBOXES} sandboxes`,
      value: showSpread(spread(workers), 0),
      target: '',
    },
    {
      measure: 'RSS kept after a 16 MiB script, worker recycled (MiB)',
      value: showSpread(spread(kept)),
      target: '~0',
    },
    {
      measure: 'RSS kept after a 16 MiB script, no recycling (as before) (MiB)',
      value: showSpread(spread(keptWithout)),
      target: '',
    },
  ],
  { sandboxes: SANDBOXES, rounds: ROUNDS, perSandbox, workers, kept, keptWithout },
);
