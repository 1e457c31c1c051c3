/**
 * Emulator state in SQLite (users, events), and the request log. Prepared statements throughout, prepared once
 * (benchmarks hammer it). Users and events are the state and are kept whole; the request log keeps the newest
 * `maxRequests` requests in memory (request-log.ts), and with a file also in its `requests` table.
 */
import Database from 'better-sqlite3';
import { DEFAULT_MAX_REQUESTS, type LoggedRequest, RequestLog } from './request-log.js';
import type { EmulatorEvent, EmulatorRequest, EmulatorState, EmulatorUser } from './types.js';

export interface UserRow {
  seq: number;
  id: string;
  email: string | null;
  data: string;
  tags: string;
  unsubscribed: number;
  created_at: string;
  updated_at: string;
}

interface EventRow {
  seq: number;
  identity: string;
  event_name: string;
  data: string;
  extras: string;
  received_at: string;
}

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

interface PageParams {
  limit: number;
  offset: number;
}

interface UserParams {
  user: string;
}

// Events of one profile, by Vero's id-only rule: sent with its id, or (no id given) with an email equal to its id.
// A scan (~10 ms at 20k events): expression indexes on identity made it <1 ms but doubled the cost of every event
// insert, and inserts are what benchmarks hammer while this only runs with a user picked in the inspector.
const USER_EVENTS = `coalesce(identity ->> '$.id', identity ->> '$.email') = @user`;

export type NewRequest = Omit<EmulatorRequest, 'seq'>;
export type NewEvent = Omit<EmulatorEvent, 'seq'>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  email TEXT,
  data TEXT NOT NULL,
  tags TEXT NOT NULL,
  unsubscribed INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  identity TEXT NOT NULL,
  event_name TEXT NOT NULL,
  data TEXT NOT NULL,
  extras TEXT NOT NULL,
  received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
  seq INTEGER PRIMARY KEY,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  endpoint TEXT,
  status INTEGER,
  message TEXT,
  token TEXT,
  body TEXT,
  received_at TEXT NOT NULL
);
`;

export class EmulatorStore {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly inTransaction: (fn: () => unknown) => unknown;
  private readonly log: RequestLog;
  /** Whether the request log is also written to the file, so that a restart reads it back. */
  private readonly persistLog: boolean;

  constructor(
    dbPath: string | undefined,
    private readonly maxRequests = DEFAULT_MAX_REQUESTS,
  ) {
    this.db = new Database(dbPath ?? ':memory:');
    this.persistLog = dbPath !== undefined && dbPath !== ':memory:';
    if (this.persistLog) {
      this.db.pragma('journal_mode = WAL');
      // WAL + NORMAL: durable across process restarts, without an fsync per request.
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmts = {
      userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
      insertUser: db.prepare(
        `INSERT INTO users (id, email, data, tags, unsubscribed, created_at, updated_at)
         VALUES (@id, @email, @data, @tags, @unsubscribed, @created_at, @updated_at)`,
      ),
      // Positional parameters on the per-event statements: binding by name costs a lookup per parameter.
      insertUserIfMissing: db.prepare<[string, string | null, string, string]>(
        `INSERT INTO users (id, email, data, tags, unsubscribed, created_at, updated_at)
         VALUES (?, ?, '{}', '[]', 0, ?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      setEmail: db.prepare<[string, string, string, string]>(
        'UPDATE users SET email = ?, updated_at = ? WHERE id = ? AND email IS NOT ?',
      ),
      updateUser: db.prepare(
        `UPDATE users SET id = @id, email = @email, data = @data, tags = @tags, unsubscribed = @unsubscribed,
         updated_at = @updated_at WHERE seq = @seq`,
      ),
      deleteUser: db.prepare<[number]>('DELETE FROM users WHERE seq = ?'),
      insertEvent: db.prepare<[string, string, string, string, string]>(
        'INSERT INTO events (identity, event_name, data, extras, received_at) VALUES (?, ?, ?, ?, ?)',
      ),
      insertRequest: db.prepare<LoggedRequest>(
        `INSERT INTO requests (seq, method, path, endpoint, status, message, token, body, received_at)
         VALUES (@seq, @method, @path, @endpoint, @status, @message, @token, @body, @received_at)`,
      ),
      pruneRequests: db.prepare<[number]>('DELETE FROM requests WHERE seq <= ?'),
      allUsers: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY seq'),
      allEvents: db.prepare<[], EventRow>('SELECT * FROM events ORDER BY seq'),
      counts: db.prepare<[], Pick<ListCounts, 'users' | 'events'>>(
        'SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM events) AS events',
      ),
      usersPage: db.prepare<PageParams, UserRow>(
        'SELECT * FROM users ORDER BY seq DESC LIMIT @limit OFFSET @offset',
      ),
      eventsPage: db.prepare<PageParams, EventRow>(
        'SELECT * FROM events ORDER BY seq DESC LIMIT @limit OFFSET @offset',
      ),
      userEventsCount: db.prepare<UserParams, { total: number }>(
        `SELECT COUNT(*) AS total FROM events WHERE ${USER_EVENTS}`,
      ),
      userEventsPage: db.prepare<UserParams & PageParams, EventRow>(
        `SELECT * FROM events WHERE ${USER_EVENTS} ORDER BY seq DESC LIMIT @limit OFFSET @offset`,
      ),
    };
    this.log = new RequestLog(maxRequests);
    if (this.persistLog) this.readLog();
    // One wrapper for every transaction: better-sqlite3 builds a new one on each db.transaction() call.
    this.inTransaction = this.db.transaction((fn: () => unknown) => fn());
  }

  /** Runs fn in one transaction: one commit per request keeps file-backed state fast. */
  transaction<T>(fn: () => T): T {
    return this.inTransaction(fn) as T;
  }

  userById(id: string): UserRow | undefined {
    return this.stmts.userById.get(id);
  }

  insertUser(row: Omit<UserRow, 'seq'>): void {
    this.stmts.insertUser.run(row);
  }

  /**
   * The profile `id`, created when missing; with an email, that email (updated_at moves only when it changes).
   * What an event does to its profile, in one or two statements and no row read back (events are the hot path).
   */
  ensureUser(id: string, email: string | undefined, now: string): void {
    this.stmts.insertUserIfMissing.run(id, email ?? null, now, now);
    if (email !== undefined) this.stmts.setEmail.run(email, now, id, email);
  }

  updateUser(row: UserRow): void {
    this.stmts.updateUser.run(row);
  }

  deleteUser(seq: number): void {
    this.stmts.deleteUser.run(seq);
  }

  insertEvent(event: NewEvent): void {
    this.stmts.insertEvent.run(
      JSON.stringify(event.identity),
      event.event_name,
      JSON.stringify(event.data),
      JSON.stringify(event.extras),
      event.received_at,
    );
  }

  /** Appends to the request log, which drops its oldest row once full (and so does the file's table). */
  insertRequest(request: NewRequest): void {
    const row: LoggedRequest = {
      ...request,
      seq: this.log.nextSeq(),
      body: request.body === null || request.body === undefined ? null : JSON.stringify(request.body),
    };
    this.log.push(row);
    if (!this.persistLog) return;
    this.stmts.insertRequest.run(row);
    this.pruneTable(row.seq);
  }

  /** The file's log as this run's: its newest maxRequests rows, and the count of those dropped before them. */
  private readLog(): void {
    const rows = this.db
      .prepare<[number], LoggedRequest>(
        'SELECT * FROM (SELECT * FROM requests ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      )
      .all(this.maxRequests);
    const last = rows.at(-1)?.seq ?? 0;
    this.log.restore(rows, last - rows.length);
    this.pruneTable(last);
  }

  /** Keeps the table to the newest maxRequests rows, as the log in memory: seq only grows, so they are seq > last - max. */
  private pruneTable(last: number): void {
    if (last > this.maxRequests) this.stmts.pruneRequests.run(last - this.maxRequests);
  }

  state(): EmulatorState {
    return {
      users: this.stmts.allUsers.all().map(userFromRow),
      events: this.stmts.allEvents.all().map(eventFromRow),
      requests: this.log.all().map(requestFromRow),
      requestsDropped: this.log.droppedCount,
    };
  }

  counts(): ListCounts {
    const { users, events } = this.stmts.counts.get() as Pick<ListCounts, 'users' | 'events'>;
    return { users, events, requests: this.log.size, requestsDropped: this.log.droppedCount };
  }

  /** Newest first, like every *Page method. */
  usersPage(limit: number, offset: number): EmulatorUser[] {
    return this.stmts.usersPage.all({ limit, offset }).map(userFromRow);
  }

  eventsPage(limit: number, offset: number): EmulatorEvent[] {
    return this.stmts.eventsPage.all({ limit, offset }).map(eventFromRow);
  }

  requestsPage(limit: number, offset: number): EmulatorRequest[] {
    return this.log.page(limit, offset).map(requestFromRow);
  }

  /** Events that reached the profile whose id is `user` (sent with that id, or with only an email equal to it). */
  userEventsPage(user: string, limit: number, offset: number): StorePage<EmulatorEvent> {
    const total = (this.stmts.userEventsCount.get({ user }) as { total: number }).total;
    const rows = total === 0 ? [] : this.stmts.userEventsPage.all({ user, limit, offset }).map(eventFromRow);
    return { total, rows };
  }

  clear(): void {
    this.db.exec('DELETE FROM users; DELETE FROM events; DELETE FROM requests;');
    this.log.clear();
  }

  close(): void {
    this.db.close();
  }
}

function eventFromRow(r: EventRow): EmulatorEvent {
  return {
    seq: r.seq,
    identity: JSON.parse(r.identity),
    event_name: r.event_name,
    data: JSON.parse(r.data),
    extras: JSON.parse(r.extras),
    received_at: r.received_at,
  };
}

function requestFromRow(r: LoggedRequest): EmulatorRequest {
  return { ...r, body: r.body === null ? null : JSON.parse(r.body) };
}

export function userFromRow(r: UserRow): EmulatorUser {
  return {
    id: r.id,
    email: r.email,
    data: JSON.parse(r.data),
    tags: JSON.parse(r.tags),
    unsubscribed: r.unsubscribed === 1,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}
