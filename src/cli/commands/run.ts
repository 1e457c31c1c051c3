import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { LuaPool } from '../../lua/index.js';
import { askOnTerminal } from '../ask.js';
import { notDeliveredError } from '../delivery-report.js';
import { emulatorSummary } from '../emulator-summary.js';
import type { Cli } from '../io.js';
import { snakeCaseKeys } from '../json-keys.js';
import { RUN_LUA_OPTIONS } from '../lua-options.js';
import { plural, requestLine, terminalSafe, UsageError } from '../output.js';
import { addDeliveryFlags, addRuntimeFlags, openRuntime, type RuntimeFlags } from '../runtime-options.js';
import { readAll } from '../stdin.js';

interface RunFlags extends RuntimeFlags {
  timeout?: string;
  wait: boolean;
  keep?: boolean;
}

/**
 * A script as Lua should see it: without a UTF-8 BOM, and with a `#!` first line (an executable script) turned into a
 * comment, as the `lua` command does, so line numbers stay right.
 */
const asLua = (text: string): string => text.replace(/^\uFEFF/, '').replace(/^#!/, '--#!');

async function readScript(file: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (file !== '-') {
    try {
      return asLua(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read script ${file}: ${(error as Error).message}`);
    }
  }
  return asLua(await readAll(stdin));
}

/** `started`: a pool main() started before the command tree loaded; without it the command starts its own. */
export function registerRun(program: Command, cli: Cli, started?: LuaPool): void {
  addDeliveryFlags(
    addRuntimeFlags(
      program
        .command('run')
        .description('run a Lua script in the sandbox; app.integrations.vero.* calls reach Vero')
        .argument('<file>', "Lua file, or '-' for stdin")
        .option('--timeout <ms>', 'wall-time limit for the script (default 30000)')
        .option('--keep', 'with --emulator: keep the emulator serving after the script, until Ctrl-C'),
    ),
  )
    .addHelpText(
      'after',
      `
Examples:
  kosmo-vero run examples/onboard.lua --emulator       # no account needed
  echo 'print(app.integrations.vero.get_current_user({}).account)' | kosmo-vero run -
  kosmo-vero run churn.lua --dry-run --json
  kosmo-vero run bulk.lua --delivery queued            # writes return at once, delivered in the background`,
    )
    .action(async (file: string, flags: RunFlags) => {
      const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout);
      if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
        throw new UsageError(`--timeout: expected a positive number of milliseconds, got "${flags.timeout}"`);
      }
      if (flags.keep && !flags.emulator) throw new UsageError('--keep goes with --emulator');
      // Usually main() started the pool before the command tree loaded; either way the sandbox's worker boots (wasm,
      // Lua state) on another core while this thread reads the script and loads the runtime, which then owns it.
      const luaPool = started ?? new (await import('../../lua/index.js')).LuaPool(RUN_LUA_OPTIONS);
      const opening = readScript(file, cli.io.stdin).then(async (code) => ({
        code,
        ...(await openRuntime(cli, flags, { ask: askOnTerminal(cli.io), luaPool })),
      }));
      const { code, runtime, emulator, close } = await opening.catch(async (error: unknown) => {
        await luaPool.close();
        throw error;
      });
      try {
        // An account nobody configured is a mistake on the command line, not in the script.
        if (flags.account !== undefined) runtime.checkAccount(flags.account);
        const run = await runtime.runLua(code, { account: flags.account, timeoutMs });
        const queued = run.calls.flatMap((call) => (call.outbox_id === undefined ? [] : [call.outbox_id]));
        const delivery = flags.wait && queued.length > 0 ? await runtime.waitForDelivery(queued) : undefined;
        const notDelivered = notDeliveredError(delivery ?? [], run.calls);
        const ok = run.ok && notDelivered === null;
        const waiting = !flags.wait && queued.length > 0;
        const howDelivered = `${plural(queued.length, 'write')} queued in the outbox; run \`kosmo-vero outbox drain\` to deliver them`;
        const state = emulator?.state();
        if (flags.json) {
          const { stats: _stats, ...report } = run;
          cli.json({
            ...report,
            ok,
            error: run.error ?? notDelivered,
            // The outbox reports camelCase (pausedUntil); the CLI's JSON is snake_case throughout.
            delivery: delivery && snakeCaseKeys(delivery),
            emulator: state && emulator ? { url: emulator.url, ...state } : undefined,
          });
        } else {
          for (const line of run.output) cli.out(`${terminalSafe(line)}\n`);
          // What a dry run would have sent goes to stderr, so stdout stays the script's own output.
          for (const call of run.calls) {
            if (call.request !== undefined) {
              cli.err(`dry run: ${terminalSafe(requestLine(call.request))}\n`);
            }
          }
          if (run.error) {
            const where = run.error.line ? ` (line ${run.error.line})` : '';
            cli.err(`kosmo-vero: script error${where}: ${terminalSafe(run.error.message)}\n`);
          }
          if (delivery) {
            const failed = delivery.filter((outcome) => outcome.state !== 'delivered').length;
            cli.err(`delivered ${delivery.length - failed} queued write(s), not delivered ${failed}\n`);
          }
          if (notDelivered) cli.err(`kosmo-vero: ${terminalSafe(notDelivered.message)}\n`);
          if (waiting) cli.err(`${howDelivered}\n`);
          if (state && emulator) cli.err(terminalSafe(emulatorSummary(state, emulator.url)));
        }
        cli.exitCode = ok ? 0 : 1;
        if (flags.keep && emulator) {
          // Listening before saying so: a Ctrl-C right after the line must stop it, not kill it.
          const stopped = cli.stopped();
          cli.err(`emulator still serving: ${emulator.inspectorUrl} (Ctrl-C to stop)\n`);
          await stopped;
        }
      } finally {
        await close();
      }
    });
}
