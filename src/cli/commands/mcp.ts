import type { Command } from 'commander';
import type { Cli } from '../io.js';
import { terminalSafe } from '../output.js';
import { openRuntime, type RuntimeFlags } from '../runtime-options.js';

/**
 * `Tools: execute_lua, ..., and one per function (vero_identify_user, ...).`, from the runtime's own list. Async: the
 * runtime is loaded for it only when `mcp --help` is asked for.
 */
export async function toolsLine(): Promise<string> {
  const { createRuntime, toolDefinitions } = await import('../../index.js');
  const runtime = createRuntime({ env: {} });
  const functions = runtime.functions();
  const slugs = new Set(functions.map((fn) => fn.slug));
  const builtins = toolDefinitions(runtime)
    .map((tool) => tool.name)
    .filter((name) => !slugs.has(name));
  // One example per integration: its first write, else its first function.
  const examples = [...new Set(functions.map((fn) => fn.integration))].map((integration) => {
    const own = functions.filter((fn) => fn.integration === integration);
    return (own.find((fn) => fn.operation === 'write') ?? own[0])?.slug;
  });
  return `Tools: ${builtins.join(', ')}, and one per function (${examples.join(', ')}, ...).`;
}

/** `tools`: the line of toolsLine() for the help text, computed by the caller only when help will be shown. */
export function registerMcp(program: Command, cli: Cli, tools = ''): void {
  program
    .command('mcp')
    .description(
      'serve the integrations’ tools to an MCP client over stdio (stdout is the protocol; logs go to stderr)',
    )
    .option('--config <file>', 'JSON config file with accounts and permissions')
    .option('--account <name>', 'account used when a call names none (default: the default account)')
    .option('--dry-run', 'validate and show the requests that would be sent; send nothing')
    .option('--read-only', 'deny every function that changes data')
    .option('--emulator', 'start an embedded Vero emulator and point the Vero accounts at it')
    .option(
      '--request-timeout <ms>',
      'give up on one HTTP request after this long (config requestTimeoutMs; default 30000)',
    )
    .option('--quiet', 'log nothing on stderr')
    // From the integrations a runtime offers, so a new one needs no edit here.
    .addHelpText('after', `\n${tools}`)
    .addHelpText(
      'after',
      `
Examples:
  VERO_AUTH_TOKEN=... kosmo-vero mcp
  kosmo-vero mcp --emulator            # try it against a local emulator
  kosmo-vero mcp --read-only --config accounts.json
MCP client config: { "command": "npx", "args": ["kosmo-vero", "mcp"], "env": { "VERO_AUTH_TOKEN": "..." } }`,
    )
    .action(async (flags: RuntimeFlags & { quiet?: boolean }) => {
      const log = flags.quiet
        ? undefined
        : (line: string) => cli.err(`kosmo-vero mcp: ${terminalSafe(line)}\n`);
      // The MCP SDK is heavy to load: only this command pays for it.
      const [{ serveStdio }, { toolDefinitions }] = await Promise.all([
        import('../../mcp/index.js'),
        import('../../index.js'),
      ]);
      const { runtime, emulator, close } = await openRuntime(cli, flags);
      try {
        // Every call would fail on an account nobody configured: refuse to start instead.
        if (flags.account !== undefined) runtime.checkAccount(flags.account);
        const accounts = runtime.accounts().map((a) => `${a.integration}.${a.name}`);
        log?.(
          `serving ${toolDefinitions(runtime).length} tools on stdio; accounts: ${accounts.join(', ') || 'none (see kosmo-vero accounts list)'}${emulator ? `; emulator at ${emulator.url}` : ''}${flags.readOnly ? '; read-only' : ''}${flags.dryRun ? '; dry-run' : ''}`,
        );
        await serveStdio(runtime, {
          account: flags.account,
          log,
          input: cli.io.stdin,
          output: cli.io.stdout,
          signal: cli.io.signal,
        });
      } finally {
        await close();
      }
    });
}
