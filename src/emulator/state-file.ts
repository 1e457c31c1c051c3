/**
 * The emulator's state file (`dbPath`, `--db`): users, events and the request log written through to SQLite, one
 * transaction per request, and read back whole at start. The emulator serves from memory either way (store.ts);
 * this module, and so better-sqlite3, is only loaded when a file is asked for. The schema is the one the emulator
 * kept its whole state in before, so files written by earlier versions read back.
 */
import Database from 'better-sqlite3';
import { isoTime, type StoredEvent, type StoredUser } from './records.js';
import type { LoggedRequest } from './request-log.js';

interface UserRow {
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

interface RequestRow extends Omit<LoggedRequest, 'body' | 'receivedAt'> {
  body: string | null;
  received_at: string;
}

/** What a file holds: users and events oldest first, and its newest `maxRequests` logged requests. */
export interface StateFileContents {
  users: StoredUser[];
  events: StoredEvent[];
  requests: LoggedRequest[];
  /** Requests logged before the ones kept, as `requestsDropped` counts them. */
  requestsDropped: number;
}

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

export class StateFile {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly inTransaction: (fn: () => unknown) => unknown;

  constructor(
    path: string,
    private readonly maxRequests: number,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: durable across process restarts, without an fsync per request.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmts = {
      // A user is written whole, by its seq: a reidentify changes its id and keeps its place.
      saveUser: db.prepare<[number, string, string | null, string, string, number, string, string]>(
        `INSERT INTO users (seq, id, email, data, tags, unsubscribed, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (seq) DO UPDATE SET id = excluded.id, email = excluded.email, data = excluded.data,
           tags = excluded.tags, unsubscribed = excluded.unsubscribed, updated_at = excluded.updated_at`,
      ),
      deleteUser: db.prepare<[number]>('DELETE FROM users WHERE seq = ?'),
      insertEvent: db.prepare<[number, string, string, string, string, string]>(
        'INSERT INTO events (seq, identity, event_name, data, extras, received_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertRequest: db.prepare<RequestRow>(
        `INSERT INTO requests (seq, method, path, endpoint, status, message, token, body, received_at)
         VALUES (@seq, @method, @path, @endpoint, @status, @message, @token, @body, @received_at)`,
      ),
      pruneRequests: db.prepare<[number]>('DELETE FROM requests WHERE seq <= ?'),
      allUsers: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY seq'),
      allEvents: db.prepare<[], EventRow>('SELECT * FROM events ORDER BY seq'),
      newestRequests: db.prepare<[number], RequestRow>(
        'SELECT * FROM (SELECT * FROM requests ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
    };
    // One wrapper for every transaction: better-sqlite3 builds a new one on each db.transaction() call.
    this.inTransaction = this.db.transaction((fn: () => unknown) => fn());
  }

  /** Runs fn in one transaction: one commit per request. */
  transaction<T>(fn: () => T): T {
    return this.inTransaction(fn) as T;
  }

  /** Everything the file holds; cuts its log table to the newest maxRequests rows. */
  read(): StateFileContents {
    const users = this.stmts.allUsers.all().map(
      (r): StoredUser => ({
        seq: r.seq,
        id: r.id,
        email: r.email,
        data: JSON.parse(r.data),
        tags: JSON.parse(r.tags),
        unsubscribed: r.unsubscribed === 1,
        createdAt: Date.parse(r.created_at),
        updatedAt: Date.parse(r.updated_at),
      }),
    );
    const events = this.stmts.allEvents.all().map(
      (r): StoredEvent => ({
        seq: r.seq,
        identity: JSON.parse(r.identity),
        eventName: r.event_name,
        data: JSON.parse(r.data),
        extras: JSON.parse(r.extras),
        receivedAt: Date.parse(r.received_at),
      }),
    );
    const requests = this.stmts.newestRequests.all(this.maxRequests).map(
      ({ body, received_at, ...r }): LoggedRequest => ({
        ...r,
        body: body === null ? null : JSON.parse(body),
        receivedAt: Date.parse(received_at),
      }),
    );
    const last = requests.at(-1)?.seq ?? 0;
    this.pruneRequests(last);
    return { users, events, requests, requestsDropped: last - requests.length };
  }

  saveUser(user: StoredUser): void {
    this.stmts.saveUser.run(
      user.seq,
      user.id,
      user.email,
      JSON.stringify(user.data),
      JSON.stringify(user.tags),
      user.unsubscribed ? 1 : 0,
      isoTime(user.createdAt),
      isoTime(user.updatedAt),
    );
  }

  deleteUser(seq: number): void {
    this.stmts.deleteUser.run(seq);
  }

  insertEvent(event: StoredEvent): void {
    this.stmts.insertEvent.run(
      event.seq,
      JSON.stringify(event.identity),
      event.eventName,
      JSON.stringify(event.data),
      JSON.stringify(event.extras),
      isoTime(event.receivedAt),
    );
  }

  /** Appends a logged request and drops the rows the log in memory has dropped. */
  insertRequest({ body, receivedAt, ...row }: LoggedRequest): void {
    this.stmts.insertRequest.run({
      ...row,
      body: body === null ? null : JSON.stringify(body),
      received_at: isoTime(receivedAt),
    });
    this.pruneRequests(row.seq);
  }

  clear(): void {
    this.db.exec('DELETE FROM users; DELETE FROM events; DELETE FROM requests;');
  }

  close(): void {
    this.db.close();
  }

  /** Keeps the table to the newest maxRequests rows, as the log in memory: seq only grows, so they are seq > last - max. */
  private pruneRequests(last: number): void {
    if (last > this.maxRequests) this.stmts.pruneRequests.run(last - this.maxRequests);
  }
}
