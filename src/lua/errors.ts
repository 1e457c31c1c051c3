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

/**
 * Sandbox workers kept dying before they were ready, so the pool stopped starting new ones (a broken install or no
 * memory would otherwise respawn forever). Runs that were waiting fail with this; the next run() tries again.
 */
export class LuaWorkerStartError extends KosmoError {
  constructor(attempts: number, reason: string) {
    super(
      'lua_worker_start_failed',
      `the Lua sandbox worker failed to start ${attempts} times in a row (last: ${reason}); no script ran. The next run starts workers again; if it keeps failing, check the installation and the memory available.`,
    );
  }
}
