import { spawn } from 'node:child_process';
import { BIN, type CliOptions, type CliResult, HOME } from './support.js';

const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), for what it does only on a TTY: prompts and
 * progress lines. stdout and stderr arrive merged, as a terminal shows them; `input` is typed into it.
 */
export function runOnTerminal(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, BIN, ...args].map(quote).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME,
        XDG_DATA_HOME: HOME,
        XDG_CONFIG_HOME: HOME,
        TERM: 'dumb',
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
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
