import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { main } from '../../src/cli/main.js';
import { LineTransport } from '../../src/mcp/line-transport.js';

export interface McpSession {
  client: Client;
  /** Everything the server said: every response as JSON, and its stderr. */
  seen(): string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/**
 * `kosmo-vero mcp <flags>` with `env`, in-process through main(), and the SDK's own client connected to it over a
 * pair of streams, one JSON-RPC message per line as on stdio. Closing the session ends the server's stdin, which
 * stops it as it stops the binary.
 */
export async function startMcp(env: Record<string, string>, flags: string[] = []): Promise<McpSession> {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const stderr = new PassThrough({ encoding: 'utf8' });
  const transcript: string[] = [];
  stderr.on('data', (chunk: string) => transcript.push(chunk));
  const exit = main(['mcp', ...flags], { stdin: toServer, stdout: fromServer, stderr, env });
  const client = new Client({ name: 'kosmo-vero-test', version: '1.0.0' });
  await client.connect(new LineTransport(fromServer, toServer));
  return {
    client,
    seen: () => transcript.join('\n'),
    async call(name, args = {}) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      transcript.push(JSON.stringify(result));
      return result;
    },
    async close() {
      await client.close();
      toServer.end();
      const code = await exit;
      if (code !== 0) throw new Error(`kosmo-vero mcp exited ${code}: ${transcript.join('\n')}`);
    },
  };
}

/** The structured `error` of a tool error result. */
/** The SDK's own Streamable HTTP client, connected to `<url>/mcp` of a `kosmo-vero serve` with a bearer token. */
export async function connectHttp(url: string, token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'kosmo-vero-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export function errorOf(result: CallToolResult): { code: string; message: string } {
  const error = (result.structuredContent as { error?: { code: string; message: string } } | undefined)
    ?.error;
  if (!error) throw new Error(`not a tool error with structured content: ${JSON.stringify(result)}`);
  return error;
}

export function textOf(result: CallToolResult): string {
  const [first] = result.content;
  if (first?.type !== 'text') throw new Error(`no text content: ${JSON.stringify(result)}`);
  return first.text;
}
