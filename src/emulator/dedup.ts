/** Remembers recent identical requests so a repeat answers "Request already received." like Vero. In memory only. */
import { createHash } from 'node:crypto';
import type { Params } from './body.js';
import type { Endpoint } from './endpoints.js';

export const DEFAULT_DEDUP_WINDOW_MS = 3 * 60 * 1000;

/** Vero treats "Purchased Item", "purchased item" and "purchased_item" as one event. */
export function normaliseEventName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, ' ');
}

export class DedupWindow {
  // Insertion order equals expiry order (fixed window), so expired entries are always at the front.
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** True when the same key was recorded within the window; otherwise false (and nothing is recorded). */
  isDuplicate(key: string, now: number): boolean {
    this.prune(now);
    return this.seen.has(key);
  }

  record(key: string, now: number): void {
    if (this.windowMs <= 0) return;
    this.seen.delete(key);
    this.seen.set(key, now + this.windowMs);
  }

  clear(): void {
    this.seen.clear();
  }

  private prune(now: number): void {
    for (const [key, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(key);
    }
  }
}

/**
 * The key: a hash of the credential (never kept in clear), the endpoint and the canonical body without the credential.
 * Events compare identity, normalised event name and data only: Vero's SDK docs say dedup is on name, properties
 * and user, and `extras.created_at` (which the SDK sets on every call) does not make an event new.
 */
export function dedupKey(secret: string, endpoint: Endpoint, params: Params): string {
  let subject: unknown = params;
  if (endpoint === '/events/track') {
    const name =
      typeof params.event_name === 'string' ? normaliseEventName(params.event_name) : params.event_name;
    subject = { identity: params.identity, event_name: name, data: params.data ?? {} };
  }
  return createHash('sha256')
    .update(secret)
    .update('\0')
    .update(endpoint)
    .update('\0')
    .update(canonicalJson(subject))
    .digest('base64');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
