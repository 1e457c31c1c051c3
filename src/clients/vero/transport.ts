/**
 * How VeroClient puts one request on the wire. The default is `node:http` / `node:https` with module-level
 * keep-alive agents: on loopback a sequential POST costs well under half of what the global fetch (undici)
 * costs, and nothing runs on the main thread after the body has arrived. A caller-supplied `fetch` goes through
 * the same small interface, so the client's retry and error logic does not care which one is in use.
 *
 * Errors are passed on as they are (the client reduces them to scrubbed text with describeFetchFailure);
 * node:http errors never carry the request body, so the credential cannot ride along on them.
 */
import http from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';

export interface TransportRequest {
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  headers: Readonly<Record<string, string>>;
  body?: string;
  /** Deadline for the whole exchange, response body included. */
  timeoutMs: number;
}

export interface TransportResponse {
  status: number;
  headers: { retryAfter?: string };
  text: string;
}

export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** The deadline passed before the response was complete; the request has been aborted. */
export class TransportTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'TransportTimeout';
  }
}

// One pool per protocol for the whole process, so many clients (one per account) share connections per host.
// Idle keep-alive sockets are unref'd by the agent, so they never keep the process alive.
const MAX_SOCKETS_PER_HOST = 50;
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST }),
};

/** What node:http needs of a URL. */
type Target = Pick<http.RequestOptions, 'protocol' | 'hostname' | 'port' | 'path' | 'auth'>;

/**
 * Where a URL points, parsed once per URL: a client sends to a handful of URLs (its base and each operation's
 * path) over and over, and parsing each time was a visible share of a queued delivery's cost.
 */
const TARGETS = new Map<string, Target>();
const MAX_TARGETS = 256;

function targetOf(url: string): Target {
  let target = TARGETS.get(url);
  if (target === undefined) {
    if (TARGETS.size >= MAX_TARGETS) TARGETS.clear();
    const { protocol, hostname, port, path, auth } = urlToHttpOptions(new URL(url));
    target = { protocol, hostname, port, path, auth };
    TARGETS.set(url, target);
  }
  return target;
}

/** Default transport: node:http or node:https by the URL's protocol, keep-alive, one deadline timer. */
export const httpTransport: Transport = (request) =>
  new Promise((resolve, reject) => {
    const target = targetOf(request.url);
    const isHttps = target.protocol === 'https:';
    // One object made whole, not a spread of request.headers given a property afterwards: V8 (Node 20) moves
    // objects grown that way to the old generation, so every request (an import's every row) left garbage there.
    const headers: Record<string, string | number> = Object.assign(
      {},
      request.headers,
      request.body === undefined ? {} : { 'content-length': Buffer.byteLength(request.body) },
    );

    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    // Field by field: a spread of the target followed by more properties took V8 (Node 20) 1 to 7 µs a request
    // (urlToHttpOptions gives a null-prototype object in dictionary mode); this literal takes well under 0.1.
    const options: http.RequestOptions = {
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      auth: target.auth,
      method: request.method,
      headers,
      agent: isHttps ? AGENTS['https:'] : AGENTS['http:'],
    };
    const req = (isHttps ? https : http).request(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('error', fail);
      // 'close' without a complete body: the connection dropped mid-response.
      res.on('close', () => {
        if (!res.complete)
          fail(Object.assign(new Error('connection closed mid-response'), { code: 'ECONNRESET' }));
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const retryAfter = res.headers['retry-after'];
        resolve({
          status: res.statusCode ?? 0,
          headers: retryAfter === undefined ? {} : { retryAfter },
          text,
        });
      });
    });
    // A timer we clear rather than req.setTimeout: that one measures idle time, this is a total deadline.
    // Destroying the request also destroys its socket, so a hanging server leaves nothing open behind.
    const timer = setTimeout(() => {
      fail(new TransportTimeout(request.timeoutMs));
      req.destroy();
    }, request.timeoutMs);
    req.on('error', fail);
    req.end(request.body);
  });

/** A caller-supplied fetch behind the same interface (tests, proxies, custom dispatchers). */
export function fetchTransport(fetchImpl: typeof fetch): Transport {
  return async (request) => {
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
      const res = await fetchImpl(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal,
      });
      const text = await res.text();
      const retryAfter = res.headers.get('retry-after');
      return { status: res.status, headers: retryAfter === null ? {} : { retryAfter }, text };
    } catch (err) {
      // Drop the abort error: the timeout is what happened, and it carries nothing worth keeping.
      if (signal.aborted) throw new TransportTimeout(request.timeoutMs);
      throw err;
    }
  };
}
