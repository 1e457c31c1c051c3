import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { didYouMean, quoteName } from '../suggest.js';
import { ConfigError } from './errors.js';

const permissionMode = z.enum(['allow', 'ask', 'deny']);
export type PermissionMode = z.infer<typeof permissionMode>;

const accountSettings = z.record(z.string(), z.string());

/** The optional JSON config file (`--config`): the same settings the environment gives, and a few more. */
export const runtimeConfigSchema = z.strictObject({
  /** integration -> account name -> settings such as `authToken`, `trackingApiKey`, `baseUrl`, `email`. */
  accounts: z.record(z.string(), z.record(z.string(), accountSettings)).optional(),
  /** integration (or `*`) -> operation -> mode. */
  permissions: z
    .record(z.string(), z.strictObject({ read: permissionMode.optional(), write: permissionMode.optional() }))
    .optional(),
  delivery: z.enum(['direct', 'queued']).optional(),
  outbox: z.string().optional(),
  /** How queued writes are retried (see OutboxOptions): e.g. `{ "retryForMs": 172800000 }` for two days. */
  queue: z
    .strictObject({
      retryForMs: z.int().positive().optional(),
      concurrency: z.int().positive().optional(),
      maxDelayMs: z.int().positive().optional(),
      pauseMs: z.int().positive().optional(),
      /** How soon a crashed drainer's writes are taken over (the only way on PostgreSQL, across hosts). */
      leaseMs: z.int().positive().optional(),
    })
    .optional(),
  /** Per-request timeout in milliseconds (the CLI's --request-timeout wins). */
  requestTimeoutMs: z.int().positive().optional(),
  /** `kosmo-vero serve`: the bearer tokens its clients present, each with a label for logs and a policy. */
  serve: z
    .strictObject({
      tokens: z
        .array(
          z.strictObject({
            token: z.string(),
            label: z.string(),
            policy: z.enum(['full', 'read-only']).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

export function parseRuntimeConfig(value: unknown, origin: string): RuntimeConfig {
  const parsed = runtimeConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.join('.') || '(top level)';
  throw new ConfigError(
    `${origin}: ${where}: ${issue?.message ?? 'invalid'}. Fix the config file and try again.`,
  );
}

/**
 * The integration keys of `permissions` and `accounts` must name a loaded integration (`*` too, in permissions): a
 * typo such as "VERO" or "vero " would otherwise be ignored, and a `deny` under it would fail open.
 */
export function checkIntegrationKeys(config: RuntimeConfig, integrations: string[], origin: string): void {
  const sections = [
    { section: 'permissions', keys: Object.keys(config.permissions ?? {}), known: [...integrations, '*'] },
    { section: 'accounts', keys: Object.keys(config.accounts ?? {}), known: integrations },
  ];
  for (const { section, keys, known } of sections) {
    for (const key of keys) {
      if (known.includes(key)) continue;
      throw new ConfigError(
        `${origin}: ${section}: unknown integration ${quoteName(key)}.${didYouMean(key, known)} Integrations: ${known.map((name) => `"${name}"`).join(', ')} (spelled exactly). Fix it and try again.`,
      );
    }
  }
}

const lineOf = (text: string, position: number): number => text.slice(0, position).split('\n').length;

export function readRuntimeConfig(path: string): RuntimeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the mistake, which may be a credential: keep only the position.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const where = position === undefined ? '' : ` (line ${lineOf(text, Number(position))})`;
    throw new ConfigError(`config file ${path} is not valid JSON${where}. Fix it and try again.`);
  }
  return parseRuntimeConfig(value, `config file ${path}`);
}
