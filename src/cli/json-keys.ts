/** `oldestPendingAgeMs` -> `oldest_pending_age_ms`. */
const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/**
 * The same value with every object key in snake_case, the one key style of the CLI's --json output (the library's
 * outbox reports camelCase). Only for values made of our own fields: user data keeps its keys as given.
 */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [snakeCase(key), snakeCaseKeys(item)]),
  );
}
