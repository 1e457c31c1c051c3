import type { Readable, Writable } from 'node:stream';
import type { Runtime } from '../runtime/runtime.js';
import { LineTransport } from './line-transport.js';
import { createMcpServer, type McpServerOptions } from './server.js';

export interface StdioOptions extends McpServerOptions {
  /** Where requests come from (default: process.stdin); serving ends when it ends. */
  input?: Readable;
  /** Where answers go (default: process.stdout); it carries nothing but the protocol. */
  output?: Writable;
  /** Stops serving when aborted. Without one, SIGINT and SIGTERM stop it. */
  signal?: AbortSignal;
}

/**
 * Serves MCP on stdin/stdout (or the given streams) until the client closes the input (or the signal: by default
 * SIGINT/SIGTERM), then closes the server. stdout carries only the protocol; `options.log` should write to stderr.
 */
export async function serveStdio(runtime: Runtime, options: StdioOptions = {}): Promise<void> {
  const { input = process.stdin, output = process.stdout, signal, ...serverOptions } = options;
  const inFlight = new Set<Promise<unknown>>();
  const server = createMcpServer(runtime, {
    ...serverOptions,
    track(call) {
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    },
  });
  const stopped = new Promise<string>((resolve) => {
    input.once('end', () => resolve('stdin closed'));
    input.once('close', () => resolve('stdin closed'));
    // A client that vanishes mid-write gives EPIPE on stdout: stop instead of crashing.
    output.once('error', () => resolve('stdout closed'));
    if (signal) signal.addEventListener('abort', () => resolve(String(signal.reason)), { once: true });
    else for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => resolve(name));
  });
  await server.connect(new LineTransport(input, output));
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
