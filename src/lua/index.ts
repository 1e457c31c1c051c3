export { LuaPoolClosedError, LuaRequestError, LuaWorkerStartError } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits } from './limits.js';
export { defaultMaxWorkers, LuaPool, workerResourceLimits } from './pool.js';
export type {
  LuaCallRequest,
  LuaErrorCode,
  LuaHost,
  LuaLimitCode,
  LuaLimits,
  LuaNamespace,
  LuaPoolOptions,
  LuaRunError,
  LuaRunResult,
  LuaRunStats,
} from './types.js';
