/**
 * PCRE-style patterns (`/(\d+)/i`, as PHP's preg_* and so KosmoKrator take them) turned into JavaScript regular
 * expressions in Unicode mode. A construct JavaScript cannot run is refused with an error naming it; the few that
 * read slightly differently (`\s`, `$`) are listed with the supported syntax in docs/kosmokrator.md.
 */

/** A pattern that cannot be run; the message names the construct and, where there is one, what to use instead. */
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
function splitDelimited(pattern: string): Parsed {
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
function translate(body: string, extended: boolean): string {
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
