/** startEmulator: a Vero Track API v2 look-alike on node:http, state in memory (and in a SQLite file if asked). */
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mediaType, type Params, type ParsedBody, parseBody } from './body.js';
import {
  type CredentialMatch,
  findCredential,
  matchCredential,
  normaliseTokens,
  withoutCredential,
} from './credential.js';
import { DEFAULT_DEDUP_WINDOW_MS, DedupWindow, dedupKey } from './dedup.js';
import { ENDPOINT_METHODS, type Endpoint, endpointOf } from './endpoints.js';
import { EmulatorError } from './errors.js';
import { FaultQueue } from './faults.js';
import { BodyTooLarge, readBody, sendJson } from './http.js';
import { createInspector, handleInspector, INSPECTOR_PREFIX } from './inspector.js';
import { decodeJsonText } from './json-text.js';
import { MULTIPART, parseMultipart } from './multipart.js';
import { applyOperation } from './operations.js';
import { DEFAULT_MAX_REQUESTS } from './request-log.js';
import { EmulatorStore, type NewRequest } from './store.js';
import type { EmulatorFault, EmulatorOptions, EmulatorState, RunningEmulator } from './types.js';
import { validate } from './validate.js';

const SUCCESS = 'Success.';
const ALREADY_RECEIVED = 'Request already received.';
const UNAUTHORIZED = 'Unauthorized';

interface Outcome {
  status: number;
  message: string;
}

/** What the request log keeps of every Vero request, whatever its answer. */
type Received = Omit<NewRequest, 'status' | 'message'>;

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const tokens = normaliseTokens(options.tokens);
  const windowMs = options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS;
  if (!Number.isFinite(windowMs) || windowMs < 0) {
    throw new EmulatorError('emulator_bad_option', 'dedupWindowMs: must be a number of milliseconds >= 0.');
  }
  const maxRequests = options.maxRequests ?? DEFAULT_MAX_REQUESTS;
  if (!Number.isSafeInteger(maxRequests) || maxRequests < 1) {
    throw new EmulatorError(
      'emulator_bad_option',
      `maxRequests: must be a whole number of requests >= 1 (got ${maxRequests}).`,
    );
  }
  const log = options.log;
  const now = options.now;
  // The clock in epoch ms; the system's is read without making a Date (two per request showed in profiles).
  const nowMs: () => number = now === undefined ? Date.now : () => now().getTime();
  const dbPath = options.dbPath;
  // SQLite only for a file: better-sqlite3 is not even loaded otherwise.
  const file =
    dbPath === undefined || dbPath === ':memory:'
      ? undefined
      : new (await import('./state-file.js')).StateFile(dbPath, maxRequests);
  const store = new EmulatorStore(file, maxRequests);
  const dedup = new DedupWindow(windowMs);
  const faults = new FaultQueue();
  const pendingSleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let closed = false;
  // Bumped on every change to the state; lets the inspector page skip work when nothing happened.
  let revision = 0;

  const state = (): EmulatorState => store.state();
  const reset = (): void => {
    revision += 1;
    store.clear();
    dedup.clear();
    faults.clear();
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          pendingSleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      pendingSleeps.add(entry);
    });

  /** Logs a Vero request with its answer; `outcome` null when it got none (a dropped or hanging fault). */
  const record = (received: Received, outcome: Outcome | null) => {
    const row: NewRequest = {
      method: received.method,
      path: received.path,
      endpoint: received.endpoint,
      status: outcome === null ? null : outcome.status,
      message: outcome === null ? null : outcome.message,
      token: received.token,
      body: received.body,
      receivedAt: received.receivedAt,
    };
    store.insertRequest(row);
    revision += 1;
    if (log === undefined) return;
    const answered = outcome === null ? 'no answer' : `${outcome.status} ${outcome.message}`;
    log(`${row.method} ${row.path} -> ${answered} (token: ${row.token ?? 'none'})`);
  };

  async function handleVero(
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
    query: URLSearchParams,
  ) {
    const receivedAt = nowMs();
    const method = req.method ?? 'GET';
    const endpoint = endpointOf(pathname);
    const raw = await readBody(req);
    const contentType = req.headers['content-type'];
    const type = mediaType(contentType);
    const parsed =
      type === MULTIPART ? await parseMultipart(raw, contentType as string) : parseBody(raw, type);
    const params: Params | null = parsed.ok ? parsed.params : null;
    const credential = matchCredential(findCredential(params, query), tokens);
    const body = params === null ? null : withoutCredential(params);
    const received: Received = {
      method,
      path: pathname,
      endpoint,
      token: credential.label,
      body,
      receivedAt,
    };

    if (endpoint === null || !ENDPOINT_METHODS[endpoint].includes(method)) {
      const message =
        endpoint === null
          ? `Not found: no Vero endpoint at ${pathname}.`
          : `Not found: ${endpoint} takes ${ENDPOINT_METHODS[endpoint].join(' or ')}, not ${method}.`;
      record(received, { status: 404, message });
      return sendJson(res, 404, { status: 404, message });
    }

    const fault = faults.take(endpoint, method);
    if (fault !== null) {
      if (fault.latencyMs !== undefined && fault.latencyMs > 0) await sleep(fault.latencyMs);
      if (closed) return void req.socket.destroy();
      if (fault.drop || fault.hang) {
        record(received, null);
        if (fault.drop) req.socket.destroy();
        return; // hang: never answer; close() or the client ends the socket
      }
      if (fault.status !== undefined) return answerFault(res, fault, (o) => record(received, o));
    }

    const outcome = answer(endpoint, parsed, body, credential);
    record(received, outcome);
    sendJson(res, outcome.status, { status: outcome.status, message: outcome.message });
  }

  /**
   * Everything after routing and faults; applies the operation and the dedup memory in one go. `body` is the
   * parameters without the credential.
   */
  function answer(
    endpoint: Endpoint,
    parsed: ParsedBody,
    body: Params | null,
    credential: CredentialMatch,
  ): Outcome {
    // Vero has been seen to answer 400 (not 401) to a bad credential with a malformed body.
    if (!parsed.ok || body === null)
      return { status: 400, message: parsed.ok ? 'Malformed body.' : parsed.message };
    if (endpoint === '/heartbeat') return { status: 200, message: SUCCESS };
    if (credential.kind !== 'accepted') return { status: 401, message: UNAUTHORIZED };
    const decoded = decodeJsonText(body);
    if (!decoded.ok) return { status: 400, message: decoded.message };
    const checked = validate(endpoint, decoded.params);
    if (!checked.ok) return { status: 400, message: checked.message };
    const at = nowMs();
    // With the window off (--dedup-window 0, as benchmarks run) there is no key to hash.
    const key = windowMs > 0 ? dedupKey(credential.secret, endpoint, decoded.params, checked.op) : null;
    if (key !== null && dedup.isDuplicate(key, at)) return { status: 200, message: ALREADY_RECEIVED };
    store.transaction(() => applyOperation(store, checked.op, at));
    if (key !== null) dedup.record(key, at);
    return { status: 200, message: SUCCESS };
  }

  const inspector = createInspector({ state, reset, faults, revision: () => revision, store });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const pathname = url.pathname;
    if (pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      // A person who opens the bare address in a browser wants the inspector, not a Vero 404.
      res.writeHead(302, { location: `${INSPECTOR_PREFIX}/`, 'content-type': 'text/plain; charset=utf-8' });
      res.end(
        `This is a Vero emulator: the Track API is under /api/v2, the inspector at ${INSPECTOR_PREFIX}/\n`,
      );
      return;
    }
    const work =
      pathname === INSPECTOR_PREFIX || pathname.startsWith(`${INSPECTOR_PREFIX}/`)
        ? handleInspector(req, res, url, inspector)
        : handleVero(req, res, pathname, url.searchParams);
    work.catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (error instanceof BodyTooLarge) {
        sendJson(res, 413, { status: 413, message: 'Request body too large (limit 1 MiB).' });
        return;
      }
      log?.(
        `internal error on ${req.method} ${pathname}: ${error instanceof Error ? error.message : String(error)}`,
      );
      sendJson(res, 500, { status: 500, message: 'Emulator internal error.' });
    });
  });
  // Benchmarks reuse connections: keep them open well past a pause between phases.
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: `${origin}/api/v2`,
    origin,
    inspectorUrl: `${origin}${INSPECTOR_PREFIX}/`,
    port,
    state,
    reset,
    async close() {
      if (closed) return;
      closed = true;
      for (const entry of pendingSleeps) {
        clearTimeout(entry.timer);
        entry.resolve();
      }
      pendingSleeps.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      store.close();
    },
  };
}

function answerFault(res: ServerResponse, fault: EmulatorFault, record: (o: Outcome) => void): void {
  const status = fault.status as number;
  const message = STATUS_CODES[status] ?? 'Scripted fault';
  const headers: Record<string, string> =
    fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {};
  record({ status, message });
  sendJson(res, status, fault.body ?? { status, message }, headers);
}
