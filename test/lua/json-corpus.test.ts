/**
 * json.lua against a corpus of JSON texts (test/fixtures/json-corpus), in the style of JSONTestSuite: y_ files must
 * decode to what JavaScript's JSON.parse reads and encode back to the same value (an empty array stays `[]`, an
 * empty object `{}`); n_ files must be refused with a message; i_ files are where the standard leaves the choice, and
 * json.lua's choice (docs/lua/values.md) is asserted. Each text is decoded by `json.decode` in a real sandbox.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { LuaPool, type LuaRunResult } from '../../src/lua/index.js';
import { testHost } from './host.js';

const DIR = new URL('../fixtures/json-corpus/', import.meta.url);
const corpus = readdirSync(DIR)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => ({ name: file.slice(0, -5), text: readFileSync(new URL(file, DIR), 'utf8') }));

/** A Lua long string holding text exactly (the newline after the opening bracket is skipped by Lua). */
function longString(text: string): string {
  let level = '';
  // The closing bracket must not appear inside, nor start within the text's own last characters.
  while (`${text}]${level}]`.indexOf(`]${level}]`) < text.length) level += '=';
  return `[${level}[\n${text}]${level}]`;
}

/** Decodes and re-encodes every text in one run: per case { ok, encoded } or { ok = false, err }. */
function decodeAll(texts: string[]): string {
  return `
    local texts = { ${texts.map(longString).join(',\n')} }
    local out = {}
    for i, text in ipairs(texts) do
      local ok, value = pcall(json.decode, text, { null = json.null })
      local encoded
      if ok then ok, encoded = pcall(json.encode, value) end
      if ok then
        out[i] = { ok = true, encoded = encoded }
      else
        out[i] = { ok = false, err = encoded or value }
      end
    end
    return out
  `;
}

interface Outcome {
  ok: boolean;
  encoded?: string;
  err?: string;
}

describe('json.lua against the JSON corpus', () => {
  let pool: LuaPool;
  let run: LuaRunResult;
  const outcome = (name: string): Outcome => {
    const index = corpus.findIndex((c) => c.name === name);
    assert.notEqual(index, -1, `no corpus file ${name}.json`);
    return (run.result as Outcome[])[index] as Outcome;
  };
  const decoded = (name: string): unknown => JSON.parse(outcome(name).encoded ?? 'undefined');

  before(async () => {
    pool = new LuaPool({ maxWorkers: 1, limits: { timeoutMs: 20_000 } });
    run = await pool.run(decodeAll(corpus.map((c) => c.text)), testHost());
    assert.equal(run.ok, true, JSON.stringify(run.error));
  });
  after(() => pool.close());

  it('has cases of every kind', () => {
    for (const prefix of ['y_', 'n_', 'i_']) {
      assert.ok(corpus.filter((c) => c.name.startsWith(prefix)).length >= 5, prefix);
    }
  });

  for (const { name, text } of corpus.filter((c) => c.name.startsWith('y_'))) {
    it(`${name}: decodes and encodes back to the value JSON.parse reads`, () => {
      const got = outcome(name);
      assert.equal(got.ok, true, got.err);
      assert.deepStrictEqual(JSON.parse(got.encoded ?? ''), JSON.parse(text));
    });
  }

  for (const { name, text } of corpus.filter((c) => c.name.startsWith('n_'))) {
    it(`${name}: refused, as JSON.parse refuses it`, () => {
      assert.throws(() => JSON.parse(text), SyntaxError, 'the corpus case is invalid JSON');
      const got = outcome(name);
      assert.equal(got.ok, false, `decoded to ${got.encoded}`);
      assert.match(got.err ?? '', /^json\.decode: invalid JSON at position \d+: .+/);
    });
  }

  it('nesting, a limit RFC 8259 allows: 200 levels decode, 201 are refused with the limit named', () => {
    assert.equal(outcome('y_structure_200_nested_arrays').ok, true);
    assert.match(outcome('i_structure_201_nested_arrays').err ?? '', /nested more than 200 levels deep/);
    assert.match(outcome('i_structure_201_nested_objects').err ?? '', /nested more than 200 levels deep/);
  });

  it('numbers: a leading zero is named; integers stay integers, fractions and exponents are floats', async () => {
    assert.match(outcome('n_number_leading_zero').err ?? '', /leading zero/);
    const types = await pool.run(
      "local t = json.decode('[1, -0, 1.0, 1e2, 9007199254740991]') local out = {} for i = 1, #t do out[i] = math.type(t[i]) end return out",
      testHost(),
    );
    assert.deepEqual(types.result, ['integer', 'integer', 'float', 'float', 'integer']);
  });

  it('i_ cases: lone surrogates become U+FFFD, -0 is 0, the last duplicate key wins, big numbers as documented', async () => {
    assert.equal(decoded('i_string_lone_high_surrogate'), 'a\uFFFDb');
    assert.equal(decoded('i_string_lone_low_surrogate'), '\uFFFD');
    assert.equal(decoded('i_string_high_surrogate_then_non_surrogate'), '\uFFFDA');
    // Lua integers have no -0: "-0" reads as the integer 0.
    assert.ok(Object.is(decoded('i_number_negative_zero'), 0));
    assert.deepEqual(decoded('i_object_duplicate_keys'), { a: 2 });
    // Decoded as a 64-bit integer, which json.encode then refuses to send as a number JavaScript would round.
    const beyond = outcome('i_number_integer_beyond_2_53');
    assert.equal(beyond.ok, false);
    assert.match(beyond.err ?? '', /beyond \+-2\^53/);
    // Beyond 64 bits: a float; 1e400: infinity, which JSON cannot carry back.
    assert.equal(decoded('i_number_integer_beyond_64_bits'), 1.2345678901234568e29);
    assert.match(outcome('i_number_huge_exponent').err ?? '', /infinity cannot be converted to JSON/);
  });
});
