import { toErrorInfo } from '../errors.js';
import type { LuaPool } from '../lua/index.js';
import { CLIENT_VERSION } from '../version.js';
import { Cli, type CliIo } from './io.js';
import { RUN_LUA_OPTIONS } from './lua-options.js';
import { EXIT_USAGE, exitCodeFor } from './output.js';

export type { CliIo, CliOutput } from './io.js';

/** Whether commander will print a help text instead of running a command. */
const asksForHelp = (argv: string[]): boolean =>
  argv[0] === 'help' || argv.some((arg) => arg === '--help' || arg === '-h');

/**
 * Runs `kosmo-vero` with `argv` (the arguments after the program name) and resolves to its exit code: 0 ok, 1 script
 * or call error, 2 usage error. Everything it reads and writes goes through `io`, so it runs in-process as it runs
 * as the binary (src/cli/bin.ts). Each command loads what it needs when it runs: `--version` and `--help` load no
 * runtime, emulator, SQLite or Lua.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const cli = new Cli(io);
  // What commander would print, without loading it and the command tree: the cheapest probe for the binary.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    cli.out(`${CLIENT_VERSION}\n`);
    return 0;
  }
  // Most of a run's start-up is its sandbox worker booting (wasm, a Lua state): started before commander and the
  // command tree load, it boots on another core meanwhile. The run command hands it to its runtime.
  const luaPool = argv[0] === 'run' && !asksForHelp(argv) ? await startLuaPool() : undefined;
  try {
    return await runProgram(cli, argv, luaPool);
  } finally {
    await luaPool?.close();
  }
}

/** A pool for `run`, or none when it cannot start yet: the run command then starts its own and reports why not. */
async function startLuaPool(): Promise<LuaPool | undefined> {
  try {
    return new (await import('../lua/index.js')).LuaPool(RUN_LUA_OPTIONS);
  } catch {
    return undefined;
  }
}

async function runProgram(cli: Cli, argv: string[], luaPool: LuaPool | undefined): Promise<number> {
  const [{ CommanderError }, { buildProgram }, { toolsLine }] = await Promise.all([
    import('commander'),
    import('./program.js'),
    import('./commands/mcp.js'),
  ]);
  // The MCP tools are listed from a runtime: loaded only for the help text that shows them.
  const mcpTools = asksForHelp(argv) && argv.includes('mcp') ? await toolsLine() : '';
  const program = buildProgram(cli, mcpTools, luaPool);
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
    if (argv.includes('--json')) cli.json({ ok: false, error: toErrorInfo(error) });
    cli.error(error);
    return exitCodeFor(error);
  }
}
