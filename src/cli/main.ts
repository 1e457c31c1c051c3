import { Command, CommanderError } from 'commander';
import { builtinAccountEnvironments } from '../integrations/accounts.js';
import { accountVariables } from '../runtime/accounts.js';
import { CLIENT_VERSION } from '../version.js';
import { registerAccounts } from './commands/accounts.js';
import { registerCall } from './commands/call.js';
import { registerDocs } from './commands/docs.js';
import { registerEmulator } from './commands/emulator.js';
import { registerImport } from './commands/import.js';
import { registerMcp, toolsLine } from './commands/mcp.js';
import { registerOutbox } from './commands/outbox.js';
import { registerRun } from './commands/run.js';
import { Cli, type CliIo } from './io.js';
import { EXIT_USAGE, errorInfo, exitCodeFor } from './output.js';

export type { CliIo, CliOutput } from './io.js';

/** Whether commander will print a help text instead of running a command. */
const asksForHelp = (argv: string[]): boolean =>
  argv[0] === 'help' || argv.some((arg) => arg === '--help' || arg === '-h');

/** The terminal's width, as commander uses by default for process.stdout; 80 off a terminal. */
const helpWidth = (stream: CliIo['stdout']): number =>
  (stream.isTTY && (stream as { columns?: number }).columns) || 80;

/** The command tree for one invocation; every command writes through `cli`. */
function buildProgram(cli: Cli, mcpTools: string): Command {
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
  registerRun(program, cli);
  registerCall(program, cli);
  registerDocs(program, cli);
  registerEmulator(program, cli);
  registerAccounts(program, cli);
  registerOutbox(program, cli);
  registerImport(program, cli);
  registerMcp(program, cli, mcpTools);
  return program;
}

/**
 * Runs `kosmo-vero` with `argv` (the arguments after the program name) and resolves to its exit code: 0 ok, 1 script
 * or call error, 2 usage error. Everything it reads and writes goes through `io`, so it runs in-process as it runs
 * as the binary (src/cli/bin.ts). Each command loads what it needs when it runs: `--version` and `--help` load no
 * runtime, emulator, SQLite or Lua.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const cli = new Cli(io);
  // The MCP tools are listed from a runtime: loaded only for the help text that shows them.
  const mcpTools = asksForHelp(argv) && argv.includes('mcp') ? await toolsLine() : '';
  const program = buildProgram(cli, mcpTools);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return cli.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version also end in a CommanderError, with exit code 0.
      if (error.exitCode === 0) return 0;
      // A usage error (missing argument, unknown option) still honours --json; commander said it on stderr already.
      if (argv.includes('--json')) {
        cli.json({ ok: false, error: { code: 'usage', message: error.message.replace(/^error: /, '') } });
      }
      return EXIT_USAGE;
    }
    // Errors before a command could report (config, usage) still honour --json.
    if (argv.includes('--json')) cli.json({ ok: false, error: errorInfo(error) });
    cli.error(error);
    return exitCodeFor(error);
  }
}
