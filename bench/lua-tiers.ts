// Lua speed with wasm compiled by Liftoff only (`liftoffOnly: true`, what a one-off `kosmo-vero run` uses) against
// V8's default, where TurboFan re-compiles hot functions in the background (the library's default, and the long-lived
// `mcp` and `serve`). The flag is process-wide and stays once set, so each case runs in a process of its own
// (this file again, with BENCH_TIER set), alternated round by round. Each process runs three workloads four times on
// one warm pool: the first run, the median of the other three ("warm"), and how long closing the pool took.
// Run: npm run build && npm run bench:lua-tiers   (ROUNDS=3)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type LuaHost, LuaPool } from '../src/lua/index.js';
import { median, report, showSpread, spread } from './support.js';

const WORKLOADS = {
  'arithmetic loop (1e7)': 'local t = 0 for i = 1, 1e7 do t = t + (i % 7) end return t',
  'tables: build and sort 3e5': `local t = {} for i = 1, 3e5 do t[i] = { id = i, name = "n" .. i } end
    table.sort(t, function(a, b) return a.id > b.id end) return #t`,
  'strings: format and concat 2e5': `local parts = {} for i = 1, 2e5 do parts[#parts + 1] = string.format("%d:%s", i, i * 3) end
    return #table.concat(parts, ",")`,
};
type Workload = keyof typeof WORKLOADS;
/** The workloads call nothing on the host. */
const NO_HOST: LuaHost = {
  namespaces: [],
  call: async () => undefined,
  readDoc: () => '',
  listDocs: () => [],
  searchDocs: () => [],
};
type Timing = { first: number; warm: number };
type Sample = { timings: Record<Workload, Timing>; closeMs: number };
const MODES = { 'liftoff only': '1', 'with TurboFan': '0' } as const;
type Mode = keyof typeof MODES;

async function measureHere(liftoffOnly: boolean): Promise<Sample> {
  const pool = new LuaPool({
    maxWorkers: 1,
    liftoffOnly,
    limits: { timeoutMs: 120_000, instructionLimit: 1e10 },
  });
  const timings = {} as Record<Workload, Timing>;
  for (const [name, code] of Object.entries(WORKLOADS) as Array<[Workload, string]>) {
    const runs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      const run = await pool.run(code, NO_HOST);
      if (!run.ok) throw new Error(`${name}: ${JSON.stringify(run.error)}`);
      runs.push(performance.now() - started);
    }
    timings[name] = { first: runs[0] ?? Number.NaN, warm: median(runs.slice(1)) };
  }
  const closing = performance.now();
  await pool.close();
  return { timings, closeMs: performance.now() - closing };
}

if (process.env.BENCH_TIER !== undefined) {
  process.stdout.write(JSON.stringify(await measureHere(process.env.BENCH_TIER === '1')));
} else {
  const ROUNDS = Number(process.env.ROUNDS ?? 3);
  const samples: Record<Mode, Sample[]> = { 'liftoff only': [], 'with TurboFan': [] };
  const modes = Object.keys(MODES) as Mode[];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < modes.length; i++) {
      const mode = modes[(round + i) % modes.length] as Mode;
      const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        env: { ...process.env, BENCH_TIER: MODES[mode] },
      });
      samples[mode].push(JSON.parse(out.toString()) as Sample);
    }
  }
  const of = (mode: Mode, pick: (s: Sample) => number) => spread(samples[mode].map(pick));
  const rows = (Object.keys(WORKLOADS) as Workload[]).flatMap((name) =>
    (['first', 'warm'] as const).map((which) => {
      const liftoff = of('liftoff only', (s) => s.timings[name][which]);
      const turbofan = of('with TurboFan', (s) => s.timings[name][which]);
      return {
        workload: `${name}, ${which} run`,
        'liftoff only (ms)': showSpread(liftoff, 0),
        'with TurboFan (ms)': showSpread(turbofan, 0),
        'liftoff / TurboFan': (liftoff.median / turbofan.median).toFixed(2),
      };
    }),
  );
  rows.push({
    workload: 'closing the pool',
    'liftoff only (ms)': showSpread(
      of('liftoff only', (s) => s.closeMs),
      0,
    ),
    'with TurboFan (ms)': showSpread(
      of('with TurboFan', (s) => s.closeMs),
      0,
    ),
    'liftoff / TurboFan': '',
  });
  report('lua-tiers', rows, { rounds: ROUNDS, samples });
}
