import type { LuaPoolOptions } from '../lua/index.js';

/**
 * The sandbox pools of every CLI command: the CLI owns its process, so its workers skip TurboFan, which added
 * 80-100 ms to every `run`'s exit (src/lua/README.md, "Wasm tiers").
 */
export const CLI_LUA_OPTIONS: LuaPoolOptions = { liftoffOnly: true };
