import { runToEnd } from '../support/process.js';
import { BIN, type CliOptions, type CliResult, isolatedEnv } from './support.js';

const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), for what it does only on a TTY: prompts and
 * progress lines. stdout and stderr arrive merged in `stdout`, as a terminal shows them; `input` is typed into it.
 */
export function runOnTerminal(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return runToEnd('script', ['-qec', command, '/dev/null'], {
    env: isolatedEnv({ TERM: 'dumb', ...options.env }),
    input: options.input,
  });
}
