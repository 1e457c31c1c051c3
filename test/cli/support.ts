import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI: tests exercise the binary people install (`npm test` builds first). */
export const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

// A home of its own, so no user config, outbox or data dir leaks into (or out of) a test run.
const HOME = mkdtempSync(join(tmpdir(), 'kosmo-vero-cli-'));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Written to stdin, which is then closed; stdin is closed empty when absent. */
  input?: string;
}

/** Only PATH and an isolated HOME (and data/config dirs), plus `env`: no user config, outbox or data leaks in. */
export const isolatedEnv = (env: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME,
  XDG_DATA_HOME: HOME,
  XDG_CONFIG_HOME: HOME,
  ...env,
});

/** Runs `command args` to completion with `isolatedEnv(env)`, collecting its output. */
export function runProcess(command: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: isolatedEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `node dist/cli/main.js ...args` to completion with only PATH, HOME and `env` in its environment. */
export const runCli = (args: string[], options: CliOptions = {}): Promise<CliResult> =>
  runProcess(process.execPath, [BIN, ...args], options);

/** stderr split into its non-empty lines. */
export const lines = (text: string): string[] => text.split('\n').filter((line) => line.length > 0);
