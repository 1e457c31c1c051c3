import { type Command, Option } from 'commander';
import type { DestinationStatus, HeldJob } from '../../outbox/index.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Cli } from '../io.js';
import { snakeCaseKeys } from '../json-keys.js';
import { plural, terminalSafe, UsageError } from '../output.js';
import { bar, progressLine } from '../progress.js';
import { openRuntime, type RuntimeFlags } from '../runtime-options.js';

interface OutboxFlags extends RuntimeFlags {
  from?: string;
  to?: string;
  deadline?: string;
  dead?: boolean;
  delivered?: boolean;
  olderThan?: string;
}

const withOutboxFlags = (command: Command): Command =>
  command
    .option(
      '--outbox <file|url>',
      'outbox SQLite file, or postgres://user@host/db?schema=name (env KOSMO_VERO_OUTBOX; default: a file under your data directory)',
    )
    .option('--config <file>', 'JSON config file with accounts')
    .option('--json', 'print one JSON object on stdout');

/**
 * Outbox reports in the CLI's one JSON key style (the outbox library reports camelCase), with `ok` first as in every
 * --json report: true exactly when the command exits 0.
 */
const printReport = (cli: Cli, value: Record<string, unknown>, ok = true): void =>
  cli.json(snakeCaseKeys({ ok, ...value }));

const milliseconds = (value: string | undefined, flag: string): number | undefined => {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0)
    throw new UsageError(`${flag}: expected milliseconds >= 0, got "${value}"`);
  return ms;
};

async function withRuntime(
  cli: Cli,
  flags: OutboxFlags,
  work: (runtime: Runtime) => Promise<void>,
): Promise<void> {
  const { runtime, close } = await openRuntime(cli, flags);
  try {
    await work(runtime);
  } finally {
    await close();
  }
}

/** Where a destination's writes go, e.g. `vero/default at https://… with a credential ending …a1b2`. */
function destinationLabel(d: DestinationStatus): string {
  if (d.id === 0) return `${d.integration}/${d.account} (queued before destinations were recorded)`;
  const credential =
    d.credentialHint === '…' ? 'a short credential' : `a credential ending ${d.credentialHint}`;
  return `${d.integration}/${d.account} at ${d.endpoint} with ${credential}`;
}

/** What an operator can do about writes this process cannot deliver. */
function waitingHint(runtime: Runtime, d: DestinationStatus): string | null {
  if (d.deliverableAs !== null) return null;
  const move = `kosmo-vero outbox move --from ${d.id} --to <account>`;
  if (d.id === 0) return `they are never sent until assigned: ${move}`;
  const variable = runtime.credentialVariable(d.integration, d.account) ?? 'its credential';
  return `set ${variable} to that credential (and its base URL to ${d.endpoint}) to deliver them, or move them: ${move}`;
}

function destinationLine(runtime: Runtime, d: DestinationStatus): string {
  const counts = [
    d.pending > 0 ? `${d.pending} pending` : '',
    d.sending > 0 ? `${d.sending} sending` : '',
    d.dead > 0 ? `${d.dead} dead` : '',
  ].filter(Boolean);
  const hint = waitingHint(runtime, d);
  const where = hint ? `; ${hint}` : `; delivered here with account "${d.deliverableAs}"`;
  const paused =
    d.pausedUntil === null
      ? ''
      : `; paused until ${new Date(d.pausedUntil).toISOString()} (${d.pauseReason}); it resumes by itself, or fix the credential and move the writes`;
  return terminalSafe(
    `#${d.id} ${plural(d.pending + d.sending + d.dead, 'write')} (${counts.join(', ')}) for ${destinationLabel(d)}${where}${paused}`,
  );
}

/** A dead write and the later writes of its users it holds back. */
function heldLine(h: HeldJob): string {
  const behind =
    h.waiting > 0
      ? `; ${plural(h.waiting, 'later write')} of ${h.keys.join(', ')} ${h.waiting === 1 ? 'waits' : 'wait'} behind it`
      : '';
  const error = (h.error ?? 'no error recorded').replace(/\.$/, '');
  return terminalSafe(
    `held: #${h.id} ${h.fn} (${h.account}) is dead: ${error}${behind}. Send it again with \`kosmo-vero outbox retry ${h.id}\`, or give up on it with \`kosmo-vero outbox discard ${h.id}\``,
  );
}

/** `<id>` or `--dead`, for retry and discard. */
function deadTarget(id: string | undefined, dead: boolean | undefined): number | 'dead' {
  if ((id === undefined) === !dead) throw new UsageError('give an outbox id or --dead (not both)');
  const target = dead ? 'dead' : Number(id);
  if (target !== 'dead' && !Number.isInteger(target)) throw new UsageError(`not an outbox id: "${id}"`);
  return target;
}

/** Delivers what is pending, with a progress line on a terminal; exits 1 when anything is left or dead. */
export async function drainWithProgress(cli: Cli, runtime: Runtime, deadlineMs: number | undefined) {
  const progress = progressLine(cli.io.stderr);
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

export function registerOutbox(program: Command, cli: Cli): void {
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
  kosmo-vero outbox discard 42                    # give up on a dead write; the ones it held back go
  kosmo-vero outbox move --from 2 --to default    # after rotating the default account's token
  kosmo-vero outbox purge --older-than 86400000`,
    );

  withOutboxFlags(
    outbox
      .command('status')
      .description('counts by state and by destination, oldest pending age, last errors')
      .addHelpText(
        'after',
        `
Examples:
  kosmo-vero outbox status
  kosmo-vero outbox status --json | jq .counts
  kosmo-vero outbox status --outbox ./project-outbox.db`,
      ),
  ).action((flags: OutboxFlags) =>
    withRuntime(cli, flags, async (runtime) => {
      const status = await runtime.outbox().status();
      const destinations = status.destinations.map((d) => ({ ...d, hint: waitingHint(runtime, d) }));
      if (flags.json) return printReport(cli, { ...status, destinations });
      const { counts, oldestPendingAgeMs, lastErrors } = status;
      cli.out(
        `pending ${counts.pending}, sending ${counts.sending}, delivered ${counts.delivered}, dead ${counts.dead}\n`,
      );
      if (oldestPendingAgeMs !== null) {
        cli.out(`oldest pending: ${Math.round(oldestPendingAgeMs / 1000)} s ago\n`);
      }
      for (const d of status.destinations) cli.out(`${destinationLine(runtime, d)}\n`);
      for (const h of status.held) cli.out(`${heldLine(h)}\n`);
      for (const e of lastErrors) {
        cli.out(
          `${terminalSafe(`#${e.id} ${e.fn} (${e.account}) ${e.state} after ${plural(e.attempts, 'attempt')}: ${e.error}`)}\n`,
        );
      }
    }),
  );

  withOutboxFlags(
    outbox
      .command('drain')
      .description('deliver pending writes now; exit when none is left or at the deadline')
      .option('--deadline <ms>', 'stop after this many milliseconds')
      .option('--request-timeout <ms>', 'give up on one HTTP request after this long (default 30000)')
      .addHelpText(
        'after',
        `
Only writes whose account (base URL and credential) is configured here are sent; the others wait, and exit is 1
when nothing could be delivered.

Examples:
  kosmo-vero outbox drain
  kosmo-vero outbox drain --deadline 60000 --json`,
      ),
  ).action((flags: OutboxFlags) =>
    withRuntime(cli, flags, async (runtime) => {
      const deadline = milliseconds(flags.deadline, '--deadline');
      // Writes for destinations this process holds no account for are never claimed: say so before draining.
      const before = (await runtime.outbox().status()).destinations;
      const waiting = before.filter((d) => d.deliverableAs === null && d.pending + d.sending > 0);
      const deliverable = before.some((d) => d.deliverableAs !== null && d.pending + d.sending > 0);
      const result = deliverable
        ? await drainWithProgress(cli, runtime, deadline)
        : { delivered: 0, dead: 0, pending: 0 };
      const left = waiting.map((d) => ({ ...d, hint: waitingHint(runtime, d) }));
      const nothingDeliverable = waiting.length > 0 && !deliverable;
      const ok = !nothingDeliverable && result.pending === 0 && result.dead === 0;
      const after = await runtime.outbox().status();
      const paused = after.destinations.filter((d) => d.pausedUntil !== null);
      if (flags.json) printReport(cli, { ...result, waiting: left, paused, held: after.held }, ok);
      else {
        for (const d of waiting) cli.err(`not delivered here: ${destinationLine(runtime, d)}\n`);
        for (const d of paused) cli.err(`paused: ${destinationLine(runtime, d)}\n`);
        for (const h of after.held) cli.err(`${heldLine(h)}\n`);
        cli.out(
          `delivered ${result.delivered}, dead ${result.dead}, still pending ${result.pending}` +
            (waiting.length > 0
              ? `, waiting for another account ${waiting.reduce((n, d) => n + d.pending + d.sending, 0)}`
              : '') +
            '\n',
        );
      }
      cli.exitCode = ok ? 0 : 1;
    }),
  );

  withOutboxFlags(
    outbox
      .command('retry')
      .description('send a dead write (or every dead one) again')
      .argument('[id]', 'outbox id')
      .option('--dead', 'every dead write')
      .addHelpText(
        'after',
        `
Examples:
  kosmo-vero outbox retry 42 && kosmo-vero outbox drain
  kosmo-vero outbox retry --dead`,
      ),
  ).action((id: string | undefined, flags: OutboxFlags) =>
    withRuntime(cli, flags, async (runtime) => {
      const changed = await runtime.outbox().retry(deadTarget(id, flags.dead));
      if (flags.json) printReport(cli, { retried: changed });
      else cli.out(`${plural(changed, 'write')} back to pending; run \`kosmo-vero outbox drain\` to send\n`);
    }),
  );

  withOutboxFlags(
    outbox
      .command('discard')
      .description('give up on a dead write (or every dead one): the later writes it holds back then go')
      .argument('[id]', 'outbox id')
      .option('--dead', 'every dead write')
      .addHelpText(
        'after',
        `
A dead write holds back the later writes of its users, so they never overtake it. Discarding it lets them go;
it stays in the outbox as "discarded".

Examples:
  kosmo-vero outbox status                  # "held: #42 ..." lines name the dead writes
  kosmo-vero outbox discard 42 && kosmo-vero outbox drain`,
      ),
  ).action((id: string | undefined, flags: OutboxFlags) =>
    withRuntime(cli, flags, async (runtime) => {
      const discarded = await runtime.outbox().discard(deadTarget(id, flags.dead));
      if (flags.json) printReport(cli, { discarded });
      else
        cli.out(
          `${plural(discarded, 'dead write')} discarded; the writes they held back go with the next \`kosmo-vero outbox drain\`\n`,
        );
    }),
  );

  withOutboxFlags(
    outbox
      .command('move')
      .description(
        'hand the pending and dead writes of one destination to a configured account (e.g. after a credential rotation)',
      )
      .requiredOption(
        '--from <destination>',
        'destination id, as `outbox status` numbers them (#0: unassigned)',
      )
      .requiredOption('--to <account>', 'configured account that will deliver them')
      .addHelpText(
        'after',
        `
Examples:
  kosmo-vero outbox status                         # the destinations, numbered
  kosmo-vero outbox move --from 2 --to default     # after rotating the default account's token
  kosmo-vero outbox move --from 0 --to marketing   # writes queued before destinations were recorded`,
      ),
  ).action((flags: OutboxFlags) =>
    withRuntime(cli, flags, async (runtime) => {
      const from = Number(flags.from?.replace(/^#/, ''));
      if (!Number.isInteger(from) || from < 0) {
        throw new UsageError(`--from: expected a destination id such as 2, got "${flags.from}"`);
      }
      const moved = await runtime.moveQueuedWrites(from, flags.to as string);
      if (flags.json) printReport(cli, { moved, from, to: flags.to });
      else
        cli.out(
          `${plural(moved, 'write')} moved to account "${flags.to}"; run \`kosmo-vero outbox drain\` to send\n`,
        );
    }),
  );

  withOutboxFlags(
    outbox
      .command('purge')
      .description('delete delivered writes from the outbox')
      // Delivered writes are all purge ever deletes; the flag that once had to say so is still accepted.
      .addOption(new Option('--delivered').hideHelp())
      .option('--older-than <ms>', 'only those delivered at least this long ago')
      .addHelpText(
        'after',
        `
Pending and dead writes are never purged.

Examples:
  kosmo-vero outbox purge
  kosmo-vero outbox purge --older-than 86400000   # keep the last day's`,
      ),
  ).action((flags: OutboxFlags) =>
    withRuntime(cli, flags, async (runtime) => {
      const purged = await runtime
        .outbox()
        .purge({ delivered: true, olderThanMs: milliseconds(flags.olderThan, '--older-than') });
      if (flags.json) printReport(cli, { purged });
      else cli.out(`purged ${plural(purged, 'delivered write')}\n`);
    }),
  );
}
