import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';

export interface EmulatorProcess {
  url: string;
  origin: string;
  child: ChildProcess;
  stop(): void;
}

export interface ServerProcess {
  /** The first line the server printed on stdout: its URL. */
  url: string;
  origin: string;
  child: ChildProcess;
  stop(): void;
}

/** Starts `node <args>` and waits for the URL it prints as its first line of stdout. */
export async function startServerProcess(args: string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  // A benchmark that fails half-way must not leave its server running.
  process.once('exit', () => child.kill('SIGTERM'));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited (${code}); run npm run build first`)),
    );
  });
  return { url, origin: new URL(url).origin, child, stop: () => child.kill('SIGTERM') };
}

/**
 * The emulator in its own process (the built CLI), so the code being measured does not share its event loop.
 * Needs `npm run build` first. `args` are further `kosmo-vero emulator` options.
 */
export function startEmulatorProcess(token: string, args: string[] = []): Promise<ServerProcess> {
  return startServerProcess([
    'dist/cli/bin.js',
    'emulator',
    '--port',
    '0',
    '--quiet',
    '--dedup-window',
    '0',
    '--token',
    token,
    ...args,
  ]);
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux; 10 ms ticks). */
export function cpuMs(pid: number): number {
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A child's resident set size in MiB, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  if (!Number.isFinite(kib)) throw new Error(`no VmRSS for process ${pid}`);
  return kib / 1024;
}

/**
 * A bare `node:http` keep-alive JSON POST to `url` (the cheapest way to send a request from Node): the baseline
 * the runtime's own client is compared with. `post` resolves with the parsed response body.
 */
export function jsonPoster(url: string): { post: (payload: string) => Promise<unknown>; close: () => void } {
  const agent = new http.Agent({ keepAlive: true });
  const target = new URL(url);
  const post = (payload: string) =>
    new Promise<unknown>((resolve, reject) => {
      const request = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () => resolve(JSON.parse(text)));
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  // The agent keeps its sockets open: close it when done, or the process stays alive.
  return { post, close: () => agent.destroy() };
}

/** Forgets the emulator's users, events and request log, so each measured case starts from the same state. */
export async function resetEmulator(origin: string): Promise<void> {
  await fetch(`${origin}/_emulator/reset`, { method: 'POST' });
}

export async function setLatency(origin: string, latencyMs: number): Promise<void> {
  await fetch(`${origin}/_emulator/faults`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json' },
  });
  if (latencyMs > 0) {
    await fetch(`${origin}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ faults: [{ latencyMs, forever: true }] }),
    });
  }
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export const spread = (values: number[]): Spread => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
  values,
});

/** `12.3 (11.9–13.0)`: a median with the range it came from. */
export const showSpread = (s: Spread, digits = 2): string =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

/**
 * Runs every case `warmup` times, then `rounds` rounds in which each case runs once, in an order that rotates
 * each round, so a noisy neighbour hits all cases alike. Each case returns its own measurement (ms, or a rate);
 * `ratios` are per-round ratios of each case against `baseline`, so a slow round moves both sides of a ratio.
 */
export async function interleave<K extends string>(
  cases: Record<K, () => Promise<number>>,
  options: { rounds: number; warmup?: number; baseline?: NoInfer<K> },
): Promise<{ cases: Record<K, Spread>; ratios: Record<K, Spread> }> {
  const names = Object.keys(cases) as K[];
  for (let i = 0; i < (options.warmup ?? 1); i++) for (const name of names) await cases[name]();
  const values = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length] as K;
      values[name].push(await cases[name]());
    }
  }
  const baseline = options.baseline ?? (names[0] as K);
  const ratioOf = (name: K) => values[name].map((v, i) => v / (values[baseline][i] ?? Number.NaN));
  return {
    cases: Object.fromEntries(names.map((n) => [n, spread(values[n])])) as Record<K, Spread>,
    ratios: Object.fromEntries(names.map((n) => [n, spread(ratioOf(n))])) as Record<K, Spread>,
  };
}

/** What else the machine was doing: a same-run ratio is only as good as the load it was measured under. */
export const machine = () => ({ cores: cpus().length, load1: Number(loadavg()[0]?.toFixed(2)) });

/** Prints an aligned table and writes the same rows, with the run's context, to bench/results/<name>.json. */
export function report(
  name: string,
  rows: Array<Record<string, string | number>>,
  context: Record<string, unknown>,
) {
  const columns = Object.keys(rows[0] ?? {});
  const cell = (value: string | number) =>
    typeof value === 'number' ? value.toFixed(value < 10 ? 3 : 1) : value;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c] ?? ''))));
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${name}.json`;
  writeFileSync(
    file,
    `${JSON.stringify({ name, date: new Date().toISOString(), node: process.version, machine: machine(), ...context, rows }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}
