/**
 * Which requests the emulator drops as duplicates, and for how long: the one place for these rules (README's emulator
 * section and src/emulator/README.md describe them with their sources). A duplicate is answered
 * `200 {"status":200,"message":"Request already received."}` and changes nothing. Memory only: a restart forgets.
 *
 * - Events (`/events/track`), from Vero's Track API reference (help.getvero.com/api-reference/events/track.md):
 *   same credential, normalised event name and user id within 5 minutes (an older version of the page says 3), and
 *   then: the same `data` when data is given; otherwise the same `check_id` when one is given (the page does not say
 *   where it goes: the emulator reads it at the top level and in `extras`); otherwise nothing more. `extras` (so `created_at`) is not part of it: a retried event with its original time is still a duplicate.
 *   The "user id" is the profile the event reaches: `identity.id`, or the email when only an email is sent.
 * - Every other write: a byte-for-byte identical request (same credential, endpoint, body) within the same window,
 *   as recorded from the live API ("Request already received." for a repeated `/users/track`). Vero documents no
 *   window for these; the emulator uses the event window. So unsubscribe, resubscribe, unsubscribe inside it leaves
 *   the user subscribed: the third request is dropped.
 *
 * Bodies are compared after JSON-text fields are decoded, so a form body and a JSON body saying the same are one.
 */
import { createHash } from 'node:crypto';
import type { Params } from './body.js';
import type { Endpoint } from './endpoints.js';
import { type Operation, profileIdOf } from './validate.js';

/** 5 minutes: the newest Vero reference's event window, used for every request (see above). */
export const DEFAULT_DEDUP_WINDOW_MS = 5 * 60 * 1000;

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

/** The key: a hash of the credential (never kept in clear), the endpoint and what the rules above compare. */
export function dedupKey(secret: string, endpoint: Endpoint, params: Params, op: Operation): string {
  const subject = op.kind === 'event' ? eventSubject(op, params) : params;
  return createHash('sha256')
    .update(secret)
    .update('\0')
    .update(endpoint)
    .update('\0')
    .update(canonicalJson(subject))
    .digest('base64');
}

function eventSubject(op: Extract<Operation, { kind: 'event' }>, params: Params): unknown {
  const profile = profileIdOf(op.identity);
  const name = normaliseEventName(op.eventName);
  if (Object.keys(op.data).length > 0) return { profile, name, data: op.data };
  const checkId = params.check_id ?? op.extras.check_id;
  if (checkId !== undefined && checkId !== null && checkId !== '') {
    return { profile, name, check_id: String(checkId) };
  }
  return { profile, name };
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
