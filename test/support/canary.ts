/** Credential values used by tests; each must never appear in any output, error or log. */
export const CANARY = 'CANARY-TOKEN-7f3a9c1e';
export const CANARY_MARKETING = 'CANARY-MARKETING-4b2d8e0f';

/** Everything a value shows to the world, for asserting a secret is absent from it. */
export function exposed(value: unknown): string {
  if (value instanceof Error) {
    const own = Object.fromEntries(Object.getOwnPropertyNames(value).map((k) => [k, (value as never)[k]]));
    return `${value.stack}\n${JSON.stringify(own)}\n${exposed((value as { cause?: unknown }).cause)}`;
  }
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}
