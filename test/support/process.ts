import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/** The one way tests start another process: the built CLI, a fixture, npm. */
export interface LaunchOptions {
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Leave stdin open for the test to write to (`proc.stdin`); `input` is ignored. */
  keepStdin?: boolean;
}

export interface Launched {
  proc: ChildProcessWithoutNullStreams;
  /** stdout's complete lines so far. */
  lines: string[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line that passes `test`; rejects if the process exits first. */
  waitForLine(test: (line: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function launch(command: string, args: string[], options: LaunchOptions = {}): Launched {
  const proc = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let stdout = '';
  let stderr = '';
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // A child that exits before reading its input must not fail the test with EPIPE: its exit code tells.
  proc.stdin.on('error', () => {});
  if (!options.keepStdin) proc.stdin.end(options.input ?? '');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    proc,
    lines,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForLine(test) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const listener = (line: string) => {
          if (!test(line)) return;
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
        void exited.then(() => {
          if (listeners.delete(listener)) reject(new Error(`${command} exited first; stderr: ${stderr}`));
        });
      });
    },
  };
}

/** Runs `command args` to completion, collecting its output. */
export async function runToEnd(
  command: string,
  args: string[],
  options: LaunchOptions = {},
): Promise<Finished> {
  const child = launch(command, args, options);
  const { code, signal } = await child.exited;
  return { code, signal, stdout: child.stdout(), stderr: child.stderr() };
}
