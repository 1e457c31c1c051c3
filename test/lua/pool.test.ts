import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LuaPool, LuaPoolClosedError } from '../../src/lua/index.js';
import { testHost } from './host.js';

const PATTERN_BOMB = "string.find(string.rep('a', 5000), '.-.-.-.-.-b')";

describe('LuaPool', () => {
  let pool: LuaPool;
  before(() => {
    pool = new LuaPool({ maxWorkers: 2, limits: { timeoutMs: 5000 } });
  });
  after(() => pool.close());

  it('gives every run a fresh state: nothing survives from one run to the next', async () => {
    const host = testHost();
    const first = await pool.run(
      "leak = 'x' string.upper = nil json.encode = nil os.secret = 1 return type(string.upper)",
      host,
    );
    assert.equal(first.result, 'nil');
    for (let i = 0; i < 3; i++) {
      const next = await pool.run('return leak, type(string.upper), type(json.encode), os.secret', host);
      assert.deepEqual(next.result, [null, 'function', 'function', null]);
    }
  });

  it('runs two scripts at once without either seeing the other', async () => {
    let arrived = 0;
    let release: () => void = () => {};
    const bothInside = new Promise<void>((resolve) => {
      release = resolve;
    });
    const host = testHost(async (request) => {
      arrived++;
      if (arrived === 2) release();
      await bothInside; // each run waits inside a host call until the other one is inside too
      return { me: (request.args as { me: string }).me };
    });
    const script = (me: string) => `
      shared = '${me}'
      local r = app.integrations.vero.identify_user({ me = '${me}' })
      return shared, r.me
    `;
    const [a, b] = await Promise.all([pool.run(script('A'), host), pool.run(script('B'), host)]);
    assert.deepEqual(a.result, ['A', 'A']);
    assert.deepEqual(b.result, ['B', 'B']);
  });

  it('a killed run does not disturb a concurrent one', async () => {
    // The steady run waits inside its first host call until the bomb has been killed: a gate, not a race.
    let bombSettled: Promise<unknown> = Promise.resolve();
    const slow = testHost(async () => {
      await bombSettled;
      return { ok: true };
    });
    const steady = pool.run(
      `
      for i = 1, 6 do
        app.integrations.vero.identify_user({ i = i })
        print('step', i)
      end
      return 'finished'
      `,
      slow,
    );
    const bomb = pool.run(`print('before the bomb') ${PATTERN_BOMB}`, testHost(), { timeoutMs: 200 });
    bombSettled = bomb;
    const [s, k] = await Promise.all([steady, bomb]);
    assert.equal(k.ok, false);
    assert.equal(k.error?.code, 'lua_timeout');
    assert.deepEqual(k.output, ['before the bomb']);
    assert.equal(s.ok, true, JSON.stringify(s.error));
    assert.equal(s.result, 'finished');
    assert.deepEqual(s.output, ['step\t1', 'step\t2', 'step\t3', 'step\t4', 'step\t5', 'step\t6']);
    assert.equal(slow.requests.length, 6);
  });

  it('queues runs beyond the pool size and replaces killed workers', async () => {
    const host = testHost();
    const runs = await Promise.all([
      pool.run(PATTERN_BOMB, host, { timeoutMs: 150 }),
      pool.run(PATTERN_BOMB, host, { timeoutMs: 150 }),
      ...[1, 2, 3, 4].map((i) => pool.run(`return ${i} * 10`, host)),
    ]);
    assert.deepEqual(
      runs.map((r) => (r.ok ? r.result : r.error?.code)),
      ['lua_timeout', 'lua_timeout', 10, 20, 30, 40],
    );
  });

  it('reports stats', async () => {
    const run = await pool.run(
      'local t = {} for i = 1, 100000 do t[i] = i end app.integrations.vero.identify_user({}) return #t',
      testHost(),
    );
    assert.equal(run.result, 100000);
    assert.equal(run.stats.calls, 1);
    assert.ok(run.stats.instructions >= 100000, String(run.stats.instructions));
    assert.ok(run.stats.peakMemoryBytes > 1_000_000, String(run.stats.peakMemoryBytes));
  });

  it('rejects bad limits and a bad host up front, with a code', async () => {
    for (const timeoutMs of [0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(pool.run('return 1', testHost(), { timeoutMs }), {
        name: 'LuaRequestError',
        code: 'lua_invalid_request',
        message: `Lua limit timeoutMs: must be a finite number of at least 1, got ${timeoutMs}; leave it out for the default (30000)`,
      });
    }
    assert.throws(() => new LuaPool({ limits: { maxCalls: 0 } }), {
      code: 'lua_invalid_request',
      message: /^Lua limit maxCalls: must be a finite number of at least 1, got 0/,
    });
    await assert.rejects(
      pool.run('return 1', { ...testHost(), namespaces: [{ integration: '' }] } as never),
      /host\.namespaces\[0\]\.integration must be a non-empty string/,
    );
  });

  it('close() rejects queued and later runs', async () => {
    const small = new LuaPool({ maxWorkers: 1 });
    // The running script tells the host it has started, then spins: close() meets a run inside a worker.
    let started: () => void = () => {};
    const inside = new Promise<void>((resolve) => {
      started = resolve;
    });
    const host = testHost(() => {
      started();
      return { ok: true };
    });
    const running = small.run('app.integrations.vero.identify_user({}) while true do end', host, {
      instructionLimit: 1e15,
      timeoutMs: 60_000,
    });
    const queued = small.run('return 1', testHost());
    const outcomes = [
      assert.rejects(running, LuaPoolClosedError),
      assert.rejects(queued, LuaPoolClosedError),
    ];
    await inside;
    await small.close();
    await Promise.all(outcomes);
    await assert.rejects(small.run('return 1', testHost()), LuaPoolClosedError);
  });
});
