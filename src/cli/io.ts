import type { Readable, Writable } from 'node:stream';
import { toErrorInfo } from '../errors.js';
import { terminalSafe } from './output.js';

/** Where a command writes: a process's stdout/stderr, or any writable stream (tests collect into one). */
export type CliOutput = Writable & { isTTY?: boolean };

/** Everything the CLI takes from the world outside; `main` reads nothing else (no process.argv, env or stdio). */
export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  stdin: Readable & { isTTY?: boolean };
  /** Accounts, `KOSMO_VERO_OUTBOX` and the rest of the environment the commands read. */
  env: Record<string, string | undefined>;
  /**
   * Stops the commands that serve until stopped (`emulator`, `mcp`, `run --keep`). The binary aborts it on
   * SIGINT/SIGTERM; absent, they serve until their input ends (mcp) or forever.
   */
  signal?: AbortSignal;
}

/** One CLI invocation: its io and the exit code its command settles on. */
export class Cli {
  exitCode = 0;

  constructor(readonly io: CliIo) {}

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  json(value: unknown): void {
    this.out(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One clear line on stderr. */
  error(error: unknown): void {
    this.err(`kosmo-vero: ${terminalSafe(toErrorInfo(error).message.replace(/\s*\n\s*/g, ' '))}\n`);
  }

  /** Resolves when io.signal is aborted; never when there is none. */
  stopped(): Promise<void> {
    const { signal } = this.io;
    return new Promise((resolve) => {
      if (signal?.aborted) resolve();
      else signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}
