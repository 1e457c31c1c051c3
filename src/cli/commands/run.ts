import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { emulatorSummary } from '../emulator-summary.js';
import { printJson, terminalSafe, UsageError } from '../output.js';
import { addDeliveryFlags, addRuntimeFlags, openRuntime, type RuntimeFlags } from '../runtime-options.js';
import { readStdin } from '../stdin.js';

interface RunFlags extends RuntimeFlags {
  timeout?: string;
  wait: boolean;
  keep?: boolean;
}

async function readScript(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read script ${file}: ${(error as Error).message}`);
    }
  }
  return readStdin();
}

export function registerRun(program: Command): void {
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
      const code = await readScript(file);
      const { runtime, emulator, close } = await openRuntime(flags);
      try {
        const run = await runtime.runLua(code, { account: flags.account, timeoutMs });
        const queued = run.calls.flatMap((call) => (call.outbox_id === undefined ? [] : [call.outbox_id]));
        const delivery = flags.wait && queued.length > 0 ? await runtime.waitForDelivery(queued) : undefined;
        const undelivered = delivery?.filter((outcome) => outcome.state !== 'delivered').length ?? 0;
        const ok = run.ok && undelivered === 0;
        const state = emulator?.state();
        if (flags.json) {
          const { stats: _stats, ...report } = run;
          printJson({
            ...report,
            ok,
            delivery,
            emulator: state && emulator ? { url: emulator.url, ...state } : undefined,
          });
        } else {
          for (const line of run.output) process.stdout.write(`${terminalSafe(line)}\n`);
          if (run.error) {
            const where = run.error.line ? ` (line ${run.error.line})` : '';
            process.stderr.write(`kosmo-vero: script error${where}: ${terminalSafe(run.error.message)}\n`);
          }
          if (delivery) {
            const sent = delivery.length - undelivered;
            process.stderr.write(`delivered ${sent} queued write(s), not delivered ${undelivered}\n`);
          }
          if (state && emulator) process.stdout.write(terminalSafe(emulatorSummary(state, emulator.url)));
        }
        process.exitCode = ok ? 0 : 1;
        if (flags.keep && emulator) {
          process.stderr.write(`emulator still serving: ${emulator.inspectorUrl} (Ctrl-C to stop)\n`);
          await new Promise<void>((resolve) => {
            for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
          });
        }
      } finally {
        await close();
      }
    });
}
