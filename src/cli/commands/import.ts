import { accessSync, constants } from 'node:fs';
import type { Command } from 'commander';
import { askOnTerminal } from '../ask.js';
import { notDeliveredTallyError } from '../delivery-report.js';
import type { Cli } from '../io.js';
import { plural, terminalSafe, UsageError } from '../output.js';
import { bar, progressLine } from '../progress.js';
import { addDeliveryFlags, addRuntimeFlags, openRuntime, type RuntimeFlags } from '../runtime-options.js';

interface ImportFlags extends RuntimeFlags {
  events?: boolean;
  wait: boolean;
}

export function registerImport(program: Command, cli: Cli): void {
  addDeliveryFlags(
    addRuntimeFlags(
      program
        .command('import')
        .description('bulk identify users (or track events) from a CSV or JSONL file, through the outbox')
        .argument('<file>', '.csv with a header row, or .jsonl with one object per line')
        .option(
          '--events',
          'rows are events (identity, event_name, ...) instead of users (id, email, name, ...)',
        ),
    ),
  )
    .addHelpText(
      'after',
      `
Columns that are not parameters (id, email, name / identity, event_name) become data attributes; CSV values stay
strings. Invalid rows are reported with their line number and skipped.

Examples:
  kosmo-vero import users.csv
  kosmo-vero import events.jsonl --events --account marketing
  kosmo-vero import users.csv --no-wait && kosmo-vero outbox drain`,
    )
    .action(async (file: string, flags: ImportFlags) => {
      const { runtime, close } = await openRuntime(cli, flags, { ask: askOnTerminal(cli.io) });
      try {
        if (flags.account !== undefined) runtime.checkAccount(flags.account);
        // As with `run`: a file that cannot be used at all is a usage error (exit 2); bad rows in it are failures (1).
        if (!/\.(csv|jsonl?)$/i.test(file)) throw new UsageError(`${file}: expected a .csv or .jsonl file`);
        try {
          accessSync(file, constants.R_OK);
        } catch (error) {
          throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
        }
        const progress = progressLine(cli.io.stderr);
        const summary = await runtime.importFile(file, {
          kind: flags.events ? 'events' : 'users',
          account: flags.account,
          delivery: flags.delivery === 'direct' ? 'direct' : 'queued',
          // The file is read as it is queued: its length in rows is known only at the end.
          onProgress: ({ rows, accepted }) =>
            progress.update(`queueing: ${rows} rows read, ${accepted} queued`),
        });
        // Counts, not an outcome per row: memory stays flat however many rows the file has.
        const tally =
          flags.wait && summary.outbox_ids.length > 0
            ? await runtime.waitForDeliveryTally(summary.outbox_ids, {
                onProgress: (done, total) => progress.update(`delivering ${bar(done, total)}`),
              })
            : undefined;
        progress.done();
        const delivered = tally?.delivered ?? 0;
        const dead = tally?.dead ?? 0;
        const ok = summary.failed.length === 0 && dead === 0;
        const error = tally ? notDeliveredTallyError(tally, summary.function_name) : null;
        const report = { ok, ...summary, delivered, dead, waited: flags.wait, error };
        if (flags.json) cli.json(report);
        else {
          for (const f of summary.failed) cli.err(`line ${f.line}: ${terminalSafe(f.message)}\n`);
          // The last errors may quote the remote service: shown escaped, like any text from outside.
          if (error) cli.err(`kosmo-vero: ${terminalSafe(error.message)}\n`);
          cli.out(
            `${plural(summary.rows, 'row')}: ${summary.accepted} accepted, ${summary.failed.length} skipped` +
              (flags.wait
                ? `; delivered ${delivered}, dead ${dead}\n`
                : '; run `kosmo-vero outbox drain` to deliver\n'),
          );
        }
        cli.exitCode = ok ? 0 : 1;
      } finally {
        await close();
      }
    });
}
