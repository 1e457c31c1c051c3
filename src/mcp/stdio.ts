import type { Runtime } from '../runtime/runtime.js';
import { LineTransport } from './line-transport.js';
import { createMcpServer, type McpServerOptions } from './server.js';

/**
 * Serves MCP on this process's stdin/stdout until the client closes stdin (or SIGINT/SIGTERM), then closes the
 * server. stdout carries only the protocol; `options.log` should write to stderr.
 */
export async function serveStdio(runtime: Runtime, options: McpServerOptions = {}): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  const server = createMcpServer(runtime, {
    ...options,
    track(call) {
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    },
  });
  const stopped = new Promise<string>((resolve) => {
    process.stdin.once('end', () => resolve('stdin closed'));
    process.stdin.once('close', () => resolve('stdin closed'));
    // A client that vanishes mid-write gives EPIPE on stdout: stop instead of crashing.
    process.stdout.once('error', () => resolve('stdout closed'));
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
  await server.connect(new LineTransport());
  const reason = await stopped;
  // A client that sends its requests and closes stdin (`... | kosmo-vero mcp`) still gets every answer; a signal
  // stops at once.
  if (reason === 'stdin closed' && inFlight.size > 0) {
    options.log?.(`stdin closed: finishing ${inFlight.size} call(s) in flight`);
    await Promise.allSettled(inFlight);
    // The SDK writes the response a few promise steps after the handler settles.
    await new Promise((resolve) => setImmediate(resolve));
  }
  options.log?.(`stopping: ${reason}`);
  await server.close();
}
