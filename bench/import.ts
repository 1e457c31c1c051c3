// `kosmo-vero import` of a users CSV, whole processes of the built CLI against the emulator (another process), for
// each size in SIZES: the import's peak RSS (flat in the file's size when the file is streamed), the outbox file
// before and after `outbox purge`, and `outbox drain` of the same rows queued with `--no-wait` against the time
// the import itself spent delivering after queueing (its total minus the `--no-wait` run's). Each CLI process runs
// with `--trace-gc`, and the import's live heap is the largest heap V8 reports right after a mark-compact: what it
// keeps, apart from the garbage V8 lets wait, which moves the peak RSS from run to run.
// Run: npm run build && npm run bench:import   (SIZES=25000,100000)
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { report, resetEmulator, startEmulatorProcess } from './support.js';

const SIZES = (process.env.SIZES ?? '25000,100000').split(',').map(Number);
const TOKEN = 'bench-token-0123456789';
const MiB = 1024 * 1024;

const emulator = await startEmulatorProcess(TOKEN);
const dir = mkdtempSync(join(tmpdir(), 'kosmo-bench-import-'));
const run = promisify(execFile);

async function writeUsers(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('id,email,name,plan\n');
  for (let i = 0; i < rows; i++) {
    if (!out.write(`usr_${i},user${i}@example.com,User ${i},${i % 3 === 0 ? 'pro' : 'free'}\n`)) {
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  out.end();
  await finished(out);
}

/** One CLI process under /usr/bin/time: wall seconds, peak RSS and the largest live heap. */
async function cli(
  args: string[],
  outbox: string,
): Promise<{ seconds: number; rssMiB: number; liveHeapMiB: number }> {
  const { stdout, stderr } = await run(
    '/usr/bin/time',
    [
      '-f',
      'bench-time %e %M',
      process.execPath,
      '--trace-gc',
      'dist/cli/bin.js',
      ...args,
      '--outbox',
      outbox,
    ],
    {
      env: { ...process.env, VERO_AUTH_TOKEN: TOKEN, VERO_BASE_URL: emulator.url },
      maxBuffer: 64 * MiB,
    },
  );
  const [, seconds, kib] = /bench-time ([\d.]+) (\d+)/.exec(stderr) ?? [];
  // V8's lines on stdout: "Mark-Compact 45.2 (60.1) -> 12.1 (50.0) MB" (or "Mark-Compact (reduce) ..."): heap used
  // before (reserved) -> after, in MiB.
  const afterMarkCompact = [
    ...stdout.matchAll(/Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+)/g),
  ].map((match) => Number(match[1]));
  // NaN when the process never ran a mark-compact: shown as such, not as an empty heap.
  const liveHeapMiB = afterMarkCompact.length > 0 ? Math.max(...afterMarkCompact) : Number.NaN;
  return { seconds: Number(seconds), rssMiB: Number(kib) / 1024, liveHeapMiB };
}

/** The outbox file and its WAL, as the file system holds them. */
const fileMB = (outbox: string) =>
  [outbox, `${outbox}-wal`].reduce(
    (total, f) => total + (statSync(f, { throwIfNoEntry: false })?.size ?? 0),
    0,
  ) / 1e6;

const results = [];
for (const rows of SIZES) {
  const csv = join(dir, `users-${rows}.csv`);
  await writeUsers(csv, rows);

  await resetEmulator(emulator.origin);
  const waited = join(dir, `waited-${rows}.db`);
  const imported = await cli(['import', csv], waited);
  const beforePurge = fileMB(waited);
  await cli(['outbox', 'purge'], waited);
  const afterPurge = fileMB(waited);

  await resetEmulator(emulator.origin);
  const queuedOnly = join(dir, `queued-${rows}.db`);
  const queued = await cli(['import', csv, '--no-wait'], queuedOnly);
  const drained = await cli(['outbox', 'drain'], queuedOnly);

  results.push({
    rows,
    csvMB: statSync(csv).size / 1e6,
    imported,
    queued,
    drained,
    ownDeliverySeconds: imported.seconds - queued.seconds,
    beforePurge,
    afterPurge,
  });
}
emulator.stop();
rmSync(dir, { recursive: true, force: true });

const first = results[0];
const last = results.at(-1);
if (!first || !last) throw new Error('SIZES is empty');
report(
  'import',
  [
    ...results.flatMap((r) => [
      {
        measure: `${r.rows} rows (${r.csvMB.toFixed(1)} MB CSV): import, queue + deliver (s)`,
        value: r.imported.seconds,
        target: '',
      },
      { measure: `${r.rows} rows: import peak RSS (MiB)`, value: r.imported.rssMiB, target: '' },
      {
        measure: `${r.rows} rows: import live heap, largest after a major GC (MiB)`,
        value: r.imported.liveHeapMiB,
        target: '',
      },
      { measure: `${r.rows} rows: import --no-wait, queue only (s)`, value: r.queued.seconds, target: '' },
      {
        measure: `${r.rows} rows: the import's own delivery, after queueing (s)`,
        value: r.ownDeliverySeconds,
        target: '',
      },
      { measure: `${r.rows} rows: outbox drain of them (s)`, value: r.drained.seconds, target: '' },
      {
        measure: `${r.rows} rows: outbox drain / import's own delivery`,
        value: r.drained.seconds / r.ownDeliverySeconds,
        target: '<= 1',
      },
      {
        measure: `${r.rows} rows: outbox file after import / after purge (MB)`,
        value: `${r.beforePurge.toFixed(1)} / ${r.afterPurge.toFixed(2)}`,
        target: 'near empty after',
      },
    ]),
    {
      measure: `import peak RSS, ${last.rows} / ${first.rows} rows`,
      value: last.imported.rssMiB / first.imported.rssMiB,
      target: '~1 (flat)',
    },
    {
      measure: `import live heap, ${last.rows} / ${first.rows} rows`,
      value: last.imported.liveHeapMiB / first.imported.liveHeapMiB,
      target: '~1 (flat)',
    },
  ],
  { sizes: SIZES, results },
);
