import type { Command } from 'commander';
import { DEFAULT_DEDUP_WINDOW_MS, startEmulator } from '../../emulator/index.js';
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

export function registerEmulator(program: Command): void {
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
        quiet?: boolean;
      }) => {
        const host = flags.host ?? '127.0.0.1';
        const port = portOption(flags.port);
        const dedupWindowMs = Number(flags.dedupWindow ?? DEFAULT_DEDUP_WINDOW_MS);
        if (!Number.isFinite(dedupWindowMs) || dedupWindowMs < 0) {
          throw new UsageError(`--dedup-window: expected milliseconds >= 0, got ${flags.dedupWindow}`);
        }
        const emulator = await startEmulator({
          host,
          port,
          tokens: flags.token ?? [],
          dbPath: flags.db,
          dedupWindowMs,
          log: flags.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
        }).catch((error: NodeJS.ErrnoException) => {
          throw startFailure(error, { ...flags, host });
        });
        process.stdout.write(`${emulator.url}\n${emulator.inspectorUrl}\n`);
        await new Promise<void>((resolve) => {
          for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
        });
        await emulator.close();
      },
    );
}
