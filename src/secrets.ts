/**
 * How credentials are kept out of what people and agents see: masked where one must be told apart (account
 * listings, the outbox's destinations), redacted everywhere else (dry-run requests, errors, the call log).
 */

/** What stands where a credential was. */
export const REDACTED = '[redacted]';

/** A hint that tells two credentials apart without revealing one: the last 4 characters of a long value only. */
export function maskCredential(value: string): string {
  return value.length >= 16 ? `…${value.slice(-4)}` : '…';
}

/** Replace every occurrence of the secret in text (a service or a proxy could echo it back). */
export function redact(text: string, secret: string): string {
  return secret === '' || !text.includes(secret) ? text : text.split(secret).join(REDACTED);
}

const SECRET_KEY = /token|secret|password|api_?key|credential/i;

/**
 * A copy of a JSON-like value with every string that holds one of the secrets, and every value under a key that
 * names a secret (`auth_token`, `password`, ...), replaced by REDACTED.
 */
export function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') {
    // A short secret would match ordinary text by chance; it is only redacted where it is the whole value.
    const leaks = (secret: string) => (secret.length >= 8 ? value.includes(secret) : value === secret);
    return secrets.some(leaks) ? REDACTED : value;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        SECRET_KEY.test(key) ? REDACTED : redactValue(item, secrets),
      ]),
    );
  }
  return value;
}
