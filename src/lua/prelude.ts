/**
 * The trusted Lua prelude, shipped as .lua files in prelude/ beside this module (scripts/copy-assets.mjs copies them to dist).
 * They form one chunk, in this order, because the later files use the locals the earlier ones define: header.lua
 * (captured library functions), json.lua (the JSON converter), serialize.lua (how tables print), sandbox.lua (the
 * globals a script sees, and run/install). Read once per worker, when this module loads.
 */
import { readFileSync } from 'node:fs';

const FILES = ['header.lua', 'json.lua', 'serialize.lua', 'sandbox.lua'];

export const PRELUDE_LUA = FILES.map((file) =>
  readFileSync(new URL(`./prelude/${file}`, import.meta.url), 'utf8'),
).join('\n');
