// tsc copies no non-TS files; the docs markdown and the emulator page ship beside the compiled code.
import { cpSync, existsSync } from 'node:fs';

const assets = ['integrations/vero/guide', 'emulator/page', 'lua/prelude'];
for (const dir of assets) {
  if (existsSync(`src/${dir}`)) cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true });
}
