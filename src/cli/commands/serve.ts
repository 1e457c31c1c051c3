import type { Command } from 'commander';
import { readRuntimeConfig } from '../../runtime/config.js';
import { listenFailure, portOption } from '../listen-options.js';
import { terminalSafe } from '../output.js';
import { openRuntime, type RuntimeFlags } from '../runtime-options.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

interface ServeFlags extends RuntimeFlags {
  host?: string;
  port?: string;
  quiet?: boolean;
}

export function registerServe(program: Command): void {
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
        : (line: string) => process.stderr.write(`kosmo-vero serve: ${terminalSafe(line)}\n`);
      const host = flags.host ?? '127.0.0.1';
      const port = portOption(flags.port);
      // The MCP SDK is heavy to load: only the commands that serve pay for it.
      const { clientTokens, serveHttp } = await import('../../mcp/index.js');
      const config = flags.config === undefined ? undefined : readRuntimeConfig(flags.config);
      const tokens = clientTokens(process.env, config);
      const { runtime, emulator, close } = await openRuntime(flags);
      try {
        if (flags.account !== undefined) runtime.checkAccount(flags.account);
        const server = await serveHttp(runtime, { host, port, tokens, account: flags.account, log }).catch(
          (error: NodeJS.ErrnoException) => {
            throw listenFailure(error, { host, port: flags.port }) ?? error;
          },
        );
        const stopped = new Promise<string>((resolve) => {
          const stop = (signal: NodeJS.Signals) => {
            // A second signal does not wait for the calls in flight: the default handler ends the process.
            for (const each of SIGNALS) process.off(each, stop);
            resolve(signal);
          };
          for (const each of SIGNALS) process.on(each, stop);
        });
        process.stdout.write(`${server.url}\n`);
        const accounts = runtime.accounts().map((a) => `${a.integration}.${a.name}`);
        log?.(
          `serving ${runtime.toolDefinitions().length} tools at ${server.url}/mcp to ${tokens.length} client token(s) (${tokens.map((t) => `${t.label}${t.policy === 'read-only' ? ' read-only' : ''}`).join(', ')}); accounts: ${accounts.join(', ') || 'none (see kosmo-vero accounts list)'}${emulator ? `; emulator at ${emulator.url}` : ''}${flags.readOnly ? '; read-only' : ''}${flags.dryRun ? '; dry-run' : ''}`,
        );
        const reason = await stopped;
        log?.(`stopping: ${reason}`);
        await server.stop();
      } finally {
        await close();
      }
      log?.('stopped');
    });
}
