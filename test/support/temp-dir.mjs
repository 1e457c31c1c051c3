/**
 * Preloaded into every test process (`npm test` passes `--import ./test/support/temp-dir.mjs`): points TMPDIR at a
 * fresh folder of this process's own and removes it at exit, so what the tests and the processes they start make
 * with `os.tmpdir()` (outboxes, configs, scripts, emulator files) goes with them, whether or not a test cleans up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-test-'));
  process.env.TMPDIR = dir;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}
