import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LuaPool } from '../../src/lua/index.js';
import { testHost } from './host.js';

describe('regex.match / match_all / gsub (PCRE-style patterns, as in KosmoKrator)', () => {
  let pool: LuaPool;
  before(() => {
    pool = new LuaPool({ maxWorkers: 2, limits: { timeoutMs: 20_000 } });
  });
  after(() => pool.close());

  async function value(code: string): Promise<unknown> {
    const run = await pool.run(code, testHost());
    assert.equal(run.ok, true, JSON.stringify(run.error));
    return run.result;
  }

  // Each row: a Lua expression and what it returns (captures keep PHP's numbering: the whole match at [0]).
  const rows: Array<[string, unknown]> = [
    ['regex.match("hello world 42", "/(\\\\w+) (\\\\d+)/")[1]', 'world'],
    ['regex.match("hello world 42", "/(\\\\w+) (\\\\d+)/")[0]', 'world 42'],
    ['#regex.match("hello world 42", "/(\\\\w+) (\\\\d+)/")', 2],
    ['regex.match("no digits here", "/\\\\d+/")', null],
    ['regex.match("Order ABC-123", "/order (\\\\w+)-(\\\\d+)/i")[2]', '123'],
    // KosmoKrator's docs write patterns without delimiters; they work here as written.
    ['regex.match("hello world 42", "(\\\\w+) (\\\\d+)")[2]', '42'],
    ['regex.match("price: $19.99", "(?P<currency>\\\\$)(?P<amount>[\\\\d.]+)").amount', '19.99'],
    ['regex.match("price: $19.99", "/(?<amount>[\\\\d.]+)/")[1]', '19.99'],
    ['regex.match("foo bar", "\\\\w+(?= bar)")[0]', 'foo'],
    ['regex.match("USD 25", "/(?<=USD )\\\\d+/")[0]', '25'],
    ['regex.match("abab", "/(ab)\\\\1/")[0]', 'abab'],
    ['regex.match("a\\nb", "/^b$/m")[0]', 'b'],
    ['regex.match("a\\nb", "/a.b/s")[0]', 'a\nb'],
    ['regex.match("a b", "/a # a comment\\n \\\\ b/x")[0]', 'a b'],
    ['regex.match("x-y", "#[[:alpha:]]\\\\-[[:alpha:]]#")[0]', 'x-y'],
    ['regex.match("héllo", "/h(.)llo/u")[1]', 'é'],
    // An unmatched group in the middle is "", a trailing one is left out (as PHP's preg_match).
    ['{ regex.match("ab", "/a(x)?(b)(y)?/")[1], #regex.match("ab", "/a(x)?(b)(y)?/") }', ['', 2]],
    ['regex.match_all("foo123bar456baz", "/(\\\\d+)/")[1]', ['123', '456']],
    ['regex.match_all("foo123bar456baz", "/[a-z]+(\\\\d+)/")[0]', ['foo123', 'bar456']],
    ['regex.match_all("a=1, b=2", "/(?<k>\\\\w)=(?<v>\\\\d)/").v', ['1', '2']],
    ['next(regex.match_all("abc", "/\\\\d/"))', null],
    ['regex.gsub("  hello   world  ", "\\\\s+", " ")', ' hello world '],
    ['regex.gsub("aaa", "a", "b", 2)', 'bba'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${1} is PHP's replacement syntax, not a template
    ['regex.gsub("John Smith", "/(\\\\w+) (\\\\w+)/", "$2, ${1} \\\\1")', 'Smith, John John'],
    ['regex.gsub("cost: 5", "/(\\\\d)/", "\\\\$$1")', 'cost: $5'],
    ['regex.gsub("2025-06-15", "/(?P<y>\\\\d+)-(\\\\d+)-(\\\\d+)/", "$3/$2/$1")', '15/06/2025'],
    ['regex.gsub("abc", "/x*/", "-")', '-a-b-c-'],
  ];
  for (const [expression, expected] of rows) {
    it(expression, async () => {
      assert.deepEqual(await value(`return ${expression}`), expected);
    });
  }

  it('refuses what it cannot run, naming the construct; wrong types are errors like KosmoKrator', async () => {
    const messages = await value(`
      local out = {}
      for _, call in ipairs({
        function() return regex.match("aaa", "/a++/") end,
        function() return regex.match("aaa", "/(?>a)/") end,
        function() return regex.match("aaa", "/\\\\Qa.\\\\E/") end,
        function() return regex.match("aaa", "/a/q") end,
        function() return regex.match("aaa", "/(a/") end,
        function() return regex.match(42, "/a/") end,
        function() return regex.match("a", nil) end,
        function() return regex.gsub("a", "/a/", 1) end,
        function() return regex.match("a", "/a/", 256) end,
      }) do
        local ok, e = pcall(call)
        out[#out + 1] = ok and "no error" or e
      end
      return out
    `);
    assert.deepEqual(messages, [
      'regex.match: possessive quantifiers (a++, a*+, a?+) are not supported (pattern "/a++/")',
      'regex.match: atomic groups (?>...) are not supported (pattern "/(?>a)/")',
      'regex.match: \\Q...\\E quoting is not supported (pattern "/\\\\Qa.\\\\E/")',
      'regex.match: unsupported pattern flag "q"; supported: i, m, s, u, x, D (docs/kosmokrator.md) (pattern "/a/q")',
      'regex.match: invalid pattern: Unterminated group (pattern "/(a/")',
      'regex.match: expected string subject, got number',
      'regex.match: expected string pattern, got nil',
      'regex.gsub: expected string replacement, got number',
      'regex.match: the flags argument (PHP PREG_* constants) is not supported; put pattern flags after the delimiter, like "/x/i"',
    ]);
  });

  it('a catastrophic pattern ends its own run at the time limit; the host and other runs carry on', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      const catastrophic = pool.run(
        'print("before") return regex.match(("a"):rep(64) .. "!", "/^(a+)+$/")',
        testHost(),
        { timeoutMs: 1000 },
      );
      const other = await pool.run('return regex.gsub("a-b", "/-/", "+")', testHost());
      assert.deepEqual([other.ok, other.result], [true, 'a+b']);
      const stuck = await catastrophic;
      assert.equal(stuck.error?.code, 'lua_timeout');
      assert.match(
        stuck.error?.message ?? '',
        /^Lua timeout error: script ran longer than the time limit of 1000 ms/,
      );
      assert.deepEqual(stuck.output, ['before']);
      assert.ok(ticks > 0, 'the host thread kept running while the pattern backtracked');
    } finally {
      clearInterval(timer);
    }
    // The worker that ran it was replaced: the pool still answers.
    assert.equal(await value('return regex.match("ok 1", "/\\\\d/")[0]'), '1');
  });
});
