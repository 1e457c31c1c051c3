// Delivery rate of the outbox on PostgreSQL with 1, 2 and 4 drainer processes, against one drainer on SQLite,
// same emulator (its own process, 20 ms a request), same run, interleaved. Each case queues WRITES writes for
// USERS users (not timed), starts its drainer processes and waits until they say they are ready, then times from
// "go" until every drainer has finished: writes per second. Needs `npm run build` (the emulator) and a
// PostgreSQL server (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432/test).
// Run: npm run bench:outbox-postgres   (WRITES=1000 USERS=100 LATENCY_MS=20 ROUNDS=3)
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { createRuntime } from '../src/index.js';
import { interleave, report, setLatency, showSpread, startEmulatorProcess } from './support.js';

const WRITES = Number(process.env.WRITES ?? 1000);
const USERS = Number(process.env.USERS ?? 100);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const POSTGRES = process.env.BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = 'bench-token-0001-outbox-postgres';

const emulator = await startEmulatorProcess(TOKEN);
await setLatency(emulator.origin, LATENCY_MS);
const dir = mkdtempSync(join(tmpdir(), 'kosmo-bench-pg-'));
const admin = new pg.Pool({ connectionString: POSTGRES, max: 1 });
let made = 0;

/** A fresh outbox of the engine, with WRITES writes queued through the runtime (as `serve` or `call` would). */
async function queued(engine: 'sqlite' | 'postgres'): Promise<{ location: string; drop(): Promise<void> }> {
  const schema = `kv_bench_${randomBytes(4).toString('hex')}`;
  const location = engine === 'sqlite' ? join(dir, `outbox-${made++}.db`) : `${POSTGRES}?schema=${schema}`;
  const runtime = createRuntime({
    env: { VERO_AUTH_TOKEN: TOKEN, VERO_BASE_URL: emulator.url },
    outbox: location,
    delivery: 'queued',
    background: false,
  });
  for (let i = 0; i < WRITES; i++) {
    await runtime.call('vero.track_event', {
      identity: `user-${i % USERS}`,
      event_name: 'Bench',
      data: { i },
    });
  }
  await runtime.close();
  return {
    location,
    async drop() {
      if (engine === 'postgres') await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    },
  };
}

function drainer(location: string): { child: ChildProcess; ready: Promise<void>; done: Promise<number> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/outbox-drainer.ts', location, emulator.url, TOKEN],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let ready: () => void = () => {};
  let done: (delivered: number) => void = () => {};
  const result = {
    child,
    ready: new Promise<void>((resolve) => {
      ready = resolve;
    }),
    done: new Promise<number>((resolve) => {
      done = resolve;
    }),
  };
  lines.on('line', (line) => {
    if (line === 'ready') ready();
    if (line.startsWith('done ')) done(JSON.parse(line.slice(5)).delivered as number);
  });
  child.once('exit', (code) => {
    if (code !== 0) throw new Error(`a drainer exited with ${code}`);
  });
  return result;
}

/** Writes per second delivered by `processes` drainers, from "go" until the last one is done. */
async function rate(engine: 'sqlite' | 'postgres', processes: number): Promise<number> {
  const outbox = await queued(engine);
  const drainers = Array.from({ length: processes }, () => drainer(outbox.location));
  await Promise.all(drainers.map((d) => d.ready));
  const started = performance.now();
  for (const d of drainers) d.child.stdin?.write('go\n');
  const delivered = await Promise.all(drainers.map((d) => d.done));
  const seconds = (performance.now() - started) / 1000;
  await outbox.drop();
  const total = delivered.reduce((sum, n) => sum + n, 0);
  if (total !== WRITES) throw new Error(`${engine} x${processes}: delivered ${total} of ${WRITES}`);
  return WRITES / seconds;
}

const result = await interleave<'sqlite1' | 'pg1' | 'pg2' | 'pg4'>(
  {
    sqlite1: () => rate('sqlite', 1),
    pg1: () => rate('postgres', 1),
    pg2: () => rate('postgres', 2),
    pg4: () => rate('postgres', 4),
  },
  { rounds: ROUNDS, warmup: 1, baseline: 'sqlite1' },
);
emulator.stop();
await admin.end();
rmSync(dir, { recursive: true, force: true });

const label = {
  sqlite1: 'SQLite, 1 drainer',
  pg1: 'PostgreSQL, 1 drainer',
  pg2: 'PostgreSQL, 2 drainers',
  pg4: 'PostgreSQL, 4 drainers',
};
report(
  'outbox-postgres',
  (['sqlite1', 'pg1', 'pg2', 'pg4'] as const).map((name) => ({
    case: label[name],
    'writes/s': showSpread(result.cases[name], 0),
    'vs SQLite': showSpread(result.ratios[name]),
    target: name === 'pg4' ? '> pg1 (drainers add up)' : '',
  })),
  { writes: WRITES, users: USERS, latencyMs: LATENCY_MS, rounds: ROUNDS, result },
);
