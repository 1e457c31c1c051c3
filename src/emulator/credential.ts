/** Finds the credential a request carries and reduces it to a label: the credential itself is never kept. */
import type { Params } from './body.js';
import { EmulatorError } from './errors.js';
import type { EmulatorToken } from './types.js';

/** Both credential generations Vero accepts, as parameter names. */
export const CREDENTIAL_FIELDS = ['auth_token', 'tracking_api_key'] as const;

export type CredentialMatch =
  | { kind: 'missing'; label: null }
  | { kind: 'accepted'; label: string; secret: string }
  | { kind: 'rejected'; label: 'unknown'; secret: string };

export function normaliseTokens(tokens: Array<string | EmulatorToken> | undefined): EmulatorToken[] {
  return (tokens ?? []).map((entry, i) => {
    const token = typeof entry === 'string' ? entry : entry?.token;
    const label = typeof entry === 'string' ? `token-${i + 1}` : entry?.label;
    if (typeof token !== 'string' || token === '') {
      throw new EmulatorError('emulator_bad_token', `tokens[${i}]: a token must be a non-empty string.`);
    }
    if (typeof label !== 'string' || label === '') {
      throw new EmulatorError('emulator_bad_token', `tokens[${i}].label: give each token a non-empty label.`);
    }
    return { token, label };
  });
}

/** Body first, then query string; the first non-empty value of either field wins. */
export function findCredential(body: Params | null, query: URLSearchParams): string | null {
  for (const field of CREDENTIAL_FIELDS) {
    const value = body?.[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  for (const field of CREDENTIAL_FIELDS) {
    const value = query.get(field);
    if (value !== null && value !== '') return value;
  }
  return null;
}

export function matchCredential(secret: string | null, tokens: readonly EmulatorToken[]): CredentialMatch {
  if (secret === null) return { kind: 'missing', label: null };
  if (tokens.length === 0) return { kind: 'accepted', label: 'any', secret };
  const found = tokens.find((t) => t.token === secret);
  return found
    ? { kind: 'accepted', label: found.label, secret }
    : { kind: 'rejected', label: 'unknown', secret };
}

export function withoutCredential(body: Params): Params {
  // Copied key by key rather than spread and `delete`d: a deleted key turns an object into a slow dictionary.
  const copy: Params = {};
  for (const key of Object.keys(body)) {
    if (!(CREDENTIAL_FIELDS as readonly string[]).includes(key)) copy[key] = body[key];
  }
  return copy;
}
