/**
 * `regex.match` / `regex.match_all` / `regex.gsub` for scripts: PCRE-style delimited patterns (`/(\d+)/i`), as
 * KosmoKrator offers them, run on V8's own regular expression engine inside the sandbox worker.
 *
 * Why V8's engine and not a linear-time one (RE2 ports): KosmoKrator's scripts use lookaheads, lookbehinds and
 * backreferences, which linear-time engines cannot run. V8's engine backtracks, so a catastrophic pattern can run
 * for a long time; it runs in the worker, never on the host's thread, and the pool terminates the worker when the
 * run's wall-time limit (timeoutMs) passes, so such a pattern ends the run with `lua_timeout` and stalls nothing
 * else (test/lua/regex.test.ts). Supported syntax and the differences from PCRE: docs/kosmokrator.md.
 *
 * Everything here is pure; the worker calls `runRegex` and hands the JSON text back to the prelude, which builds
 * the Lua tables (captures keep PHP's numbering: the whole match at [0], capture 1 at [1]). The pattern syntax is
 * translated in regex-pattern.ts.
 */

import { compile, RegexSyntaxError } from './regex-pattern.js';

/** Each match in order, at most `limit` (negative: all); an empty match moves on by one character, as PCRE does. */
function* matches(re: RegExp, subject: string, limit: number): Generator<RegExpExecArray> {
  re.lastIndex = 0;
  let count = 0;
  while (limit < 0 || count < limit) {
    const m = re.exec(subject);
    if (!m) return;
    count++;
    yield m;
    if (m[0] === '') {
      const code = subject.codePointAt(re.lastIndex);
      re.lastIndex += code !== undefined && code > 0xffff ? 2 : 1;
      if (re.lastIndex > subject.length) return;
    }
  }
}

/** Named groups -> their capture numbers, in order of appearance. */
function groupNames(re: RegExp, m: RegExpExecArray): Record<string, number> {
  const names = Object.keys(m.groups ?? {});
  if (names.length === 0) return {};
  // The capture number of a named group: count the capturing "(" before "(?<name>" in the source.
  const out: Record<string, number> = {};
  let number = 0;
  const source = re.source;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      continue;
    }
    if (c !== '(') continue;
    if (source[i + 1] !== '?') {
      number++;
      continue;
    }
    const named = /^\(\?<([A-Za-z_$][\w$]*)>/.exec(source.slice(i));
    if (named?.[1] !== undefined) {
      number++;
      out[named[1]] = number;
    }
  }
  return out;
}

/**
 * `match`: `[groups, names]` for the first match (groups[0] the whole match; unmatched groups "" except trailing
 * ones, which are left out, as PHP's preg_match does) or null. `match_all`: `[columns, names]`, columns[k] every
 * match's group k ("" when unmatched), or `[[], {}]` for no match. `gsub`: the replaced string.
 */
export function runRegex(
  op: string,
  subject: string,
  pattern: string,
  replacement?: string,
  limit = -1,
): unknown {
  const re = compile(pattern);
  if (op === 'match') {
    const first = matches(re, subject, 1).next();
    if (first.done) return null;
    const m = first.value;
    let last = m.length - 1;
    while (last > 0 && m[last] === undefined) last--;
    return [Array.from({ length: last + 1 }, (_, k) => m[k] ?? ''), groupNames(re, m)];
  }
  if (op === 'match_all') {
    const all = [...matches(re, subject, -1)];
    const first = all[0];
    if (!first) return [[], {}];
    const columns = Array.from({ length: first.length }, (_, k) => all.map((m) => m[k] ?? ''));
    return [columns, groupNames(re, first)];
  }
  if (op === 'gsub') {
    const template = replacement ?? '';
    let out = '';
    let at = 0;
    for (const m of matches(re, subject, limit)) {
      out += subject.slice(at, m.index) + expand(template, m);
      at = m.index + m[0].length;
    }
    return out + subject.slice(at);
  }
  throw new RegexSyntaxError(`unknown regex operation ${op}`);
}

/** PHP's replacement syntax: $n, ${n} and \n (n up to 99) insert group n; \$ and \\ are a literal $ and \. */
function expand(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i] as string;
    if (c === '\\' || c === '$') {
      const after = template.slice(i + 1);
      const ref = (c === '$' ? /^(\d{1,2})|^\{(\d{1,2})\}/ : /^(\d{1,2})/).exec(after);
      if (ref) {
        out += m[Number(ref[1] ?? ref[2])] ?? '';
        i += ref[0].length;
        continue;
      }
      if (c === '\\' && (after[0] === '\\' || after[0] === '$')) {
        out += after[0];
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}
