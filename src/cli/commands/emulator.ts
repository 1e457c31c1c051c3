import type { Command } from 'commander';
// The constant alone: the emulator itself is loaded when the command runs, not for --help.
import { DEFAULT_DEDUP_WINDOW_MS } from '../../emulator/dedup.js';
import { DEFAULT_MAX_REQUESTS } from '../../emulator/request-log.js';
import type { Cli } from '../io.js';
import { listenFailure, portOption } from '../listen-options.js';
import { UsageError } from '../output.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A port in use or a --db file that cannot be opened, said in terms of the flag to change. */
function startFailure(
  error: NodeJS.ErrnoException,
  flags: { host: string; port?: string; db?: string },
): Error {
  const listen = listenFailure(error, flags);
  if (listen) return listen;
  if (flags.db !== undefined && error.syscall !== 'listen') {
    return new UsageError(
      `--db ${flags.db}: cannot open it as an SQLite file (${error.message}); check the directory exists and is writable`,
    );
  }
  return error;
}

export function registerEmulator(program: Command, cli: Cli): void {
  program
    .command('emulator')
    .description('serve a local Vero-compatible Track API until stopped (Ctrl-C)')
    .option('--host <host>', 'interface to bind (default: 127.0.0.1)')
    .option('--port <port>', 'port (default: a free one)')
    .option('--token <token>', 'accepted credential (repeatable; default: any non-empty credential)', collect)
    .option('--db <file>', 'SQLite file that keeps state across restarts (default: in memory)')
    .option(
      '--dedup-window <ms>',
      `how long a repeated request answers "Request already received." (default: ${DEFAULT_DEDUP_WINDOW_MS}; 0: never)`,
    )
    .option(
      '--max-requests <n>',
      `how many requests the request log keeps, oldest dropped first (default: ${DEFAULT_MAX_REQUESTS}; users and events are kept whole)`,
    )
    .option('--quiet', 'do not log requests on stderr')
    .addHelpText(
      'after',
      `
The first line of stdout is the API base URL; the second, the inspector page.

Examples:
  kosmo-vero emulator --port 8787
  kosmo-vero emulator --token my-test-token --db vero.db
  VERO_BASE_URL=http://127.0.0.1:8787/api/v2 VERO_AUTH_TOKEN=my-test-token kosmo-vero call vero.get_current_user`,
    )
    .action(
      async (flags: {
        host?: string;
        port?: string;
        token?: string[];
        db?: string;
        dedupWindow?: string;
        maxRequests?: string;
        quiet?: boolean;
      }) => {
        const host = flags.host ?? '127.0.0.1';
        const port = portOption(flags.port);
        const dedupWindowMs = Number(flags.dedupWindow ?? DEFAULT_DEDUP_WINDOW_MS);
        if (!Number.isFinite(dedupWindowMs) || dedupWindowMs < 0) {
          throw new UsageError(`--dedup-window: expected milliseconds >= 0, got ${flags.dedupWindow}`);
        }
        const { startEmulator } = await import('../../emulator/index.js');
        const maxRequests = Number(flags.maxRequests ?? DEFAULT_MAX_REQUESTS);
        if (!Number.isSafeInteger(maxRequests) || maxRequests < 1) {
          throw new UsageError(`--max-requests: expected a whole number >= 1, got ${flags.maxRequests}`);
        }
        const emulator = await startEmulator({
          host,
          port,
          tokens: flags.token ?? [],
          dbPath: flags.db,
          dedupWindowMs,
          maxRequests,
          log: flags.quiet ? undefined : (line) => cli.err(`${line}\n`),
        }).catch((error: NodeJS.ErrnoException) => {
          throw startFailure(error, { ...flags, host });
        });
        // Listening before the URL is out: whoever reads it may send SIGTERM at once.
        const stopped = cli.stopped();
        cli.out(`${emulator.url}\n${emulator.inspectorUrl}\n`);
        await stopped;
        await emulator.close();
      },
    );
}
