/**
 * MCP over stdio, one JSON-RPC message per line, that answers every line it cannot take instead of dropping it.
 *
 * Why not the SDK's StdioServerTransport: on a line over its 10 MiB buffer it closes the transport (the server stops
 * reading and the process exits with nothing said), and a line that is JSON but not a valid JSON-RPC message (e.g.
 * `tools/call` with `params: "x"`) only reaches `onerror`, so the client waits forever. Here an over-long line is
 * skipped as it streams in (never buffered past the limit) and answered with an Invalid Request error; a line that is
 * not JSON gets a Parse error; a malformed message gets Invalid Request or Invalid Params with its id when it has one.
 */
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';

/** The SDK's own limit for one message; a bigger line is refused, not read. */
export const MAX_LINE_BYTES = 10 * 1024 * 1024;

type RequestId = string | number | null;

const NEWLINE = 0x0a;

export class LineTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Inside a line already over the limit: its bytes are dropped until its newline. */
  private skipping = false;
  private readonly ondata = (chunk: Buffer) => this.take(chunk);
  private readonly onstreamerror = (error: Error) => this.onerror?.(error);

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
    private readonly maxLineBytes = MAX_LINE_BYTES,
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.ondata);
    this.input.on('error', this.onstreamerror);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    this.input.off('data', this.ondata);
    this.input.off('error', this.onstreamerror);
    if (this.input.listenerCount('data') === 0) this.input.pause();
    this.chunks = [];
    this.buffered = 0;
    this.onclose?.();
  }

  private take(chunk: Buffer): void {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      this.append(chunk.subarray(start, end));
      this.endLine();
      start = end + 1;
    }
    this.append(chunk.subarray(start));
  }

  private append(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    if (this.buffered + part.length > this.maxLineBytes) {
      this.skipping = true;
      this.chunks = [];
      this.buffered = 0;
      return;
    }
    this.chunks.push(part);
    this.buffered += part.length;
  }

  private endLine(): void {
    if (this.skipping) {
      this.skipping = false;
      this.refuse(
        null,
        ErrorCode.InvalidRequest,
        `Invalid Request: a message over ${this.maxLineBytes} bytes was dropped unread; send smaller messages (a script or an argument that big is refused anyway).`,
      );
      return;
    }
    const line = Buffer.concat(this.chunks).toString('utf8').trim();
    this.chunks = [];
    this.buffered = 0;
    if (line !== '') this.handle(line);
  }

  private handle(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.refuse(
        null,
        ErrorCode.ParseError,
        'Parse error: the line is not valid JSON; send one JSON-RPC message per line.',
      );
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (parsed.success) {
      this.onmessage?.(parsed.data);
      return;
    }
    const message = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const id = typeof message.id === 'string' || typeof message.id === 'number' ? message.id : null;
    const params = message.params;
    if (
      typeof message.method === 'string' &&
      params !== undefined &&
      (typeof params !== 'object' || params === null || Array.isArray(params))
    ) {
      this.refuse(
        id,
        ErrorCode.InvalidParams,
        `Invalid params: "${message.method}" takes params as a JSON object.`,
      );
      return;
    }
    this.refuse(
      id,
      ErrorCode.InvalidRequest,
      'Invalid Request: not a JSON-RPC 2.0 message ({"jsonrpc": "2.0", "id", "method", "params"}).',
    );
  }

  private refuse(id: RequestId, code: number, message: string): void {
    this.onerror?.(new Error(message));
    // JSON-RPC answers a message it could not read with id null; our typed message shape has no room for that.
    const answer = { jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage;
    void this.send(answer);
  }
}
