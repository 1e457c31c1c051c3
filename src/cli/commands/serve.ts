import type { Command } from 'commander';
import type { Cli } from '../io.js';
import { listenFailure, portOption } from '../listen-options.js';
import { terminalSafe } from '../output.js';
import { openRuntime, type RuntimeFlags } from '../runtime-options.js';

interface ServeFlags extends RuntimeFlags {
  host?: string;
  port?: string;
  quiet?: boolean;
}

export function registerServe(program: Command, cli: Cli): void {
  program
    .command('serve')
    .description(
      'serve the integrations’ tools over the network: MCP over Streamable HTTP at /mcp, with bearer tokens',
    )
    .option('--host <host>', 'interface to bind (default: 127.0.0.1; 0.0.0.0 for every interface)')
    .option('--port <port>', 'port (default: a free one)')
    .option('--config <file>', 'JSON config file with accounts, permissions and serve.tokens')
    .option('--account <name>', 'account used when a call names none (default: the default account)')
    .option('--dry-run', 'validate and show the requests that would be sent; send nothing')
    .option('--read-only', 'deny every function that changes data, whatever the client token')
    .option(
      '--delivery <mode>',
      'direct (send now) or queued (commit to the outbox, deliver in the background)',
    )
    .option('--outbox <file>', 'outbox for queued delivery (env KOSMO_VERO_OUTBOX)')
    .option('--emulator', 'start an embedded Vero emulator and point every account at it')
    .option(
      '--request-timeout <ms>',
      'give up on one HTTP request to Vero after this long (config requestTimeoutMs; default 30000)',
    )
    .option('--quiet', 'log nothing on stderr')
    .addHelpText(
      'after',
      `
The first line of stdout is the base URL; MCP clients connect to <base URL>/mcp with
"Authorization: Bearer <token>". GET /healthz needs no token and answers {"status":"ok"} (503 while stopping).
Client tokens: KOSMO_VERO_SERVE_TOKENS (comma-separated, full access), KOSMO_VERO_SERVE_READ_ONLY_TOKENS, or
serve.tokens in the --config file: [{ "token": "...", "label": "ci", "policy": "read-only" }]. Logs name a
client by its label (env-1, read-only-1 for the variables), never by its token.
SIGTERM or SIGINT: stop accepting, finish the requests and tool calls in flight, close the outbox, exit 0;
a second signal ends it at once.

Examples:
  KOSMO_VERO_SERVE_TOKENS=$(openssl rand -hex 32) VERO_AUTH_TOKEN=... kosmo-vero serve --port 8080
  KOSMO_VERO_SERVE_TOKENS=... kosmo-vero serve --emulator      # try it against a local emulator
MCP client config: { "type": "http", "url": "http://127.0.0.1:8080/mcp", "headers": { "Authorization": "Bearer ..." } }`,
    )
    .action(async (flags: ServeFlags) => {
      const log = flags.quiet
        ? undefined
        : (line: string) => cli.err(`kosmo-vero serve: ${terminalSafe(line)}\n`);
      const host = flags.host ?? '127.0.0.1';
      const port = portOption(flags.port);
      // The MCP SDK is heavy to load: only the commands that serve pay for it.
      const [{ clientTokens, serveHttp }, { toolDefinitions }, { readRuntimeConfig }] = await Promise.all([
        import('../../mcp/index.js'),
        import('../../index.js'),
        import('../../runtime/config.js'),
      ]);
      const config = flags.config === undefined ? undefined : readRuntimeConfig(flags.config);
      const tokens = clientTokens(cli.io.env, config);
      const { runtime, emulator, close } = await openRuntime(cli, flags);
      try {
        if (flags.account !== undefined) runtime.checkAccount(flags.account);
        const server = await serveHttp(runtime, { host, port, tokens, account: flags.account, log }).catch(
          (error: NodeJS.ErrnoException) => {
            throw listenFailure(error, { host, port: flags.port }) ?? error;
          },
        );
        // Listening before the URL is out: whoever reads it may send SIGTERM at once. A second signal does not wait
        // for the calls in flight: the binary leaves it to the default handler, which ends the process.
        const stopped = cli.stopped();
        cli.out(`${server.url}\n`);
        const accounts = runtime.accounts().map((a) => `${a.integration}.${a.name}`);
        log?.(
          `serving ${toolDefinitions(runtime).length} tools at ${server.url}/mcp to ${tokens.length} client token(s) (${tokens.map((t) => `${t.label}${t.policy === 'read-only' ? ' read-only' : ''}`).join(', ')}); accounts: ${accounts.join(', ') || 'none (see kosmo-vero accounts list)'}${emulator ? `; emulator at ${emulator.url}` : ''}${flags.readOnly ? '; read-only' : ''}${flags.dryRun ? '; dry-run' : ''}`,
        );
        await stopped;
        log?.(`stopping: ${String(cli.io.signal?.reason ?? 'stopped')}`);
        await server.stop();
      } finally {
        await close();
      }
      log?.('stopped');
    });
}
