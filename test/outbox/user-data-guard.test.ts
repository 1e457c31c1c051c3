import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDb, tempDir } from './helpers.js';

const ROOT = path.join(import.meta.dirname, '..', '..');

// `npm test` preloads the guard into every test process; here it runs in a child whose data directory is a
// temporary one, so proving that it catches a write never touches the real one either.
function writeWithGuard(where: string, dataHome: string) {
  return spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/support/user-data-guard.mjs',
      'test/outbox/fixtures/outbox-writer.ts',
      where,
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, XDG_DATA_HOME: dataHome } },
  );
}

test('a test process that writes into the user data directory fails; one that uses a temporary outbox passes', () => {
  const dataHome = tempDir();
  const caught = writeWithGuard('default', dataHome);
  assert.equal(caught.status, 1, caught.stderr);
  assert.match(caught.stderr, /user-data-guard: this test process wrote to the user's data directory/);
  assert.ok(fs.existsSync(path.join(dataHome, 'kosmo-vero', 'outbox.db')), 'the write did happen there');

  const clean = tempDir();
  const passed = writeWithGuard(tempDb(), clean);
  assert.equal(passed.status, 0, passed.stderr);
  assert.equal(fs.existsSync(path.join(clean, 'kosmo-vero')), false);
});
