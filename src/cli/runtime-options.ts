import type { Command } from 'commander';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import {
  createRuntime,
  type DeliveryMode,
  type Runtime,
  type RuntimeOptions,
} from '../integration/runtime.js';
import { UsageError } from './output.js';

export interface RuntimeFlags {
  config?: string;
  delivery?: string;
  outbox?: string;
  /** `--no-wait` sets it false: queued writes are left for a later `outbox drain`. */
  wait?: boolean;
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

/** `--delivery` and `--outbox`, for commands that write (run, call, import). */
export function addDeliveryFlags(command: Command): Command {
  return command
    .option(
      '--delivery <mode>',
      'direct (send now) or queued (commit to the outbox, deliver in the background)',
    )
    .option('--outbox <file>', 'outbox SQLite file for queued delivery (env KOSMO_VERO_OUTBOX)')
    .option('--no-wait', 'queued mode: return once writes are queued; a later `outbox drain` delivers them');
}

function deliveryMode(value: string | undefined): DeliveryMode | undefined {
  if (value === undefined || value === 'direct' || value === 'queued') return value;
  throw new UsageError(`--delivery must be direct or queued, got "${value}"`);
}

// A credential for the embedded emulator when no account is configured: it reaches nothing but loopback.
const EMULATOR_DEMO_TOKEN = 'emulator-demo-token';

export interface CliRuntime {
  runtime: Runtime;
  emulator: RunningEmulator | undefined;
  close(): Promise<void>;
}

export async function openRuntime(flags: RuntimeFlags, extra: RuntimeOptions = {}): Promise<CliRuntime> {
  const delivery = deliveryMode(flags.delivery);
  if (flags.emulator && flags.outbox !== undefined) {
    throw new UsageError(
      '--outbox cannot go with --emulator: emulator runs queue in memory, apart from real writes',
    );
  }
  if (flags.emulator && flags.wait === false) {
    throw new UsageError(
      '--no-wait cannot go with --emulator: the embedded emulator stops when this command ends',
    );
  }
  const emulator = flags.emulator ? await startEmulator() : undefined;
  let runtime: Runtime;
  try {
    runtime = createRuntime({
      config: flags.config,
      baseUrl: emulator?.url,
      fallbackCredential: emulator ? EMULATOR_DEMO_TOKEN : undefined,
      delivery,
      // An emulator run never shares the user's outbox: its writes would wait there for a drain that sends them
      // to a real account (or real writes would be drained into this throwaway emulator).
      outbox: emulator ? ':memory:' : flags.outbox,
      background: flags.wait !== false,
      readOnly: flags.readOnly,
      dryRun: flags.dryRun,
      ...extra,
    });
  } catch (error) {
    // A bad config must not leave the embedded emulator holding the process open.
    await emulator?.close();
    throw error;
  }
  return {
    runtime,
    emulator,
    async close() {
      await runtime.close();
      await emulator?.close();
    },
  };
}
