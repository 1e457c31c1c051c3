/**
 * The emulator's state: users and events in memory (Maps and an array), and the request log. Kept in memory because
 * every Vero request writes to it and only a person or a test reads it: SQLite statements were most of a request's
 * own cost. With a state file (state-file.ts) every change is also written to it, one transaction per request, and
 * the file is read back at start. Users and events are the state and are kept whole; the request log keeps the
 * newest `maxRequests` requests (request-log.ts).
 */
import { eventOut, type StoredEvent, type StoredUser, userOut } from './records.js';
import { DEFAULT_MAX_REQUESTS, type LoggedRequest, RequestLog, requestOut } from './request-log.js';
import type { StateFile } from './state-file.js';
import type { EmulatorEvent, EmulatorRequest, EmulatorState, EmulatorUser } from './types.js';
import { profileIdOf } from './validate.js';

/** Row counts of the three lists, and how many requests the capped log has dropped. */
export interface ListCounts {
  users: number;
  events: number;
  requests: number;
  requestsDropped: number;
}

/** One page of a newest-first list, and how many rows the whole list has. */
export interface StorePage<T> {
  total: number;
  rows: T[];
}

export type NewRequest = Omit<LoggedRequest, 'seq'>;

export class EmulatorStore {
  // Insertion order is seq order: a saved user keeps its entry, so a reidentified profile keeps its place.
  private readonly usersBySeq = new Map<number, StoredUser>();
  private readonly usersById = new Map<string, StoredUser>();
  private lastUserSeq = 0;
  private events: StoredEvent[] = [];
  /** Events by the profile they reached (the id, or the email when only an email was sent): the inspector's filter. */
  private readonly eventsByProfile = new Map<string, StoredEvent[]>();
  private readonly log: RequestLog;

  constructor(
    private readonly file: StateFile | undefined,
    maxRequests = DEFAULT_MAX_REQUESTS,
  ) {
    this.log = new RequestLog(maxRequests);
    if (file !== undefined) this.readFile(file);
  }

  /**
   * Runs one request's changes. With a file, in one SQLite transaction; if the file refuses a write, the state is
   * read back from it, so the emulator never holds a change its file does not (and the request fails).
   */
  transaction<T>(fn: () => T): T {
    const file = this.file;
    if (file === undefined) return fn();
    try {
      return file.transaction(fn);
    } catch (error) {
      this.readFile(file);
      throw error;
    }
  }

  userById(id: string): StoredUser | undefined {
    return this.usersById.get(id);
  }

  /** A profile numbered after every other, not stored until saveUser. */
  newUser(id: string, email: string | null, now: number): StoredUser {
    this.lastUserSeq += 1;
    return {
      seq: this.lastUserSeq,
      id,
      email,
      data: {},
      tags: [],
      unsubscribed: false,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Stores `user` in place of the profile with its seq (whose id it may change), or as a new one. */
  saveUser(user: StoredUser): void {
    this.file?.saveUser(user);
    const previous = this.usersBySeq.get(user.seq);
    if (previous !== undefined && previous.id !== user.id) this.usersById.delete(previous.id);
    this.usersBySeq.set(user.seq, user);
    this.usersById.set(user.id, user);
  }

  deleteUser(user: StoredUser): void {
    this.file?.deleteUser(user.seq);
    this.usersBySeq.delete(user.seq);
    this.usersById.delete(user.id);
  }

  addEvent(event: Omit<StoredEvent, 'seq'>): void {
    const stored: StoredEvent = {
      seq: (this.events.at(-1)?.seq ?? 0) + 1,
      identity: event.identity,
      eventName: event.eventName,
      data: event.data,
      extras: event.extras,
      receivedAt: event.receivedAt,
    };
    this.file?.insertEvent(stored);
    this.keepEvent(stored);
  }

  /** Appends to the request log, which drops its oldest row once full (and so does the file's table). */
  insertRequest(request: NewRequest): void {
    const row: LoggedRequest = {
      seq: this.log.nextSeq(),
      method: request.method,
      path: request.path,
      endpoint: request.endpoint,
      status: request.status,
      message: request.message,
      token: request.token,
      body: request.body,
      receivedAt: request.receivedAt,
    };
    this.log.push(row);
    this.file?.insertRequest(row);
  }

  state(): EmulatorState {
    return {
      users: Array.from(this.usersBySeq.values(), userOut),
      events: this.events.map(eventOut),
      requests: this.log.all().map(requestOut),
      requestsDropped: this.log.droppedCount,
    };
  }

  counts(): ListCounts {
    return {
      users: this.usersBySeq.size,
      events: this.events.length,
      requests: this.log.size,
      requestsDropped: this.log.droppedCount,
    };
  }

  /** Newest first, like every *Page method. */
  usersPage(limit: number, offset: number): EmulatorUser[] {
    return newestFirst(Array.from(this.usersBySeq.values()), limit, offset).map(userOut);
  }

  eventsPage(limit: number, offset: number): EmulatorEvent[] {
    return newestFirst(this.events, limit, offset).map(eventOut);
  }

  requestsPage(limit: number, offset: number): EmulatorRequest[] {
    return this.log.page(limit, offset).map(requestOut);
  }

  /** Events that reached the profile whose id is `user` (sent with that id, or with only an email equal to it). */
  userEventsPage(user: string, limit: number, offset: number): StorePage<EmulatorEvent> {
    const events = this.eventsByProfile.get(user) ?? [];
    return { total: events.length, rows: newestFirst(events, limit, offset).map(eventOut) };
  }

  clear(): void {
    this.file?.clear();
    this.forget();
    this.log.clear();
  }

  close(): void {
    this.file?.close();
  }

  private readFile(file: StateFile): void {
    const contents = file.read();
    this.forget();
    for (const user of contents.users) {
      this.usersBySeq.set(user.seq, user);
      this.usersById.set(user.id, user);
    }
    this.lastUserSeq = contents.users.at(-1)?.seq ?? 0;
    for (const event of contents.events) this.keepEvent(event);
    this.log.restore(contents.requests, contents.requestsDropped);
  }

  private keepEvent(event: StoredEvent): void {
    this.events.push(event);
    const profile = profileIdOf(event.identity);
    const ofProfile = this.eventsByProfile.get(profile);
    if (ofProfile === undefined) this.eventsByProfile.set(profile, [event]);
    else ofProfile.push(event);
  }

  /** Empties users and events (not the log). */
  private forget(): void {
    this.usersBySeq.clear();
    this.usersById.clear();
    this.lastUserSeq = 0;
    this.events = [];
    this.eventsByProfile.clear();
  }
}

/** Rows `offset` .. `offset + limit` of `list` counted from its end, newest first. */
function newestFirst<T>(list: readonly T[], limit: number, offset: number): T[] {
  const end = Math.max(0, list.length - offset);
  return list.slice(Math.max(0, end - limit), end).reverse();
}
