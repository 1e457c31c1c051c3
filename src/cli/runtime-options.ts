import type { Command } from 'commander';
import type { RunningEmulator } from '../emulator/index.js';
import type { Integration } from '../integrations/definition.js';
import type { AccountOverrides } from '../runtime/accounts.js';
import type { DeliveryMode, Runtime, RuntimeOptions } from '../runtime/runtime.js';
import type { Cli } from './io.js';
import { terminalSafe, UsageError } from './output.js';

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
  requestTimeout?: string;
}

/** The CLI's flags, as error messages name them instead of the library's option names. */
const CLI_SETTING_NAMES = {
  readOnly: '--read-only',
  dryRun: '--dry-run',
  requestTimeout: '--request-timeout <ms> (or requestTimeoutMs in the --config file)',
};

/** `--config`, `--emulator`, `--json`, `--request-timeout`: every command that reaches an API. */
export function addConnectionFlags(command: Command): Command {
  return command
    .option('--config <file>', 'JSON config file with accounts and permissions')
    .option(
      '--emulator',
      "start an embedded Vero emulator for this run and point the Vero accounts at it (other integrations' stay)",
    )
    .option(
      '--request-timeout <ms>',
      'give up on one HTTP request after this long (config requestTimeoutMs; default 30000)',
    )
    .option('--json', 'print one JSON object on stdout');
}

/** The flags every command that calls functions shares. */
export function addRuntimeFlags(command: Command): Command {
  return addConnectionFlags(command)
    .option('--account <name>', 'account to use (default: the default account)')
    .option('--dry-run', 'validate and show the requests that would be sent; send nothing')
    .option('--read-only', 'deny every function that changes data');
}

/** `--delivery` and `--outbox`, for commands that write (run, call, import). */
export function addDeliveryFlags(command: Command): Command {
  return command
    .option(
      '--delivery <mode>',
      'direct (send now) or queued (commit to the outbox, deliver in the background)',
    )
    .option(
      '--outbox <file|url>',
      'outbox for queued delivery: SQLite file, or postgres://user@host/db?schema=name (env KOSMO_VERO_OUTBOX)',
    )
    .option('--no-wait', 'queued mode: return once writes are queued; a later `outbox drain` delivers them');
}

function deliveryMode(value: string | undefined): DeliveryMode | undefined {
  if (value === undefined || value === 'direct' || value === 'queued') return value;
  throw new UsageError(`--delivery must be direct or queued, got "${value}"`);
}

export interface CliRuntime {
  runtime: Runtime;
  emulator: RunningEmulator | undefined;
  close(): Promise<void>;
}

function requestTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new UsageError(`--request-timeout: expected a positive number of milliseconds, got "${value}"`);
  }
  return ms;
}

/** Each retry of a request is a line on stderr when it is a terminal, so a slow API is not silence; nothing on a pipe. */
function retryProgress(cli: Cli): RuntimeOptions['onRetry'] {
  if (!cli.io.stderr.isTTY) return undefined;
  return ({ integration, account, request, attempt, error, delayMs }) =>
    cli.err(
      `kosmo-vero: ${integration}/${account} ${request}: attempt ${attempt} failed (${terminalSafe(error)}); retrying in ${(delayMs / 1000).toFixed(1)} s\n`,
    );
}

/**
 * `--emulator` points the accounts of the integrations the bundled emulator stands in for at it, and only those: an
 * integration without an emulator keeps its own accounts. Each gets its demo credential for a default account none
 * configured (the emulator accepts it; it reaches nothing but loopback).
 */
function emulatorOverrides(integrations: Integration[], url: string): Record<string, AccountOverrides> {
  return Object.fromEntries(
    integrations.flatMap((integration) =>
      integration.emulator
        ? [[integration.name, { baseUrl: url, fallbackCredential: integration.emulator.demoCredential }]]
        : [],
    ),
  );
}

/**
 * The runtime (and embedded emulator) a command works with, from its flags and the invocation's environment. Both
 * are imported here, when a command runs: `--help` and `--version` load neither.
 */
export async function openRuntime(
  cli: Cli,
  flags: RuntimeFlags,
  extra: RuntimeOptions = {},
): Promise<CliRuntime> {
  const delivery = deliveryMode(flags.delivery);
  const requestTimeoutMs = requestTimeout(flags.requestTimeout);
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
  const [{ createRuntime, builtinIntegrations }, emulatorModule] = await Promise.all([
    import('../index.js'),
    flags.emulator ? import('../emulator/index.js') : undefined,
  ]);
  const integrations = extra.integrations ?? builtinIntegrations;
  if (flags.emulator && !integrations.some((integration) => integration.emulator)) {
    throw new UsageError(
      `--emulator: none of the integrations (${integrations.map((i) => i.name).join(', ')}) has an emulator`,
    );
  }
  const emulator = emulatorModule ? await emulatorModule.startEmulator() : undefined;
  let runtime: Runtime;
  try {
    runtime = createRuntime({
      env: cli.io.env,
      config: flags.config,
      integrations,
      overrides: emulator ? emulatorOverrides(integrations, emulator.url) : undefined,
      delivery,
      // An emulator run never shares the user's outbox: its writes would wait there for a drain that sends them
      // to a real account (or real writes would be drained into this throwaway emulator).
      outbox: emulator ? ':memory:' : flags.outbox,
      background: flags.wait !== false,
      readOnly: flags.readOnly,
      dryRun: flags.dryRun,
      requestTimeoutMs,
      settingNames: CLI_SETTING_NAMES,
      onRetry: retryProgress(cli),
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
