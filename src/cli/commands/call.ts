import type { Command } from 'commander';
import { toErrorInfo } from '../../errors.js';
import { askOnTerminal } from '../ask.js';
import { notDeliveredError } from '../delivery-report.js';
import type { Cli } from '../io.js';
import { snakeCaseKeys } from '../json-keys.js';
import { EXIT_FAILURE, EXIT_OK, exitCodeFor, UsageError } from '../output.js';
import { addDeliveryFlags, addRuntimeFlags, openRuntime, type RuntimeFlags } from '../runtime-options.js';
import { readAll } from '../stdin.js';

function parseArgs(text: string | undefined): unknown {
  if (text === undefined || text === '-') return text === '-' ? undefined : {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `arguments must be one JSON object, e.g. '{"id":"usr_1"}': ${(error as Error).message}`,
    );
  }
}

export function registerCall(program: Command, cli: Cli): void {
  addDeliveryFlags(
    addRuntimeFlags(
      program
        .command('call')
        .description('call one function without Lua')
        .argument('<function>', 'full name (vero.identify_user) or slug (vero_identify_user)')
        .argument('[args]', "arguments as one JSON object ('-' reads them from stdin)", undefined),
    ),
  )
    .addHelpText(
      'after',
      `
Examples:
  kosmo-vero call vero.identify_user '{"id":"usr_1","email":"jane@example.com"}'
  kosmo-vero call vero.get_current_user --json
  echo '{"id":"usr_1"}' | kosmo-vero call vero.unsubscribe - --dry-run`,
    )
    .action(async (name: string, argsText: string | undefined, flags: RuntimeFlags & { wait: boolean }) => {
      const args =
        argsText === '-' ? parseArgs((await readAll(cli.io.stdin)).trim() || '{}') : parseArgs(argsText);
      const { runtime, close } = await openRuntime(cli, flags, { ask: askOnTerminal(cli.io) });
      try {
        let result = await runtime.call(name, args, { account: flags.account });
        let error: ReturnType<typeof notDeliveredError> = null;
        if (result.status === 'queued' && flags.wait) {
          const outcomes = await runtime.waitForDelivery([result.outbox_id as number]);
          // The outbox reports camelCase (pausedUntil); the CLI's JSON is snake_case throughout.
          result = { ...result, delivery: snakeCaseKeys(outcomes[0]) };
          error = notDeliveredError(outcomes, runtime.calls());
        }
        if (flags.json) cli.json({ ok: error === null, result, calls: runtime.calls(), error });
        else cli.json(result);
        if (error && !flags.json) cli.error(error);
        cli.exitCode = error === null ? EXIT_OK : EXIT_FAILURE;
      } catch (error) {
        if (!flags.json) throw error;
        cli.json({ ok: false, result: null, calls: runtime.calls(), error: toErrorInfo(error) });
        cli.exitCode = exitCodeFor(error);
      } finally {
        await close();
      }
    });
}
