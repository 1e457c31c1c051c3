/**
 * The request log: the newest `max` requests, in memory, oldest dropped first and counted. Written on every request
 * and only read by a person or a test. An emulator with a state file also writes each row to its `requests` table
 * (state-file.ts), so a restart reads the log back.
 */
import { isoTime, jsonCopy } from './records.js';
import type { EmulatorRequest } from './types.js';

/** The request log's default cap: enough to read back a long test run; about 3 MiB of ~100-byte JSON bodies. */
export const DEFAULT_MAX_REQUESTS = 10_000;

/**
 * A logged request: its parsed body as received (never changed afterwards; a reader gets a copy, requestOut) and its
 * arrival time in epoch milliseconds. Nothing is serialised per request.
 */
export interface LoggedRequest extends Omit<EmulatorRequest, 'received_at'> {
  receivedAt: number;
}

export function requestOut(row: LoggedRequest): EmulatorRequest {
  return {
    seq: row.seq,
    method: row.method,
    path: row.path,
    endpoint: row.endpoint,
    status: row.status,
    message: row.message,
    token: row.token,
    body: row.body === null ? null : jsonCopy(row.body),
    received_at: isoTime(row.receivedAt),
  };
}

export class RequestLog {
  // A ring: once full, `oldest` is where the next row goes, overwriting the oldest one.
  private rows: LoggedRequest[] = [];
  private oldest = 0;
  private dropped = 0;
  private lastSeq = 0;

  constructor(private readonly max: number) {}

  /** seq of the next row: one after the last ever logged (dropped ones included). */
  nextSeq(): number {
    return this.lastSeq + 1;
  }

  push(row: LoggedRequest): void {
    this.lastSeq = row.seq;
    if (this.rows.length < this.max) {
      this.rows.push(row);
      return;
    }
    this.rows[this.oldest] = row;
    this.oldest = (this.oldest + 1) % this.max;
    this.dropped += 1;
  }

  /** Restores a log read back from a file: its kept rows oldest first, and how many it had dropped before them. */
  restore(rows: LoggedRequest[], droppedBefore: number): void {
    this.clear();
    this.dropped = droppedBefore;
    for (const row of rows) this.push(row);
  }

  get size(): number {
    return this.rows.length;
  }

  get droppedCount(): number {
    return this.dropped;
  }

  /** Newest first. */
  page(limit: number, offset: number): LoggedRequest[] {
    const out: LoggedRequest[] = [];
    const n = this.rows.length;
    for (let i = offset; i < Math.min(n, offset + limit); i++) out.push(this.at(n - 1 - i));
    return out;
  }

  /** Oldest first. */
  all(): LoggedRequest[] {
    return Array.from({ length: this.rows.length }, (_, i) => this.at(i));
  }

  clear(): void {
    this.rows = [];
    this.oldest = 0;
    this.dropped = 0;
    this.lastSeq = 0;
  }

  /** The i-th row, oldest first. */
  private at(i: number): LoggedRequest {
    return this.rows[(this.oldest + i) % this.rows.length] as LoggedRequest;
  }
}
