import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** The built CLI: tests exercise the binary people install (`npm test` builds first). */
export const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface McpSession {
  client: Client;
  /** Everything the server said: every response as JSON, and its stderr. */
  seen(): string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** Spawns `node dist/cli/main.js mcp <flags>` with `env` and connects the SDK's own client to it. */
export async function startMcp(env: Record<string, string>, flags: string[] = []): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...flags],
    env,
    stderr: 'pipe',
  });
  const transcript: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => transcript.push(chunk.toString('utf8')));
  const client = new Client({ name: 'kosmo-vero-test', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    seen: () => transcript.join('\n'),
    async call(name, args = {}) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      transcript.push(JSON.stringify(result));
      return result;
    },
    close: () => client.close(),
  };
}

/** The structured `error` of a tool error result. */
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
