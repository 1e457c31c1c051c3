/**
 * MCP over Streamable HTTP for `kosmo-vero serve`: `POST /mcp` with a bearer token, `GET /healthz`.
 *
 * Stateless, as the SDK documents it (sessionIdGenerator undefined): every POST gets its own McpServer and transport,
 * and nothing outlives the request, so any replica behind a load balancer can answer any request. The cost is
 * building the server (a few tool registrations) per request. A stateless transport has no stream for
 * server-initiated messages, so `GET /mcp` is 405, which the SDK's client takes as "no such stream".
 *
 * node:http, not express: the SDK's Node transport converts IncomingMessage/ServerResponse itself (through
 * @hono/node-server, its own dependency) and reads and bounds the body itself, so a framework would only route two
 * paths.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Runtime } from '../runtime/runtime.js';
import { type ClientToken, type ServeClient, TokenVerifier } from './client-tokens.js';
import { MAX_LINE_BYTES } from './line-transport.js';
import { createMcpServer } from './server.js';

/** The stdio server's limit for one message applies to one request body: a bigger one is 413, unread. */
export const MAX_BODY_BYTES = MAX_LINE_BYTES;

export interface HttpServeOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  tokens: ClientToken[];
  /** Account used when a call names none; default: the default account. */
  account?: string;
  /** One line per tool call, refused request and protocol problem; names clients by label, never by token. */
  log?: (line: string) => void;
  maxBodyBytes?: number;
}

export interface HttpServer {
  /** `http://host:port`; the MCP endpoint is `${url}/mcp`. */
  url: string;
  /**
   * Stops gracefully: no new connection, 503 for a new request on an open one, every request and tool call in flight
   * finished. Resolves once nothing is left; the caller then closes the runtime.
   */
  stop(): Promise<void>;
}

const REALM = 'Bearer realm="kosmo-vero"';

/** A JSON-RPC error as the whole HTTP answer (the SDK answers its own refusals the same way). */
function refuse(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } });
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
}

/** Serves MCP over HTTP on a runtime until `stop()`. */
export async function serveHttp(runtime: Runtime, options: HttpServeOptions): Promise<HttpServer> {
  const log = options.log ?? (() => {});
  const verifier = new TokenVerifier(options.tokens);
  const maxRequestBodySize = options.maxBodyBytes ?? MAX_BODY_BYTES;
  // Requests until their response is closed, and tool calls until they settle (a call whose client went away still
  // runs to the end: its write may be on its way to Vero).
  const inFlight = new Set<Promise<unknown>>();
  const hold = (work: Promise<unknown>) => {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
  };
  let stopping = false;

  async function answerMcp(req: IncomingMessage, res: ServerResponse, client: ServeClient): Promise<void> {
    const server = createMcpServer(runtime, {
      account: options.account,
      readOnly:
        client.policy === 'read-only'
          ? `the client token "${client.label}" is read-only; ask the server's operator for a token whose policy is "full" to write`
          : undefined,
      log: (line) => log(`${client.label}: ${line}`),
      track: hold,
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      maxRequestBodySize,
    });
    // Closing the server closes its transport; a call still running goes on (see `track`), its answer unsent.
    res.once('close', () => {
      server.close().catch((error: unknown) => log(`closing a request's server: ${String(error)}`));
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') {
      // No token: a load balancer's health check has none. It says only whether to send requests here.
      res.writeHead(stopping ? 503 : 200, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
      res.end(JSON.stringify({ status: stopping ? 'stopping' : 'ok' }));
      return;
    }
    if (path !== '/mcp') return refuse(res, 404, 'Not found: the MCP endpoint is /mcp.');
    if (stopping) {
      log(`refused a request from ${req.socket.remoteAddress}: stopping`);
      return refuse(res, 503, 'Service Unavailable: this server is shutting down; send the request again.', {
        connection: 'close',
        'retry-after': '1',
      });
    }
    const client = verifier.verify(req.headers.authorization);
    if (typeof client === 'string') {
      log(`refused a request from ${req.socket.remoteAddress}: ${client} bearer token`);
      return refuse(
        res,
        401,
        `Unauthorized: ${client === 'missing' ? 'send' : 'the bearer token is not one this server knows; send'} "Authorization: Bearer <token>" with a client token of this server (KOSMO_VERO_SERVE_TOKENS or serve.tokens).`,
        { 'www-authenticate': client === 'missing' ? REALM : `${REALM}, error="invalid_token"` },
      );
    }
    if (req.method !== 'POST') {
      return refuse(res, 405, 'Method Not Allowed: this server is stateless; send each message as a POST.', {
        allow: 'POST',
      });
    }
    await answerMcp(req, res, client);
  }

  const server = createServer((req, res) => {
    hold(new Promise((resolve) => res.once('close', resolve)));
    answer(req, res).catch((error: unknown) => {
      log(`request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) refuse(res, 500, 'Internal error; see the server log.');
      else res.destroy();
    });
  });
  // Longer than a load balancer's usual idle timeout (60 s), so it never reuses a connection this side is closing
  // (its client would get a 502); headers must be allowed at least as long.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, family, port } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (inFlight.size > 0) log(`finishing ${inFlight.size} request(s) and call(s) in flight`);
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      // Keep-alive connections left open by clients are idle now: nothing is lost by closing them.
      server.closeAllConnections();
      await closed;
    },
  };
}
