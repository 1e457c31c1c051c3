#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { createRuntime } from '../runtime/runtime.js';
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
import { EXIT_USAGE, errorInfo, exitCodeFor, printError, printJson } from './output.js';

const program = new Command('kosmo-vero')
  .description(
    'Run agents’ Lua scripts against Vero, call its functions, read their docs, or serve a local emulator.',
  )
  .version(CLIENT_VERSION)
  // One line on stderr for a usage error, with the hint on the same line.
  .configureOutput({
    outputError: (text, write) =>
      write(`kosmo-vero: ${text.replace(/^error: /, '').trimEnd()} (run with --help for usage)\n`),
  })
  .exitOverride();
program.addHelpText('after', () => {
  // Built on demand: only --help pays for loading the integrations.
  const accounts = createRuntime({ env: {} })
    .accountVariables()
    .map(({ integration, variables }) => `  ${integration}: ${variables}`);
  return `
Exit codes: 0 ok, 1 script or call error, 2 usage error.
Accounts come from the environment, or the same settings in a JSON file given with --config:
${accounts.join('\n')}`;
});

// `kosmo-vero ... | head -1`: once the reader is gone there is nobody to tell, so end quietly instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

registerRun(program);
registerCall(program);
registerDocs(program);
registerEmulator(program);
registerAccounts(program);
registerOutbox(program);
registerImport(program);
registerMcp(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version also end in a CommanderError, with exit code 0.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
    // A usage error (missing argument, unknown option) still honours --json; commander said it on stderr already.
    if (error.exitCode !== 0 && process.argv.includes('--json')) {
      printJson({ ok: false, error: { code: 'usage', message: error.message.replace(/^error: /, '') } });
    }
  } else {
    // Errors before a command could report (config, usage) still honour --json.
    if (process.argv.includes('--json')) printJson({ ok: false, error: errorInfo(error) });
    printError(error);
    process.exitCode = exitCodeFor(error);
  }
}
