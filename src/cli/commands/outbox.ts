import type { Command } from 'commander';
import type { Runtime } from '../../integration/runtime.js';
import { printJson, terminalSafe, UsageError } from '../output.js';
import { bar, progressLine } from '../progress.js';
import { openRuntime, type RuntimeFlags } from '../runtime-options.js';

interface OutboxFlags extends RuntimeFlags {
  deadline?: string;
  dead?: boolean;
  delivered?: boolean;
  olderThan?: string;
}

const withOutboxFlags = (command: Command): Command =>
  command
    .option(
      '--outbox <file>',
      'outbox SQLite file (env KOSMO_VERO_OUTBOX; default under your data directory)',
    )
    .option('--config <file>', 'JSON config file with accounts')
    .option('--json', 'print one JSON object on stdout');

const milliseconds = (value: string | undefined, flag: string): number | undefined => {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0)
    throw new UsageError(`${flag}: expected milliseconds >= 0, got "${value}"`);
  return ms;
};

async function withRuntime(flags: OutboxFlags, work: (runtime: Runtime) => Promise<void>): Promise<void> {
  const { runtime, close } = await openRuntime(flags);
  try {
    await work(runtime);
  } finally {
    await close();
  }
}

/** Delivers what is pending, with a progress line on a terminal; exits 1 when anything is left or dead. */
export async function drainWithProgress(runtime: Runtime, deadlineMs: number | undefined) {
  const progress = progressLine();
  const outbox = runtime.outbox();
  const result = await outbox.drain({
    deadlineMs,
    onProgress: ({ delivered, dead, pending }) =>
      progress.update(
        `${bar(delivered + dead, delivered + dead + pending)} delivered ${delivered}, dead ${dead}`,
      ),
  });
  progress.done();
  return result;
}

export function registerOutbox(program: Command): void {
  const outbox = program
    .command('outbox')
    .description('queued writes: inspect, deliver, retry, purge')
    .addHelpText(
      'after',
      `
Examples:
  kosmo-vero outbox status
  kosmo-vero outbox drain --deadline 60000
  kosmo-vero outbox retry --dead && kosmo-vero outbox drain
  kosmo-vero outbox purge --delivered --older-than 86400000`,
    );

  withOutboxFlags(
    outbox.command('status').description('counts by state, oldest pending age, last errors'),
  ).action((flags: OutboxFlags) =>
    withRuntime(flags, async (runtime) => {
      const status = runtime.outbox().status();
      if (flags.json) return printJson(status);
      const { counts, oldestPendingAgeMs, lastErrors } = status;
      process.stdout.write(
        `pending ${counts.pending}, sending ${counts.sending}, delivered ${counts.delivered}, dead ${counts.dead}\n`,
      );
      if (oldestPendingAgeMs !== null) {
        process.stdout.write(`oldest pending: ${Math.round(oldestPendingAgeMs / 1000)} s ago\n`);
      }
      for (const e of lastErrors) {
        process.stdout.write(
          `${terminalSafe(`#${e.id} ${e.fn} (${e.account}) ${e.state} after ${e.attempts} attempts: ${e.error}`)}\n`,
        );
      }
    }),
  );

  withOutboxFlags(
    outbox
      .command('drain')
      .description('deliver pending writes now; exit when none is left or at the deadline')
      .option('--deadline <ms>', 'stop after this many milliseconds'),
  ).action((flags: OutboxFlags) =>
    withRuntime(flags, async (runtime) => {
      const result = await drainWithProgress(runtime, milliseconds(flags.deadline, '--deadline'));
      if (flags.json) printJson(result);
      else
        process.stdout.write(
          `delivered ${result.delivered}, dead ${result.dead}, still pending ${result.pending}\n`,
        );
      process.exitCode = result.pending > 0 || result.dead > 0 ? 1 : 0;
    }),
  );

  withOutboxFlags(
    outbox
      .command('retry')
      .description('send a dead write (or every dead one) again')
      .argument('[id]', 'outbox id')
      .option('--dead', 'every dead write'),
  ).action((id: string | undefined, flags: OutboxFlags) =>
    withRuntime(flags, async (runtime) => {
      if ((id === undefined) === !flags.dead) throw new UsageError('give an outbox id or --dead (not both)');
      const target = flags.dead ? 'dead' : Number(id);
      if (target !== 'dead' && !Number.isInteger(target)) throw new UsageError(`not an outbox id: "${id}"`);
      const changed = runtime.outbox().retry(target);
      if (flags.json) printJson({ retried: changed });
      else
        process.stdout.write(
          `${changed} write(s) back to pending; run \`kosmo-vero outbox drain\` to send\n`,
        );
    }),
  );

  withOutboxFlags(
    outbox
      .command('purge')
      .description('delete delivered writes from the outbox')
      .option('--delivered', 'required: only delivered writes are ever purged')
      .option('--older-than <ms>', 'only those delivered at least this long ago'),
  ).action((flags: OutboxFlags) =>
    withRuntime(flags, async (runtime) => {
      if (!flags.delivered)
        throw new UsageError('purge needs --delivered (pending and dead writes are kept)');
      const purged = runtime
        .outbox()
        .purge({ delivered: true, olderThanMs: milliseconds(flags.olderThan, '--older-than') });
      if (flags.json) printJson({ purged });
      else process.stdout.write(`purged ${purged} delivered write(s)\n`);
    }),
  );
}
