// tsc copies no non-TS files: every other file under src/ (an integration's guide, the emulator's page, Lua
// sources) ships beside the compiled code, so an integration's folder brings its assets with no line here.
// A folder's README.md documents the source and stays with it.
import { cpSync, statSync } from 'node:fs';
import { basename } from 'node:path';

const isAsset = (path) => !path.endsWith('.ts') && basename(path) !== 'README.md';
cpSync('src', 'dist', {
  recursive: true,
  filter: (path) => statSync(path).isDirectory() || isAsset(path),
});
