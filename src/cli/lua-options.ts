import type { LuaPoolOptions } from '../lua/index.js';

/**
 * The pool of a one-off `run`: Liftoff only, since waiting at exit for TurboFan's background compiles cost more than
 * it saved for a short script. Long-lived commands (mcp, serve) keep V8's default. Measured: src/lua/README.md,
 * "Wasm tiers".
 */
export const RUN_LUA_OPTIONS: LuaPoolOptions = { liftoffOnly: true };
