import type { Command } from 'commander';
import { openRuntime, type RuntimeFlags } from '../runtime-options.js';

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description(
      'serve the Vero tools to an MCP client over stdio (stdout is the protocol; logs go to stderr)',
    )
    .option('--config <file>', 'JSON config file with accounts and permissions')
    .option('--account <name>', 'account used when a call names none (default: the default account)')
    .option('--dry-run', 'validate and show the requests that would be sent; send nothing')
    .option('--read-only', 'deny every function that changes data')
    .option('--emulator', 'start an embedded Vero emulator and point every account at it')
    .option('--quiet', 'log nothing on stderr')
    .addHelpText(
      'after',
      `
Tools: execute_lua, lua_read_doc, lua_list_docs, lua_search_docs, and one per function (vero_identify_user, ...).

Examples:
  VERO_AUTH_TOKEN=... kosmo-vero mcp
  kosmo-vero mcp --emulator            # try it against a local emulator
  kosmo-vero mcp --read-only --config accounts.json
MCP client config: { "command": "npx", "args": ["kosmo-vero", "mcp"], "env": { "VERO_AUTH_TOKEN": "..." } }`,
    )
    .action(async (flags: RuntimeFlags & { quiet?: boolean }) => {
      const log = flags.quiet
        ? undefined
        : (line: string) => process.stderr.write(`kosmo-vero mcp: ${line}\n`);
      // The MCP SDK is heavy to load: only this command pays for it.
      const { serveStdio } = await import('../../mcp/index.js');
      const { runtime, emulator, close } = await openRuntime(flags);
      try {
        const accounts = runtime.accounts().map((a) => `${a.integration}.${a.name}`);
        log?.(
          `serving ${runtime.toolDefinitions().length} tools on stdio; accounts: ${accounts.join(', ') || 'none (set VERO_AUTH_TOKEN)'}${emulator ? `; emulator at ${emulator.url}` : ''}${flags.readOnly ? '; read-only' : ''}${flags.dryRun ? '; dry-run' : ''}`,
        );
        await serveStdio(runtime, { account: flags.account, log });
      } finally {
        await close();
      }
    });
}
