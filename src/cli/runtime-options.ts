import type { Command } from 'commander';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../integration/runtime.js';

export interface RuntimeFlags {
  config?: string;
  account?: string;
  dryRun?: boolean;
  readOnly?: boolean;
  emulator?: boolean;
  json?: boolean;
}

/** The flags every command that calls functions shares. */
export function addRuntimeFlags(command: Command): Command {
  return command
    .option('--config <file>', 'JSON config file with accounts and permissions')
    .option('--account <name>', 'account to use (default: the default account)')
    .option('--dry-run', 'validate and show the requests that would be sent; send nothing')
    .option('--read-only', 'deny every function that changes data')
    .option('--emulator', 'start an embedded Vero emulator for this run and point every account at it')
    .option('--json', 'print one JSON object on stdout');
}

// A credential for the embedded emulator when no account is configured: it reaches nothing but loopback.
const EMULATOR_DEMO_TOKEN = 'emulator-demo-token';

export interface CliRuntime {
  runtime: Runtime;
  emulator: RunningEmulator | undefined;
  close(): Promise<void>;
}

export async function openRuntime(flags: RuntimeFlags, extra: RuntimeOptions = {}): Promise<CliRuntime> {
  const emulator = flags.emulator ? await startEmulator() : undefined;
  const runtime = createRuntime({
    config: flags.config,
    baseUrl: emulator?.url,
    fallbackCredential: emulator ? EMULATOR_DEMO_TOKEN : undefined,
    readOnly: flags.readOnly,
    dryRun: flags.dryRun,
    ...extra,
  });
  return {
    runtime,
    emulator,
    async close() {
      await runtime.close();
      await emulator?.close();
    },
  };
}
