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
 * the Lua tables (captures keep PHP's numbering: the whole match at [0], capture 1 at [1]).
 */

/** A pattern or replacement the translator refuses; the message names the construct and says what to use. */
export class RegexSyntaxError extends Error {}

const CLOSING: Record<string, string> = { '(': ')', '[': ']', '{': '}', '<': '>' };
const PCRE_FLAGS = new Map([
  ['i', 'i'],
  ['m', 'm'],
  ['s', 's'],
  ['u', ''], // patterns always run in Unicode mode (subjects are UTF-8 text)
  ['x', ''], // handled by the translator
  ['D', ''], // `$` already matches only at the very end in JavaScript
]);

interface Parsed {
  body: string;
  flags: string;
}

/**
 * Splits `/body/flags`. A string that does not read as delimited (its first character is a letter, digit or
 * backslash, or what follows the closing delimiter is not only flags) is taken whole as the pattern, without flags:
 * KosmoKrator's own docs write patterns that way, although PCRE itself refuses them.
 */
export function splitDelimited(pattern: string): Parsed {
  const trimmed = pattern.replace(/^\s+/, '');
  const open = trimmed[0];
  if (open === undefined || /[\p{L}\p{N}\\\s]/u.test(open)) return { body: pattern, flags: '' };
  const close = CLOSING[open] ?? open;
  let end = -1;
  if (close !== open) {
    // Bracket delimiters nest, as in PCRE: "(a(b)c)i" closes at the last ")".
    let depth = 0;
    for (let i = 1; i < trimmed.length; i++) {
      const c = trimmed[i];
      if (c === '\\') i++;
      else if (c === open) depth++;
      else if (c === close) {
        if (depth === 0) {
          end = i;
          break;
        }
        depth--;
      }
    }
  } else {
    for (let i = 1; i < trimmed.length; i++) {
      const c = trimmed[i];
      if (c === '\\') i++;
      else if (c === close) {
        end = i;
        break;
      }
    }
  }
  if (end === -1) return { body: pattern, flags: '' };
  const flags = trimmed.slice(end + 1).replace(/\s+$/, '');
  if (!/^[a-zA-Z]*$/.test(flags)) return { body: pattern, flags: '' };
  for (const flag of flags) {
    if (!PCRE_FLAGS.has(flag)) {
      throw new RegexSyntaxError(
        `unsupported pattern flag "${flag}"; supported: i, m, s, u, x, D (docs/kosmokrator.md)`,
      );
    }
  }
  return { body: trimmed.slice(1, end), flags };
}

const UNSUPPORTED_ESCAPES: Record<string, string> = {
  Q: '\\Q...\\E quoting',
  E: '\\Q...\\E quoting',
  G: '\\G (match at the previous end)',
  K: '\\K (reset match start)',
  R: '\\R (any newline); use (?:\\r\\n|\\n|\\r)',
  X: '\\X (extended grapheme)',
  C: '\\C (single byte)',
  h: '\\h; use [ \\t]',
  H: '\\H; use [^ \\t]',
  V: '\\V',
  N: '\\N',
  e: '\\e; use \\x1b',
  a: '\\a; use \\x07',
  g: '\\g references; use \\1 or \\k<name>',
};
/** POSIX classes inside brackets ([[:alpha:]]), ASCII as in PCRE without UCP. */
const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\t\\n\\v\\f\\r ',
  xdigit: '0-9a-fA-F',
  word: '\\w',
  punct: '!-\\/:-@\\[-`{-~',
};
/** Characters JavaScript's Unicode mode accepts after a backslash as themselves. */
const SYNTAX = new Set('^$\\.*+?()[]{}|/');

/** PCRE pattern body -> JavaScript `u`-mode source; throws RegexSyntaxError for what JavaScript cannot run. */
export function translate(body: string, extended: boolean): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined) throw new RegexSyntaxError('pattern ends with a lone backslash');
      i++;
      if (/[A-Za-z]/.test(next)) {
        if (next === 'A') out += '(?<![\\s\\S])';
        else if (next === 'z') out += '(?![\\s\\S])';
        else if (next === 'Z') out += '(?=\\n?(?![\\s\\S]))';
        else if (next === 'x' && body[i + 1] === '{') {
          const close = body.indexOf('}', i);
          if (close === -1) throw new RegexSyntaxError('\\x{ without a closing }');
          out += `\\u{${body.slice(i + 2, close)}}`;
          i = close;
        } else if ((next === 'p' || next === 'P') && body[i + 1] !== '{') {
          // PCRE's one-letter form \pL -> \p{L}
          const letter = body[i + 1];
          if (letter === undefined) throw new RegexSyntaxError(`\\${next} needs a property name`);
          out += `\\${next}{${letter}}`;
          i++;
        } else if (next === 'k' && (body[i + 1] === '{' || body[i + 1] === "'")) {
          const close = body.indexOf(body[i + 1] === '{' ? '}' : "'", i + 2);
          if (close === -1) throw new RegexSyntaxError('\\k reference without its closing bracket');
          out += `\\k<${body.slice(i + 2, close)}>`;
          i = close;
        } else if (next in UNSUPPORTED_ESCAPES) {
          throw new RegexSyntaxError(`${UNSUPPORTED_ESCAPES[next]} is not supported`);
        } else out += `\\${next}`;
      } else if (/[0-9]/.test(next)) {
        out += `\\${next}`;
      } else if (SYNTAX.has(next) || (inClass && next === '-')) {
        out += `\\${next}`;
      } else {
        // PCRE lets any other punctuation be escaped; Unicode mode does not, and needs no escape for it.
        out += next;
      }
      continue;
    }
    if (inClass) {
      const posix = c === '[' ? /^\[:(\^?)([a-z]+):\]/.exec(body.slice(i)) : null;
      if (posix) {
        const set = POSIX_CLASSES[posix[2] ?? ''];
        if (set === undefined || posix[1])
          throw new RegexSyntaxError(`POSIX class ${posix[0]} is not supported`);
        out += set;
        i += posix[0].length - 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A "]" right after "[" or "[^" is a literal in PCRE.
      if (body[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (body[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (extended && /\s/.test(c)) continue;
    if (extended && c === '#') {
      const newline = body.indexOf('\n', i);
      i = newline === -1 ? body.length : newline;
      continue;
    }
    if (c === '(' && body[i + 1] === '?') {
      const rest = body.slice(i + 2);
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (rest.startsWith('P=')) {
        const close = body.indexOf(')', i);
        out += `\\k<${body.slice(i + 4, close)}>`;
        i = close;
        continue;
      }
      if (rest.startsWith("'")) {
        const close = body.indexOf("'", i + 3);
        out += `(?<${body.slice(i + 3, close)}>`;
        i = close;
        continue;
      }
      const head = rest[0] ?? '';
      if (head === '>') throw new RegexSyntaxError('atomic groups (?>...) are not supported');
      if (head === '|') throw new RegexSyntaxError('branch reset groups (?|...) are not supported');
      if (head === '(') throw new RegexSyntaxError('conditional groups (?(...)...) are not supported');
      if (head === '#') throw new RegexSyntaxError('comments (?#...) are not supported');
      if (/^(R|[+-]?\d|&|P>)/.test(rest))
        throw new RegexSyntaxError('recursion and subroutine calls are not supported');
      if (/^[a-zA-Z-]+[:)]/.test(rest) && !rest.startsWith('<')) {
        throw new RegexSyntaxError(
          'inline flags like (?i) are not supported; put flags after the delimiter: /.../i',
        );
      }
    }
    if (
      (c === '+' || c === '*' || c === '?' || c === '}') &&
      body[i + 1] === '+' &&
      out !== '' &&
      !out.endsWith('(')
    ) {
      throw new RegexSyntaxError('possessive quantifiers (a++, a*+, a?+) are not supported');
    }
    out += c;
  }
  return out;
}

/** Compiles a PCRE-style pattern to a RegExp with the `g` and `u` flags. */
export function compile(pattern: string): RegExp {
  const { body, flags } = splitDelimited(pattern);
  const source = translate(body, flags.includes('x'));
  const jsFlags = [...new Set([...flags].map((f) => PCRE_FLAGS.get(f) ?? ''))].join('');
  try {
    return new RegExp(source, `gu${jsFlags}`);
  } catch (error) {
    throw new RegexSyntaxError(
      `invalid pattern: ${(error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')}`,
    );
  }
}

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
