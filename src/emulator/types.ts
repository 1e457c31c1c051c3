/** A configured credential and the label the request log shows instead of it. */
export interface EmulatorToken {
  token: string;
  label: string;
}

export interface EmulatorOptions {
  /** Interface to bind; default '127.0.0.1'. */
  host?: string;
  /** Port to bind; default 0 (any free port). */
  port?: number;
  /** Accepted credentials. Plain strings get labels 'token-1', 'token-2', ... in order. None: any non-empty credential. */
  tokens?: Array<string | EmulatorToken>;
  /** SQLite file that keeps state across restarts; default in memory. */
  dbPath?: string;
  /** How long a repeated request answers "Request already received." (rules in dedup.ts); default 300000 (5 minutes), 0 disables. */
  dedupWindowMs?: number;
  /** The clock for the dedup window and the times the emulator records; default the system clock. Tests move it by hand. */
  now?: () => Date;
  /**
   * How many requests the request log keeps, newest first; older ones are dropped and counted in
   * `requestsDropped`. Users and events are the state and are never dropped. Default 10000.
   */
  maxRequests?: number;
  /** Receives one line per Vero request; never contains a credential. */
  log?: (line: string) => void;
}

export interface EmulatorUser {
  id: string;
  email: string | null;
  data: Record<string, unknown>;
  tags: string[];
  unsubscribed: boolean;
  created_at: string;
  updated_at: string;
}

export interface EmulatorEvent {
  seq: number;
  identity: { id?: string; email?: string };
  /** As sent; dedup compares the normalised form. */
  event_name: string;
  data: Record<string, unknown>;
  extras: Record<string, unknown>;
  received_at: string;
}

export interface EmulatorRequest {
  seq: number;
  method: string;
  /** Path without the query string (the query string may carry the credential). */
  path: string;
  /** Spec path such as '/users/track' (no '.json'); null when the path is not a Vero endpoint. */
  endpoint: string | null;
  /** null when the request was dropped or left hanging by a fault. */
  status: number | null;
  message: string | null;
  /** Label of the matched token; null when none was sent, 'unknown' when it matched none, 'any' with no tokens configured. */
  token: string | null;
  /** Parsed body with the credential fields removed; null when unreadable. */
  body: unknown;
  received_at: string;
}

export interface EmulatorState {
  users: EmulatorUser[];
  events: EmulatorEvent[];
  /** The request log: its newest `maxRequests` entries, oldest first. */
  requests: EmulatorRequest[];
  /** Requests dropped from the log's oldest end to keep it at `maxRequests` (0 until it is full). */
  requestsDropped: number;
}

/** A scripted failure, consumed by matching Vero requests (see POST /_emulator/faults). */
export interface EmulatorFault {
  endpoint?: string;
  method?: string;
  status?: number;
  retryAfter?: string;
  body?: unknown;
  latencyMs?: number;
  drop?: boolean;
  hang?: boolean;
  count?: number;
  forever?: boolean;
}

export interface RunningEmulator {
  /** API base, e.g. http://127.0.0.1:PORT/api/v2 */
  url: string;
  /** e.g. http://127.0.0.1:PORT */
  origin: string;
  /** origin + '/_emulator/' */
  inspectorUrl: string;
  port: number;
  /** Same as GET /_emulator/state, synchronous. */
  state(): EmulatorState;
  /** Clears users, events, requests, dedup memory and faults. */
  reset(): void;
  /** Stops serving, closes keep-alive sockets and the database. */
  close(): Promise<void>;
}
