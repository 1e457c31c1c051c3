import { KosmoError } from '../errors.js';

/** run() after close(), or a run still queued or running when the pool closed. */
export class LuaPoolClosedError extends KosmoError {
  constructor() {
    super('lua_pool_closed', 'the Lua pool is closed; create a new LuaPool to run more scripts');
  }
}

/** run() was given something that is not a script or a host (a programming error on the caller's side). */
export class LuaRequestError extends KosmoError {
  constructor(message: string) {
    super('lua_invalid_request', message);
  }
}
