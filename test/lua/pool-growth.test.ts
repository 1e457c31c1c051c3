/**
 * How the pool sizes itself: scripts waiting on the host park and share a worker, workers are added only while
 * scripts execute, up to maxWorkers, idle ones stop by the pool's clock, and a worker a big script grew is replaced.
 * Every wait here is a gate on what happened (host calls arriving, workers exiting), never a timing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { cachedDataVersionTag } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { DEFAULT_LIMITS, LuaPool, workerResourceLimits } from '../../src/lua/index.js';
import { until } from '../support/clock.js';
import { testHost } from './host.js';

/** A host whose calls all wait until `open()`; `arrived` counts the calls in progress. */
function gatedHost() {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state = { arrived: 0, open };
  const host = testHost(async (request) => {
    state.arrived++;
    await gate;
    return { me: (request.args as { me?: unknown }).me ?? null };
  });
  return { host, state };
}

// Worker counts come from the pool's own status(): other suites may run pools in this process (npm run test:unit).
describe('LuaPool sizing', () => {
  let pool: LuaPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('a one-off run starts one worker', async () => {
    pool = new LuaPool({ maxWorkers: 4 });
    const run = await pool.run('return 1 + 1', testHost());
    assert.equal(run.result, 2);
    assert.equal(pool.status().started, 1);
  });

  it('sixteen scripts waiting on the host all run at once on one worker', async () => {
    pool = new LuaPool({ maxWorkers: 1 });
    const { host, state } = gatedHost();
    const runs = Array.from({ length: 16 }, (_, i) =>
      pool?.run(`return app.integrations.vero.identify_user({ me = ${i} }).me`, host),
    );
    // Had a waiting script held its worker, only one call would ever arrive before the gate opens.
    await until(() => state.arrived === 16, 'all sixteen host calls');
    assert.deepEqual(pool.status(), {
      workers: 1,
      starting: 0,
      executing: 0,
      parked: 16,
      queued: 0,
      started: 1,
    });
    state.open();
    const results = await Promise.all(runs);
    assert.deepEqual(
      results.map((r) => r?.result),
      Array.from({ length: 16 }, (_, i) => i),
    );
    assert.equal(pool.status().started, 1);
  });

  it('a host call passes through the script own coroutines and pcall while parked', async () => {
    pool = new LuaPool({ maxWorkers: 1 });
    const { host, state } = gatedHost();
    const script = (me: string) => `
      local outer = coroutine.wrap(function()
        local inner = coroutine.create(function()
          local ok, r = pcall(app.integrations.vero.identify_user, { me = '${me}' })
          coroutine.yield(r.me)
        end)
        local _, got = coroutine.resume(inner)
        coroutine.yield(got)
      end)
      return outer(), coroutine.isyieldable(), select(2, coroutine.running())
    `;
    const both = [pool.run(script('A'), host), pool.run(script('B'), host)];
    await until(() => state.arrived === 2, 'both calls, each from a coroutine inside a coroutine');
    assert.equal(pool.status().parked, 2);
    state.open();
    const [a, b] = await Promise.all(both);
    assert.deepEqual(a?.result, ['A', false, true]);
    assert.deepEqual(b?.result, ['B', false, true]);
    const top = await pool.run('coroutine.yield(1)', testHost());
    assert.equal(top.error?.code, 'lua_runtime_error');
    assert.match(top.error?.message ?? '', /attempt to yield from outside a coroutine/);
  });

  it('a call where Lua cannot yield holds its worker; the pool grows to maxWorkers and no further', async () => {
    pool = new LuaPool({ maxWorkers: 3 });
    const { host, state } = gatedHost();
    // Inside a string.gsub callback (a C call) the script cannot park: its call blocks the worker.
    const blocking = (i: number) =>
      `return (string.gsub('x', 'x', function() return app.integrations.vero.identify_user({ me = '${i}' }).me end))`;
    const runs = [1, 2, 3, 4, 5].map((i) => pool?.run(blocking(i), host));
    await until(() => state.arrived === 3, 'three blocked calls');
    assert.deepEqual(pool.status(), {
      workers: 3,
      starting: 0,
      executing: 3,
      parked: 0,
      queued: 2,
      started: 3,
    });
    state.open();
    const results = await Promise.all(runs);
    assert.deepEqual(
      results.map((r) => r?.result),
      ['1', '2', '3', '4', '5'],
    );
    assert.equal(pool.status().started, 3);
  });

  it('stops workers idle for idleMs by its clock, keeping one', async () => {
    let now = 0;
    pool = new LuaPool({ maxWorkers: 3, idleMs: 60_000, now: () => now });
    const { host, state } = gatedHost();
    const blocking = `return (string.gsub('x', 'x', function() return app.integrations.vero.identify_user({}).me end))`;
    const runs = [1, 2, 3].map(() => pool?.run(blocking, host));
    await until(() => state.arrived === 3, 'three blocked calls');
    state.open();
    await Promise.all(runs);
    await until(() => pool?.status().executing === 0, 'every state closed');
    now += 59_999;
    pool.trimIdle();
    assert.equal(pool.status().workers, 3, 'not idle long enough yet');
    now += 1;
    pool.trimIdle();
    assert.equal(pool.status().workers, 1);
    const after = await pool.run('return 7', testHost());
    assert.equal(after.result, 7);
    assert.equal(pool.status().started, 3, 'the kept worker serves the next run');
  });

  it('a parked script past its time limit ends with lua_timeout; the scripts beside it carry on', async () => {
    pool = new LuaPool({ maxWorkers: 1 });
    const { host, state } = gatedHost();
    const never = testHost(() => new Promise(() => {}));
    const stuck = pool.run('app.integrations.vero.identify_user({}) return "unreachable"', never, {
      timeoutMs: 200,
    });
    const neighbour = pool.run('return app.integrations.vero.identify_user({ me = "n" }).me', host);
    await until(() => state.arrived === 1, 'the neighbour is parked too');
    const timedOut = await stuck;
    assert.equal(timedOut.error?.code, 'lua_timeout');
    state.open();
    assert.equal((await neighbour).result, 'n');
    assert.deepEqual([pool.status().started, pool.status().workers], [1, 1], 'no worker was terminated');
  });

  it('replaces a worker a big script used, and keeps one a small script used', async () => {
    pool = new LuaPool({ maxWorkers: 1 });
    const small = await pool.run('local t = {} for i = 1, 1000 do t[i] = i end return #t', testHost());
    assert.equal(small.result, 1000);
    assert.equal(pool.status().started, 1);
    // About 20 MiB of Lua strings, under the 64 MiB limit and over the 16 MiB a worker may keep.
    const big = await pool.run(
      'local t = {} for i = 1, 20 do t[i] = string.rep(string.char(64 + i), 1024 * 1024) end return #t',
      testHost(),
    );
    assert.equal(big.ok, true, JSON.stringify(big.error));
    assert.ok(big.stats.peakMemoryBytes > 20 * 1024 * 1024, String(big.stats.peakMemoryBytes));
    // The pool starts a fresh worker when the last one exits.
    await until(() => pool?.status().started === 2, 'a fresh worker in place of the used one');
    const next = await pool.run('return 1', testHost());
    assert.equal(next.result, 1);
    assert.deepEqual([pool.status().started, pool.status().workers], [2, 1]);
  });

  it('caps each worker V8 heap from the Lua limits unless told otherwise', async () => {
    // Limits no other pool uses, so this pool's worker is recognisable among any other workers of this process.
    const limits = { maxResultBytes: 3 * 1024 * 1024, maxArgBytes: 1024 * 1024, outputBytes: 1024 * 1024 };
    const expected = workerResourceLimits({ ...DEFAULT_LIMITS, ...limits });
    assert.deepEqual(expected, { maxOldGenerationSizeMb: 128 + 4 * 5 });
    const seen: Worker[] = [];
    const onWorker = (worker: Worker) => seen.push(worker);
    process.on('worker', onWorker);
    try {
      pool = new LuaPool({ maxWorkers: 1, limits });
      assert.equal((await pool.run('return 1', testHost())).result, 1);
      await until(() => seen.length > 0, 'the worker announced');
    } finally {
      process.off('worker', onWorker);
    }
    const ours = seen.filter((w) => w.resourceLimits?.maxOldGenerationSizeMb === 148);
    assert.equal(ours.length, 1);
  });

  it('refuses a bad pool option with its name and rule', () => {
    assert.throws(() => new LuaPool({ maxWorkers: 0 }), {
      code: 'lua_invalid_request',
      message:
        /^Lua pool option maxWorkers: must be a finite number of at least 1, got 0; leave it out for the default/,
    });
    assert.throws(() => new LuaPool({ liftoffOnly: 'yes' as unknown as boolean }), {
      code: 'lua_invalid_request',
      message: /^Lua pool option liftoffOnly: must be true or false, got yes/,
    });
  });

  // Last in this file: a V8 flag, once set, stays for the rest of the process.
  it('sets V8 --liftoff-only for the whole process only when asked, as a one-off run does', async () => {
    const before = cachedDataVersionTag();
    pool = new LuaPool({ maxWorkers: 1 });
    assert.equal((await pool.run('return 1', testHost())).result, 1);
    await pool.close();
    assert.equal(cachedDataVersionTag(), before, 'a pool without liftoffOnly leaves V8 flags alone');

    pool = new LuaPool({ maxWorkers: 1, liftoffOnly: true });
    const run = await pool.run('local t = 0 for i = 1, 200000 do t = t + i end return t', testHost());
    assert.equal(run.result, 20000100000);
    // The tag V8 derives from its flags: now the one a process started with --liftoff-only has.
    const withFlag = execFileSync(process.execPath, [
      '--liftoff-only',
      '-p',
      'require("node:v8").cachedDataVersionTag()',
    ]);
    assert.notEqual(cachedDataVersionTag(), before);
    assert.equal(cachedDataVersionTag(), Number(withFlag.toString()));
  });
});
