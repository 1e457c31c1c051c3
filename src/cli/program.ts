import { Command } from 'commander';
import { builtinAccountEnvironments } from '../integrations/accounts.js';
import type { LuaPool } from '../lua/index.js';
import { accountVariables } from '../runtime/accounts.js';
import { CLIENT_VERSION } from '../version.js';
import { registerAccounts } from './commands/accounts.js';
import { registerCall } from './commands/call.js';
import { registerDocs } from './commands/docs.js';
import { registerEmulator } from './commands/emulator.js';
import { registerImport } from './commands/import.js';
import { registerMcp } from './commands/mcp.js';
import { registerOutbox } from './commands/outbox.js';
import { registerRun } from './commands/run.js';
import { registerServe } from './commands/serve.js';
import type { Cli, CliIo } from './io.js';

/** The terminal's width, as commander uses by default for process.stdout; 80 off a terminal. */
const helpWidth = (stream: CliIo['stdout']): number =>
  (stream.isTTY && (stream as { columns?: number }).columns) || 80;

/**
 * The command tree for one invocation; every command writes through `cli`. Commands import what they need when
 * they run. `mcpTools`: the MCP help text's list of tools (toolsLine()), needed only when that help is shown;
 * `luaPool`: a pool main() started early for `run`.
 */
export function buildProgram(cli: Cli, mcpTools: string, luaPool?: LuaPool): Command {
  const { stdout, stderr } = cli.io;
  const program = new Command('kosmo-vero')
    .description(
      'Run agents’ Lua scripts against Vero, call its functions, read their docs, or serve a local emulator.',
    )
    .version(CLIENT_VERSION)
    .configureOutput({
      writeOut: (text) => cli.out(text),
      writeErr: (text) => cli.err(text),
      getOutHelpWidth: () => helpWidth(stdout),
      getErrHelpWidth: () => helpWidth(stderr),
      // One line on stderr for a usage error, with the hint on the same line.
      outputError: (text, write) =>
        write(`kosmo-vero: ${text.replace(/^error: /, '').trimEnd()} (run with --help for usage)\n`),
    })
    .exitOverride();
  const accounts = builtinAccountEnvironments.map(
    ({ integration, accounts }) => `  ${integration}: ${accountVariables(accounts)}`,
  );
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 script or call error, 2 usage error.
Accounts come from the environment, or the same settings in a JSON file given with --config:
${accounts.join('\n')}`,
  );
  registerRun(program, cli, luaPool);
  registerCall(program, cli);
  registerDocs(program, cli);
  registerEmulator(program, cli);
  registerAccounts(program, cli);
  registerOutbox(program, cli);
  registerImport(program, cli);
  registerMcp(program, cli, mcpTools);
  registerServe(program, cli);
  return program;
}
