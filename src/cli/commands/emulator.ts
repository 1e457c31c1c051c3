import type { Command } from 'commander';
import { DEFAULT_DEDUP_WINDOW_MS, startEmulator } from '../../emulator/index.js';
import { UsageError } from '../output.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerEmulator(program: Command): void {
  program
    .command('emulator')
    .description('serve a local Vero-compatible Track API until stopped (Ctrl-C)')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '0')
    .option(
      '--token <token>',
      'accepted credential (repeatable); none: any non-empty credential',
      collect,
      [],
    )
    .option('--db <file>', 'SQLite file that keeps state across restarts (default: in memory)')
    .option(
      '--dedup-window <ms>',
      'how long a repeated request answers "Request already received." (0: never)',
      String(DEFAULT_DEDUP_WINDOW_MS),
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
        host: string;
        port: string;
        token: string[];
        db?: string;
        dedupWindow: string;
        quiet?: boolean;
      }) => {
        const port = Number(flags.port);
        const dedupWindowMs = Number(flags.dedupWindow);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new UsageError(`--port: not a port: ${flags.port}`);
        if (!Number.isFinite(dedupWindowMs) || dedupWindowMs < 0) {
          throw new UsageError(`--dedup-window: expected milliseconds >= 0, got ${flags.dedupWindow}`);
        }
        const emulator = await startEmulator({
          host: flags.host,
          port,
          tokens: flags.token,
          dbPath: flags.db,
          dedupWindowMs,
          log: flags.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(`${emulator.url}\ninspector: ${emulator.inspectorUrl}\n`);
        await new Promise<void>((resolve) => {
          for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
        });
        await emulator.close();
      },
    );
}
