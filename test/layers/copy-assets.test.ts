import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/copy-assets.mjs', import.meta.url));

test('the build copies every non-TS file under src/, so a new integration folder needs no line in the script', () => {
  const root = mkdtempSync(join(tmpdir(), 'kosmo-assets-'));
  const files = {
    'src/integrations/notes/guide/working.md': '## Working',
    'src/integrations/notes/index.ts': 'export {};',
    'src/lua/prelude/json.lua': 'return {}',
    'src/emulator/page/app.js': '',
    'src/outbox/README.md': '# why',
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  execFileSync(process.execPath, [SCRIPT], { cwd: root });
  const copied = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' })
    .map((file) => file.split('\\').join('/'))
    .filter((file) => /\.\w+$/.test(file))
    .sort();
  // Sources are tsc's to compile, and a folder's README documents the source: neither is copied.
  assert.deepEqual(copied, [
    'emulator/page/app.js',
    'integrations/notes/guide/working.md',
    'lua/prelude/json.lua',
  ]);
});
