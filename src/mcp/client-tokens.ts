/**
 * The bearer tokens `kosmo-vero serve` accepts: where they come from, the rules they must meet, and checking the one
 * a request presents. A token is never put in an error, a log line or a response; its label stands for it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RuntimeConfig } from '../runtime/config.js';
import { ConfigError } from '../runtime/errors.js';

/** `full`: every tool; `read-only`: every write is refused (a tool error saying so). */
export type TokenPolicy = 'full' | 'read-only';

export interface ClientToken {
  token: string;
  /** Stands for the token in logs and refusals. */
  label: string;
  policy: TokenPolicy;
}

/** Who a request came from: the token's label and policy, never the token. */
export interface ServeClient {
  label: string;
  policy: TokenPolicy;
}

export const TOKENS_VARIABLE = 'KOSMO_VERO_SERVE_TOKENS';
export const READ_ONLY_TOKENS_VARIABLE = 'KOSMO_VERO_SERVE_READ_ONLY_TOKENS';

/** RFC 6750's b64token: what may follow `Bearer ` in an Authorization header. */
const TOKEN_SHAPE = /^[A-Za-z0-9\-._~+/]+=*$/;
const LABEL_SHAPE = /^[A-Za-z0-9._-]{1,64}$/;
/** Short enough to guess is too short: 16 characters of a random hex string are 64 bits. */
export const MIN_TOKEN_LENGTH = 16;
const HOW_TO_MAKE_ONE = 'make one with `openssl rand -hex 32`';

/** A variable's comma-separated tokens, labelled by position: `env-1`, `env-2` (or `read-only-1`, ...). */
function fromVariable(value: string | undefined, prefix: string, policy: TokenPolicy): ClientToken[] {
  if (value === undefined || value.trim() === '') return [];
  return value
    .split(',')
    .map((token, index) => ({ token: token.trim(), label: `${prefix}-${index + 1}`, policy }));
}

/**
 * Every client token: `KOSMO_VERO_SERVE_TOKENS` (full access), `KOSMO_VERO_SERVE_READ_ONLY_TOKENS`, and the config
 * file's `serve.tokens`. Throws a ConfigError naming the token by its label and the rule it breaks.
 */
export function clientTokens(env: NodeJS.ProcessEnv, config: RuntimeConfig | undefined): ClientToken[] {
  const tokens = [
    ...fromVariable(env[TOKENS_VARIABLE], 'env', 'full'),
    ...fromVariable(env[READ_ONLY_TOKENS_VARIABLE], 'read-only', 'read-only'),
    ...(config?.serve?.tokens ?? []).map((entry) => ({ ...entry, policy: entry.policy ?? 'full' })),
  ];
  const seenTokens = new Set<string>();
  const seenLabels = new Set<string>();
  for (const { token, label } of tokens) {
    if (!LABEL_SHAPE.test(label)) {
      throw new ConfigError(
        `serve.tokens: label ${JSON.stringify(label.slice(0, 64))} must be 1 to 64 letters, digits, ".", "_" or "-"; it names the token in logs.`,
      );
    }
    if (seenLabels.has(label)) {
      throw new ConfigError(`serve.tokens: label "${label}" is used twice; give each token its own label.`);
    }
    seenLabels.add(label);
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new ConfigError(
        `client token "${label}" is shorter than ${MIN_TOKEN_LENGTH} characters; ${HOW_TO_MAKE_ONE}.`,
      );
    }
    if (!TOKEN_SHAPE.test(token)) {
      throw new ConfigError(
        `client token "${label}" has characters a bearer token cannot carry (letters, digits, - . _ ~ + / and trailing =); ${HOW_TO_MAKE_ONE}.`,
      );
    }
    if (seenTokens.has(token)) {
      throw new ConfigError(
        `client token "${label}" is the same as an earlier one; each client gets its own token.`,
      );
    }
    seenTokens.add(token);
  }
  if (tokens.length === 0) {
    throw new ConfigError(
      `no client tokens: set ${TOKENS_VARIABLE} (comma-separated; ${HOW_TO_MAKE_ONE}) or serve.tokens in the --config file. kosmo-vero serve answers no one without a token.`,
    );
  }
  return tokens;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Checks the token of an `Authorization: Bearer <token>` header against the client tokens, in constant time. */
export class TokenVerifier {
  private readonly known: Array<{ digest: Buffer; client: ServeClient }>;

  constructor(tokens: ClientToken[]) {
    this.known = tokens.map(({ token, label, policy }) => ({
      digest: digest(token),
      client: { label, policy },
    }));
  }

  /**
   * The client a header authenticates; `missing` without a bearer token, `invalid` for one nobody was given.
   * Digests make every comparison the same length, and every token is compared, so the time taken says nothing
   * about how much of a token was right or which one it was.
   */
  verify(header: string | undefined): ServeClient | 'missing' | 'invalid' {
    const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
    if (!match?.[1]) return 'missing';
    const presented = digest(match[1]);
    let found: ServeClient | undefined;
    for (const { digest: known, client } of this.known) {
      if (timingSafeEqual(known, presented) && !found) found = client;
    }
    return found ?? 'invalid';
  }
}
