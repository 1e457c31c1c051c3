import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LuaPool } from '../../src/lua/index.js';
import { testHost } from './host.js';

describe('script helpers and standard library', () => {
  let pool: LuaPool;
  before(() => {
    pool = new LuaPool({ limits: { timeoutMs: 5000 } });
  });
  after(() => pool.close());

  async function ok(code: string): Promise<{ result: unknown; output: string[] }> {
    const run = await pool.run(code, testHost());
    assert.equal(run.ok, true, JSON.stringify(run.error));
    return { result: run.result, output: run.output };
  }

  it('print captures one entry per call, tab-joined and tostring-ed like Lua', async () => {
    const { output } = await ok(`
      print('a', 1, 2.5, 1.0, nil, true, 2^63, -0.0)
      print()
      print(setmetatable({}, { __tostring = function() return 'custom' end }))
      print('line1\\nline2', 'nul:\\0:end')
      print(('x'):rep(3), #'héllo', utf8.len('héllo'))
    `);
    assert.deepEqual(output, [
      'a\t1\t2.5\t1.0\tnil\ttrue\t9.2233720368548e+18\t-0.0',
      '',
      'custom',
      'line1\nline2\tnul:\0:end',
      'xxx\t6\t5',
    ]);
  });

  it('print, tostring and dump show tables as KosmoKrator does: JSON-like, indented, <circular>', async () => {
    const { result, output } = await ok(`
      local t = { name = 'bob', tags = { 'a', 'b' }, [10] = 1.5, empty = {}, arr = json.array(), on = true }
      t.self = t
      local shared = { 1 }
      print({ 1, 2, 3 })
      print(t, 'x', nil)
      print({ a = shared, b = shared })
      print({ none = json.null, ns = app.integrations.vero, f = print == nil })
      local same = dump({ user = { id = 'usr_1' } })
      dump('text')
      return { tostring({ x = 1 }), same.user.id, select('#', dump()), tostring(nil), tostring(2^63) }
    `);
    assert.deepEqual(output, [
      '[\n  1,\n  2,\n  3\n]',
      [
        '{',
        '  10: 1.5,',
        '  arr: [],',
        '  empty: {},',
        '  name: bob,',
        '  on: true,',
        '  self: <circular>,',
        '  tags: [',
        '    a,',
        '    b',
        '  ]',
        '}\tx\tnil',
      ].join('\n'),
      // The same table twice, not inside itself, is shown both times.
      '{\n  a: [\n    1\n  ],\n  b: [\n    1\n  ]\n}',
      '{\n  f: false,\n  none: json.null,\n  ns: app.integrations.vero\n}',
      '{\n  user: {\n    id: usr_1\n  }\n}',
      'text',
      'nil',
    ]);
    assert.deepEqual(result, ['{\n  x: 1\n}', 'usr_1', 1, 'nil', '9.2233720368548e+18']);
  });

  it('print and tostring of a deep or huge table stay within the run limits', async () => {
    const deep = await pool.run(
      `local t = {} local cur = t for i = 1, 150 do cur.next = {} cur = cur.next end return #tostring(t) > 0`,
      testHost(),
    );
    assert.equal(deep.ok, true, JSON.stringify(deep.error));
    const huge = await pool.run(
      'local t = {} for i = 1, 200000 do t[i] = ("x"):rep(20) end print(t)',
      testHost(),
      { outputBytes: 10_000 },
    );
    assert.equal(huge.error?.code, 'lua_output_limit');
  });

  it('json.encode / json.decode round-trip, with json.null and json.array', async () => {
    const { result } = await ok(`
      local text = json.encode({ name = 'a', list = { 1, 2.5, true }, empty = {}, arr = json.array(), none = json.null })
      local back = json.decode(text)
      local kept = json.decode('[1,null,3]', { null = json.null })
      local holes = json.decode('[1,null,3]')
      return { text = text, name = back.name, none = back.none == nil, kept = kept[2] == json.null, n = #kept,
               hole = holes[2] == nil, third = holes[3], reencoded = json.encode(json.decode('{"a":[],"b":{}}')) }
    `);
    assert.deepEqual(result, {
      text: '{"arr":[],"empty":{},"list":[1,2.5,true],"name":"a","none":null}',
      name: 'a',
      none: true,
      kept: true,
      n: 3,
      hole: true,
      third: 3,
      reencoded: '{"a":[],"b":{}}',
    });
  });

  it('json errors are catchable and say where', async () => {
    const { result } = await ok(`
      local _, a = pcall(json.encode, { user = { callback = print } })
      local _, b = pcall(json.decode, '{"a": }')
      local _, c = pcall(json.decode, 42)
      return { a, b, c }
    `);
    assert.deepEqual(result, [
      'json.encode: value.user.callback: a function cannot be converted to JSON',
      'json.decode: invalid JSON at position 7: unexpected character "}"',
      'json.decode takes a string, got a number',
    ]);
  });

  it('os offers time, date, clock and difftime only', async () => {
    const { result } = await ok(`
      local keys = {}
      for k in pairs(os) do keys[#keys + 1] = k end
      table.sort(keys)
      local now = os.time()
      return { keys = keys, sane = now > 1700000000, date = os.date('!%Y-%m-%d', 0), t = os.date('!*t', 86400).day,
               clock = type(os.clock()), diff = os.difftime(10, 4) }
    `);
    assert.deepEqual(result, {
      keys: ['clock', 'date', 'difftime', 'time'],
      sane: true,
      date: '1970-01-01',
      t: 2,
      clock: 'number',
      diff: 6.0,
    });
  });

  it('string, table, math, utf8 and coroutine behave as Lua 5.4', async () => {
    const { result } = await ok(`
      local parts = {}
      for w in string.gmatch('a,b,,c', '([^,]*)') do parts[#parts + 1] = w end
      local t = { 5, 3, 9 }
      table.sort(t, function(a, b) return a > b end)
      local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
      local _, first = coroutine.resume(co, 1)
      local _, second = coroutine.resume(co, 10)
      return { _VERSION, parts, table.concat(t, ' '), math.type(1), math.type(1.0), 7 // 2, 7 / 2, 3 & 5,
               utf8.char(233, 0x1F600), string.format('%5.2f|%q', 3.14159, 'x'), first, second,
               select('#', table.unpack({ 1, 2, 3 })), math.maxinteger == 9223372036854775807, ('%d'):format(3) }
    `);
    assert.deepEqual(result, [
      'Lua 5.4',
      ['a', 'b', '', 'c'],
      '9 5 3',
      'integer',
      'float',
      3,
      3.5,
      1,
      'é😀',
      ' 3.14|"x"',
      2,
      20,
      3,
      true,
      '3',
    ]);
  });
});
