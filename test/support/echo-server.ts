import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the echoed credential is spelled in the JSON text: every character `\uXXXX`, or `/` as `\/`. */
export type EchoEscape = 'unicode' | 'slash';

export interface EchoServer {
  /** API base to configure as the account's base URL. */
  url: string;
  close(): Promise<void>;
}

const escapeJson = (text: string, how: EchoEscape): string =>
  how === 'unicode'
    ? [...text].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
    : text.replaceAll('/', '\\/');

/**
 * A loopback stand-in for a Vero (or a proxy) that echoes the request's credential back in its JSON answer, written
 * with JSON escapes, so the raw response text never contains the credential but the decoded message does.
 * `field` is where the echo goes (`message`, `error`, or `detail`, which Vero's client does not read as a message).
 */
export async function startEchoServer(options: {
  status: number;
  escape: EchoEscape;
  field?: 'message' | 'error' | 'detail';
}): Promise<EchoServer> {
  const field = options.field ?? 'message';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let token = '';
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        token = String(body.auth_token ?? body.tracking_api_key ?? '');
      } catch {
        // heartbeat: no body, and nothing to echo but the path
      }
      const text = `{"status":${options.status},"${field}":"bad auth_token ${escapeJson(token, options.escape)}"}`;
      res.writeHead(options.status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v2`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
