/** Emulator state in SQLite: users, events and the request log. Prepared statements throughout (benchmarks hammer it). */
import Database from 'better-sqlite3';
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

interface RequestRow {
  seq: number;
  method: string;
  path: string;
  endpoint: string | null;
  status: number | null;
  message: string | null;
  token: string | null;
  body: string | null;
  received_at: string;
}

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
CREATE INDEX IF NOT EXISTS users_email ON users(email);
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

  constructor(dbPath: string | undefined) {
    this.db = new Database(dbPath ?? ':memory:');
    if (dbPath !== undefined && dbPath !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      // WAL + NORMAL: durable across process restarts, without an fsync per request.
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmts = {
      userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
      userByEmail: db.prepare<[string], UserRow>('SELECT * FROM users WHERE email = ? ORDER BY seq LIMIT 1'),
      insertUser: db.prepare(
        `INSERT INTO users (id, email, data, tags, unsubscribed, created_at, updated_at)
         VALUES (@id, @email, @data, @tags, @unsubscribed, @created_at, @updated_at)`,
      ),
      updateUser: db.prepare(
        `UPDATE users SET id = @id, email = @email, data = @data, tags = @tags, unsubscribed = @unsubscribed,
         updated_at = @updated_at WHERE seq = @seq`,
      ),
      deleteUser: db.prepare<[number]>('DELETE FROM users WHERE seq = ?'),
      insertEvent: db.prepare(
        `INSERT INTO events (identity, event_name, data, extras, received_at)
         VALUES (@identity, @event_name, @data, @extras, @received_at)`,
      ),
      insertRequest: db.prepare(
        `INSERT INTO requests (method, path, endpoint, status, message, token, body, received_at)
         VALUES (@method, @path, @endpoint, @status, @message, @token, @body, @received_at)`,
      ),
      allUsers: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY seq'),
      allEvents: db.prepare<[], EventRow>('SELECT * FROM events ORDER BY seq'),
      allRequests: db.prepare<[], RequestRow>('SELECT * FROM requests ORDER BY seq'),
    };
  }

  /** Runs fn in one transaction: one commit per request keeps file-backed state fast. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  userById(id: string): UserRow | undefined {
    return this.stmts.userById.get(id);
  }

  userByEmail(email: string): UserRow | undefined {
    return this.stmts.userByEmail.get(email);
  }

  insertUser(row: Omit<UserRow, 'seq'>): void {
    this.stmts.insertUser.run(row);
  }

  updateUser(row: UserRow): void {
    this.stmts.updateUser.run(row);
  }

  deleteUser(seq: number): void {
    this.stmts.deleteUser.run(seq);
  }

  insertEvent(event: NewEvent): void {
    this.stmts.insertEvent.run({
      identity: JSON.stringify(event.identity),
      event_name: event.event_name,
      data: JSON.stringify(event.data),
      extras: JSON.stringify(event.extras),
      received_at: event.received_at,
    });
  }

  insertRequest(request: NewRequest): void {
    this.stmts.insertRequest.run({
      ...request,
      body: request.body === null || request.body === undefined ? null : JSON.stringify(request.body),
    });
  }

  state(): EmulatorState {
    return {
      users: this.stmts.allUsers.all().map(userFromRow),
      events: this.stmts.allEvents.all().map(
        (r): EmulatorEvent => ({
          seq: r.seq,
          identity: JSON.parse(r.identity),
          event_name: r.event_name,
          data: JSON.parse(r.data),
          extras: JSON.parse(r.extras),
          received_at: r.received_at,
        }),
      ),
      requests: this.stmts.allRequests
        .all()
        .map((r): EmulatorRequest => ({ ...r, body: r.body === null ? null : JSON.parse(r.body) })),
    };
  }

  clear(): void {
    this.db.exec('DELETE FROM users; DELETE FROM events; DELETE FROM requests;');
  }

  close(): void {
    this.db.close();
  }
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
