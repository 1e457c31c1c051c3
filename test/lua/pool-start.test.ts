import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { LuaPool, LuaWorkerStartError } from '../../src/lua/index.js';
import { testHost } from './host.js';

// A heap this small kills every worker while it loads, before it is ready: a real start failure, as when memory runs
// out or the install is broken.
const STARVED = { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 };

describe('LuaPool when workers cannot start', () => {
  it('fails the waiting runs with a code, stops respawning, and tries again on the next run', async () => {
    const exits: Promise<unknown>[] = [];
    const created: Worker[] = [];
    const onWorker = (worker: Worker) => {
      created.push(worker);
      // Not events.once: it rejects on the worker's 'error' event, which each of these workers emits first.
      exits.push(new Promise((resolve) => worker.once('exit', resolve)));
    };
    process.on('worker', onWorker);
    const pool = new LuaPool({ maxWorkers: 2, resourceLimits: STARVED });
    try {
      const runs = [pool.run('return 1', testHost()), pool.run('return 2', testHost())];
      for (const run of runs) {
        await assert.rejects(run, (error: unknown) => {
          assert.ok(error instanceof LuaWorkerStartError);
          assert.equal(error.code, 'lua_worker_start_failed');
          assert.match(
            error.message,
            /failed to start 3 times in a row \(last: .*memory limit.*\); no script ran/,
          );
          return true;
        });
      }
      const spawned = created.length;
      assert.ok(spawned >= 3, `${spawned} workers`);

      // Every worker started so far has exited; had the pool respawned on an exit, a new one would exist by now.
      // Idle workers do not keep the process alive, so a timer does while they exit.
      const keepAlive = setInterval(() => {}, 1000);
      await Promise.all(exits);
      await new Promise((resolve) => setImmediate(resolve));
      clearInterval(keepAlive);
      assert.equal(created.length, spawned, 'no worker is started while no run is waiting');

      await assert.rejects(pool.run('return 3', testHost()), { code: 'lua_worker_start_failed' });
      assert.ok(created.length > spawned, 'the next run started workers again');
    } finally {
      process.off('worker', onWorker);
      await pool.close();
    }
  });
});
