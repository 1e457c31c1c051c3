import { LuaRequestError } from './errors.js';
import type { LuaLimitCode, LuaLimits } from './types.js';

export const DEFAULT_LIMITS: Readonly<LuaLimits> = Object.freeze({
  timeoutMs: 30_000,
  instructionLimit: 1_000_000_000,
  memoryBytes: 64 * 1024 * 1024,
  outputBytes: 1024 * 1024,
  maxCalls: 10_000,
  maxArgBytes: 1024 * 1024,
  maxResultBytes: 8 * 1024 * 1024,
});

/**
 * Later layers win; a missing or undefined field keeps the earlier value. A value below 1 (it is floored), infinite or NaN
 * is a LuaRequestError (`lua_invalid_request`) naming the limit.
 */
export function resolveLimits(...layers: (Partial<LuaLimits> | undefined)[]): LuaLimits {
  const out: LuaLimits = { ...DEFAULT_LIMITS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of Object.keys(DEFAULT_LIMITS) as (keyof LuaLimits)[]) {
      const value = layer[key];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
        throw new LuaRequestError(
          `Lua limit ${key}: must be a finite number of at least 1, got ${String(value)}; leave it out for the default (${DEFAULT_LIMITS[key]})`,
        );
      }
      out[key] = Math.floor(value);
    }
  }
  return out;
}

function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/** The message a script (and the run's result) gets when a limit is hit; names the limit and the option to raise it. */
export function limitMessage(code: LuaLimitCode, limits: LuaLimits, detail?: string): string {
  switch (code) {
    case 'lua_timeout':
      // "Lua timeout error" is KosmoKrator's text for the same stop.
      return `Lua timeout error: script ran longer than the time limit of ${limits.timeoutMs} ms (timeoutMs)`;
    case 'lua_instruction_limit':
      return `script exceeded the instruction limit of ${limits.instructionLimit} Lua instructions (instructionLimit)`;
    case 'lua_memory_limit':
      return `script exceeded the memory limit of ${mib(limits.memoryBytes)} (memoryBytes)`;
    case 'lua_output_limit':
      return `script printed more than ${limits.outputBytes} bytes (outputBytes); output was cut there`;
    case 'lua_call_limit':
      return `script made more than ${limits.maxCalls} integration calls (maxCalls)`;
    case 'lua_arg_too_large':
      return `${detail ?? 'call'}: arguments are too large as JSON, above the limit of ${limits.maxArgBytes} bytes (maxArgBytes)`;
    case 'lua_result_too_large':
      return `${detail ?? 'call'}: result is too large as JSON, above the limit of ${limits.maxResultBytes} bytes (maxResultBytes)`;
  }
}

/**
 * Limit errors travel through Lua as strings starting with this marker, so the pcall/xpcall/coroutine wrappers and
 * the final report recognise them. The worker also remembers the hit itself: a forged marker string proves nothing.
 */
export const LIMIT_MARK = '[limit:';

export function markLimit(code: LuaLimitCode, message: string): string {
  return `${LIMIT_MARK}${code}] ${message}`;
}
