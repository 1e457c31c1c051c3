import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LuaPool } from '../../src/lua/index.js';
import { testHost } from './host.js';

/** The rules under test are written in src/lua/prelude/json.lua and docs/lua/values.md. */
describe('Lua <-> JSON value conversion', () => {
  let pool: LuaPool;
  before(() => {
    pool = new LuaPool({ limits: { timeoutMs: 5000 } });
  });
  after(() => pool.close());

  async function argsOf(table: string): Promise<unknown> {
    const host = testHost(() => null);
    const run = await pool.run(`app.integrations.vero.identify_user(${table})`, host);
    assert.equal(run.ok, true, JSON.stringify(run.error));
    return host.requests[0]?.args;
  }

  it('Lua -> JSON: numbers, strings, booleans, arrays and objects', async () => {
    assert.deepEqual(
      await argsOf(`{
        int = 42, neg = -7, float = 2.5, whole_float = 1.0, tiny = 1e-300, big_float = 1e300, pi = math.pi,
        yes = true, no = false, text = 'é😀 "quoted" \\\\ tab\\t nul\\0', seq = { 'a', 'b', 'c' },
        empty = {}, empty_array = json.array({}), explicit_null = json.null, safe = 9007199254740992,
        nested = { { 1 }, { x = { y = { 2 } } } }
      }`),
      {
        int: 42,
        neg: -7,
        float: 2.5,
        whole_float: 1,
        tiny: 1e-300,
        big_float: 1e300,
        pi: Math.PI,
        yes: true,
        no: false,
        text: 'é😀 "quoted" \\ tab\t nul\0',
        seq: ['a', 'b', 'c'],
        empty: {},
        empty_array: [],
        explicit_null: null,
        safe: 9007199254740992,
        nested: [[1], { x: { y: [2] } }],
      },
    );
  });

  it('Lua -> JSON: keys 1..n make an array, anything else an object with string keys', async () => {
    assert.deepEqual(
      await argsOf(`{ holes = { [1] = 'a', [3] = 'c' }, zero = { [0] = 'z' }, mixed = { 'a', x = 1 },
      negative = { [-1] = true }, nil_tail = { 1, 2, nil } }`),
      {
        holes: { '1': 'a', '3': 'c' },
        zero: { '0': 'z' },
        mixed: { '1': 'a', x: 1 },
        negative: { '-1': true },
        nil_tail: [1, 2],
      },
    );
  });

  it('Lua -> JSON: what JSON cannot carry is a catchable error naming where, and nothing is sent', async () => {
    const cases: [string, RegExp][] = [
      ['{ [true] = 1 }', /argument: a boolean key cannot be a JSON object key/],
      ['{ [1.5] = 1 }', /argument: a float key \(1\.5\) cannot be a JSON object key/],
      ['{ data = { [{}] = 1 } }', /argument\.data: a table key cannot be a JSON object key/],
      ['{ [print] = 1 }', /argument: a function key/],
      ['{ f = print }', /argument\.f: a function cannot be converted to JSON/],
      [
        '{ list = { 1, coroutine.create(print) } }',
        /argument\.list\[2\]: a thread cannot be converted to JSON/,
      ],
      ['{ x = 0/0 }', /argument\.x: NaN cannot be converted to JSON/],
      ['{ x = math.huge }', /argument\.x: infinity cannot be converted to JSON/],
      ['{ x = -math.huge }', /argument\.x: infinity/],
      [
        '{ id = math.maxinteger }',
        /argument\.id: integer 9223372036854775807 is beyond \+-2\^53.*pass it as a string/,
      ],
      ['{ id = 9007199254740993 }', /beyond \+-2\^53/],
      ["{ name = 'bad \\xff byte' }", /argument\.name: string is not valid UTF-8 \(bad byte at position 5\)/],
      ["{ [1] = 'a', ['1'] = 'b', x = 1 }", /argument: key 1 appears both as a number and as a string/],
      ["{ ['weird key'] = { f = print } }", /argument\["weird key"\]\.f: a function/],
    ];
    const host = testHost();
    for (const [table, pattern] of cases) {
      const run = await pool.run(
        `local ok, err = pcall(function() local r = app.integrations.vero.identify_user(${table}) return r end) return ok, err`,
        host,
      );
      assert.equal(run.ok, true, `${table}: ${JSON.stringify(run.error)}`);
      const [ok, message] = run.result as [boolean, string];
      assert.equal(ok, false, table);
      assert.match(message, /^script:1: app\.integrations\.vero\.identify_user: /, table);
      assert.match(message, pattern, table);
    }
    assert.equal(host.requests.length, 0);
  });

  it('Lua -> JSON: cycles and very deep nesting are errors, not hangs; shared tables are fine', async () => {
    const host = testHost(() => null);
    const run = await pool.run(
      `
      local a = {} a.self = a
      local _, cycle = pcall(json.encode, { a = a })
      local deep = {} local cur = deep for i = 1, 300 do cur.next = {} cur = cur.next end
      local _, too_deep = pcall(json.encode, deep)
      local shared = { 1 }
      local text = json.encode({ x = shared, y = shared })
      return cycle, too_deep, text
      `,
      host,
    );
    assert.deepEqual(run.result, [
      'json.encode: value.a.self: table contains itself (a cycle); JSON cannot represent cycles',
      `json.encode: value${'.next'.repeat(200)}: nested more than 200 levels deep`,
      '{"x":[1],"y":[1]}',
    ]);
  });

  it('JSON -> Lua: host results keep integer/float types, null is nil, arrays are sequences', async () => {
    const host = testHost(() => ({
      int: 1,
      float: 1.5,
      whole: 3.0,
      big: 2 ** 53,
      huge: 1e21,
      list: [1, 'two', null, 4],
      none: null,
      empty_list: [],
      empty_object: {},
      text: 'é😀\n"',
      one: { '1': 'string key' },
    }));
    const run = await pool.run(
      `
      local r = app.integrations.vero.identify_user({})
      return { math.type(r.int), math.type(r.float), math.type(r.whole), r.big == 9007199254740992 and math.type(r.big) == 'integer',
               math.type(r.huge), #r.list >= 1, r.list[3] == nil, r.list[4], r.none == nil,
               json.encode(r.empty_list), json.encode(r.empty_object), r.text, r.one['1'], r.one[1] == nil }
      `,
      host,
    );
    assert.equal(run.ok, true, JSON.stringify(run.error));
    assert.deepEqual(run.result, [
      'integer',
      'float',
      'integer',
      true,
      'float',
      true,
      true,
      4,
      true,
      '[]',
      '{}',
      'é😀\n"',
      'string key',
      true,
    ]);
  });

  it('JSON -> Lua: scalar and missing results, and a result JSON cannot carry', async () => {
    for (const [value, expected] of [
      [undefined, 'nil'],
      [null, 'nil'],
      ['text', 'text'],
      [7, '7'],
      [[1, 2], '2'],
    ] as const) {
      const run = await pool.run(
        `local r = app.integrations.vero.identify_user({}) if type(r) == 'table' then return tostring(#r) end return tostring(r)`,
        testHost(() => value),
      );
      assert.equal(run.result, expected);
    }
    const bigint = await pool.run(
      'return pcall(app.integrations.vero.identify_user, {})',
      testHost(() => ({ n: 10n })),
    );
    assert.equal((bigint.result as unknown[])[0], false);
    assert.match(
      String((bigint.result as unknown[])[1]),
      /vero\.identify_user: the host returned a value JSON cannot carry/,
    );
  });

  it('the return value: none -> null, one -> value, several -> array with nil as null; bad values are errors', async () => {
    const host = testHost();
    assert.equal((await pool.run('local x = 1', host)).result, null);
    assert.equal((await pool.run('return nil', host)).result, null);
    assert.deepEqual((await pool.run('return { a = 1 }', host)).result, { a: 1 });
    assert.deepEqual((await pool.run('return 1, nil, "x"', host)).result, [1, null, 'x']);
    const bad = await pool.run('return { f = print }', host);
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.error, {
      code: 'lua_result_invalid',
      message: 'return value.f: a function cannot be converted to JSON',
    });
  });
});
