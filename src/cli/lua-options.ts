import type { LuaPoolOptions } from '../lua/index.js';

/**
 * The sandbox pools of every CLI command. V8 compiles wasm twice: at once with Liftoff, then hot functions again with
 * TurboFan in the background. Lua's VM gains nothing from the second pass (a loop of several seconds ran no faster),
 * and a worker cannot stop before its pending compiles finish: 80-100 ms added to every `run`'s exit. The flag is
 * process-wide: the CLI owns its process, the library leaves it to its host (src/lua/README.md, "Wasm tiers").
 */
export const CLI_LUA_OPTIONS: LuaPoolOptions = { liftoffOnly: true };
