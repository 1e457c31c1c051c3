import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface EmulatorProcess {
  url: string;
  origin: string;
  child: ChildProcess;
  stop(): void;
}

/**
 * The emulator in its own process (the built CLI), so the code being measured does not share its event loop.
 * Needs `npm run build` first.
 */
export async function startEmulatorProcess(token: string): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    ['dist/cli/main.js', 'emulator', '--port', '0', '--quiet', '--dedup-window', '0', '--token', token],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // A benchmark that fails half-way must not leave its emulator running.
  process.once('exit', () => child.kill('SIGTERM'));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited (${code}); run npm run build first`)));
  });
  return { url, origin: new URL(url).origin, child, stop: () => child.kill('SIGTERM') };
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
    `${JSON.stringify({ name, date: new Date().toISOString(), node: process.version, ...context, rows }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}
