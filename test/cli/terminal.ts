import { BIN, type CliOptions, type CliResult, runProcess } from './support.js';

const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), for what it does only on a TTY: prompts and
 * progress lines. stdout and stderr arrive merged in `stdout`, as a terminal shows them; `input` is typed into it.
 */
export function runOnTerminal(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return runProcess('script', ['-qec', command, '/dev/null'], {
    ...options,
    env: { TERM: 'dumb', ...options.env },
  });
}
