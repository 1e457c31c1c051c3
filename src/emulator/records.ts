/**
 * Users and events as the emulator keeps them in memory, and the copies it hands to readers. A record is replaced
 * whole on every change, never edited in place, and its objects are never changed after they are stored (they may
 * share parts with the request that made them), so a reader gets a copy: what it does to it cannot reach the state.
 */
import type { Params } from './body.js';
import type { EmulatorEvent, EmulatorUser } from './types.js';
import type { UserRef } from './validate.js';

/** A profile as kept. Times are epoch milliseconds, written as ISO text only when read. */
export interface StoredUser {
  /** Creation order: lists keep a profile's place when a reidentify changes its id. */
  seq: number;
  id: string;
  email: string | null;
  data: Params;
  tags: readonly string[];
  unsubscribed: boolean;
  createdAt: number;
  updatedAt: number;
}

/** An event as kept: as sent (after validation), with its arrival time in epoch milliseconds. */
export interface StoredEvent {
  seq: number;
  identity: UserRef;
  eventName: string;
  data: Params;
  extras: Params;
  receivedAt: number;
}

/** The copy a reader gets: what the same value reads back as from JSON, as when the state lived in SQLite. */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function userOut(user: StoredUser): EmulatorUser {
  return {
    id: user.id,
    email: user.email,
    data: jsonCopy(user.data),
    tags: [...user.tags],
    unsubscribed: user.unsubscribed,
    created_at: isoTime(user.createdAt),
    updated_at: isoTime(user.updatedAt),
  };
}

export function eventOut(event: StoredEvent): EmulatorEvent {
  return {
    seq: event.seq,
    identity: { ...event.identity },
    event_name: event.eventName,
    data: jsonCopy(event.data),
    extras: jsonCopy(event.extras),
    received_at: isoTime(event.receivedAt),
  };
}
