import type { Command } from 'commander';
import { toErrorInfo } from '../../errors.js';
import { askOnTerminal } from '../ask.js';
import { notDeliveredError } from '../delivery-report.js';
import { snakeCaseKeys } from '../json-keys.js';
import { EXIT_FAILURE, EXIT_OK, exitCodeFor, printError, printJson, UsageError } from '../output.js';
import { addDeliveryFlags, addRuntimeFlags, openRuntime, type RuntimeFlags } from '../runtime-options.js';
import { readStdin } from '../stdin.js';

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

export function registerCall(program: Command): void {
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
      const args = argsText === '-' ? parseArgs((await readStdin()).trim() || '{}') : parseArgs(argsText);
      const { runtime, close } = await openRuntime(flags, { ask: askOnTerminal });
      try {
        let result = await runtime.call(name, args, { account: flags.account });
        let error: ReturnType<typeof notDeliveredError> = null;
        if (result.status === 'queued' && flags.wait) {
          const outcomes = await runtime.waitForDelivery([result.outbox_id as number]);
          // The outbox reports camelCase (pausedUntil); the CLI's JSON is snake_case throughout.
          result = { ...result, delivery: snakeCaseKeys(outcomes[0]) };
          error = notDeliveredError(outcomes, runtime.calls());
        }
        if (flags.json) printJson({ ok: error === null, result, calls: runtime.calls(), error });
        else printJson(result);
        if (error && !flags.json) printError(error);
        process.exitCode = error === null ? EXIT_OK : EXIT_FAILURE;
      } catch (error) {
        if (!flags.json) throw error;
        printJson({ ok: false, result: null, calls: runtime.calls(), error: toErrorInfo(error) });
        process.exitCode = exitCodeFor(error);
      } finally {
        await close();
      }
    });
}
