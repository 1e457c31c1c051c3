import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Runtime } from '../integration/runtime.js';
import { createMcpServer, type McpServerOptions } from './server.js';

/**
 * Serves MCP on this process's stdin/stdout until the client closes stdin (or SIGINT/SIGTERM), then closes the
 * server. stdout carries only the protocol; `options.log` should write to stderr.
 */
export async function serveStdio(runtime: Runtime, options: McpServerOptions = {}): Promise<void> {
  const server = createMcpServer(runtime, options);
  const stopped = new Promise<string>((resolve) => {
    process.stdin.once('end', () => resolve('stdin closed'));
    process.stdin.once('close', () => resolve('stdin closed'));
    // A client that vanishes mid-write gives EPIPE on stdout: stop instead of crashing.
    process.stdout.once('error', () => resolve('stdout closed'));
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
  await server.connect(new StdioServerTransport());
  const reason = await stopped;
  options.log?.(`stopping: ${reason}`);
  await server.close();
}
