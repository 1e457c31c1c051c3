/**
 * Names a caller gives (doc pages, functions, tools, accounts) are short; anything longer than this is not a typo of
 * one, so it gets no suggestion and is shown cut in messages. Keeps "did you mean" and error texts cheap whatever
 * a script or a client sends.
 */
export const MAX_NAME_LENGTH = 200;

/** Levenshtein distance, small inputs only (names of functions, accounts, doc pages). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The candidates closest to `input`, best first: for "did you mean ..." in error messages. */
function nearest(input: string, candidates: readonly string[], limit = 3): string[] {
  if (input.length > MAX_NAME_LENGTH) return [];
  const needle = input.toLowerCase();
  const scored = candidates.flatMap((candidate) => {
    const lower = candidate.toLowerCase();
    const allowed = Math.max(2, Math.floor(candidate.length / 3));
    const bonus = lower.includes(needle) || needle.includes(lower) ? -2 : 0;
    // The distance is at least the difference in length: skip the quadratic work when it cannot be close.
    if (Math.abs(lower.length - needle.length) + bonus > allowed) return [];
    const score = editDistance(needle, lower) + bonus;
    return score <= allowed ? [{ candidate, score }] : [];
  });
  scored.sort((x, y) => x.score - y.score);
  // Only the near-best: a close match should not be drowned by merely plausible ones.
  const best = scored[0]?.score ?? 0;
  return scored
    .filter(({ score }) => score <= best + 1)
    .slice(0, limit)
    .map(({ candidate }) => candidate);
}

/** `did you mean "a" or "b"?` or '' when nothing is close. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const close = nearest(input, candidates);
  if (close.length === 0) return '';
  return ` Did you mean ${close.map((name) => `"${name}"`).join(' or ')}?`;
}

/** A caller's name quoted for an error message, cut when it is too long to be a name (`"abc…" (5000 characters)`). */
export function quoteName(input: string): string {
  if (input.length <= MAX_NAME_LENGTH) return JSON.stringify(input);
  return `${JSON.stringify(`${input.slice(0, 40)}…`)} (${input.length} characters)`;
}
