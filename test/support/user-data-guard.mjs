/**
 * Preloaded into every test process (`npm test` passes `--import ./test/support/user-data-guard.mjs`): fails the
 * process when anything in the user's kosmo-vero data directory (where the real outbox lives) was created or
 * changed while it ran. Tests must point every outbox and file at a temporary place.
 *
 * Plain JavaScript: it also loads into the Lua worker threads, where the TypeScript loader is not active.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import envPaths from 'env-paths';

// The same folder as src/outbox/default-path.ts.
const dataDir = envPaths('kosmo-vero', { suffix: '' }).data;

function snapshot() {
  const seen = new Map();
  let entries;
  try {
    entries = fs.readdirSync(dataDir);
  } catch {
    return seen;
  }
  for (const entry of entries) {
    try {
      seen.set(entry, fs.statSync(path.join(dataDir, entry)).mtimeMs);
    } catch {
      // Removed between readdir and stat: it is not there.
    }
  }
  return seen;
}

if (isMainThread) {
  const before = snapshot();
  process.once('exit', () => {
    const touched = [...snapshot()].filter(([entry, mtime]) => before.get(entry) !== mtime).map(([e]) => e);
    if (touched.length === 0) return;
    process.stderr.write(
      `user-data-guard: this test process wrote to the user's data directory ${dataDir} (${touched.join(', ')}); ` +
        'point the outbox (--outbox, KOSMO_VERO_OUTBOX or the runtime `outbox` option) at a temporary file\n',
    );
    process.exitCode = 1;
  });
}
